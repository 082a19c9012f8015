"""`autospec-solver`: the VNN-LIB 2.0 standard solver command line over our backends.

    autospec-solver --name | --version
    autospec-solver verify QUERY.vnnlib --network NAME=MODEL.onnx [--timeout S]
                    [--backend NAME] [--opt key=value ...]
    autospec-solver supports --onnx-operators        (or any other capability flag)

``verify`` prints one line on stdout -- ``sat``, ``unsat``, ``unknown`` or ``timed-out`` --
and, after ``sat``, the assignment in the standard's command-line format (each declared
variable as ``<name> <type> [dims]`` then its values, one per line, row-major). Everything
else (progress, warnings, errors) goes to stderr; while a backend runs, stdout is redirected
to stderr so no library output can corrupt the answer. Every ``sat`` is validated in
onnxruntime before it is printed. Errors print one line on stderr: exit 2 for bad usage or
input (including the standard's mandatory errors: networks missing or superfluous, element
types that do not match the model or are not supported), exit 1 when verification itself
failed. VNN-LIB 1.0 files are accepted too (then ``--network`` takes any name).

The default backend is ``portfolio``: ``attack`` first, then ``bab``, then ``lirpa`` (those
installed). ``--backend`` picks any registered backend.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from autospec_cli import __version__, procs
from autospec_cli.errors import AutospecError, InputError, VnnlibError
from autospec_cli.params import check_seconds

if TYPE_CHECKING:
    from autospec_cli.verify.solver_interface import QueryDecls
    from autospec_cli.vnnlib.product import Prepared

SOLVER_NAME = "autospec (autospec_cli verification portfolio)"
NO_LIMIT = 86400.0  # seconds, when --timeout is not given

app = typer.Typer(
    name="autospec-solver",
    help="VNN-LIB 2.0 standard solver interface over autospec's verifier backends.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


def _print_lines(lines: list[str]) -> None:
    sys.stdout.write("".join(line + "\n" for line in lines))
    sys.stdout.flush()


def _eager(text: str):  # noqa: ANN202 - typer callback factory
    def callback(value: bool) -> None:
        if value:
            _print_lines([text])
            raise typer.Exit()

    return callback


@app.callback()
def root(
    name: bool | None = typer.Option(
        None,
        "--name",
        is_eager=True,
        callback=_eager(SOLVER_NAME),
        help="Print the solver's full name.",
    ),
    version: bool | None = typer.Option(
        None,
        "--version",
        is_eager=True,
        callback=_eager(__version__),
        help="Print the version.",
    ),
) -> None:
    """VNN-LIB 2.0 solver interface: `verify` a query, or ask what it `supports`."""


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send Python- and C-level stdout to stderr while backends run."""
    saved = None
    try:
        fd = sys.stdout.fileno()
        sys.stdout.flush()
        saved = os.dup(fd)
        os.dup2(sys.stderr.fileno(), fd)
    except (OSError, ValueError, AttributeError):  # not a real file (tests)
        fd = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None and fd is not None:
            sys.stdout.flush()
            os.dup2(saved, fd)
            os.close(saved)


def _networks(pairs: list[str]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise InputError(f"--network {pair!r}: expected NAME=MODEL.onnx")
        if name in out:
            raise InputError(f"--network {name} given twice")
        out[name] = Path(path)
    return out


def _check_query(query: Path, nets: dict[str, Path]) -> tuple[QueryDecls, dict[str, Path]]:
    """Apply the standard's mandatory checks; return (declarations, model of each network
    that needs a file: every declared network but ``equal-to`` copies)."""
    from autospec_cli.verify.solver_interface import (
        ELEMENT_TYPES,
        OUTPUT_ONLY_TYPES,
        onnx_input_types,
        query_declarations,
    )

    decls = query_declarations(query)
    if decls.version == "1.0":
        if len(nets) != 1:
            raise InputError("a VNN-LIB 1.0 query needs exactly one --network NAME=MODEL.onnx")
        model = next(iter(nets.values()))
        if not model.is_file():
            raise InputError(f"{model}: ONNX model not found")
        return decls, {"": model}
    declared = [n for n in decls.networks if not n.equal_to]
    missing = [n.name for n in declared if n.name not in nets]
    extra = [k for k in nets if k not in {n.name for n in declared}]
    if missing or extra:
        raise InputError(
            f"--network mismatch: missing {missing or 'none'}, not declared {extra or 'none'}"
        )
    for name in nets:
        if not nets[name].is_file():
            raise InputError(f"{nets[name]}: ONNX model not found")
    for net in decls.networks:
        for v in net.inputs + net.outputs + net.hidden:
            allowed = ELEMENT_TYPES if v in net.inputs else ELEMENT_TYPES + OUTPUT_ONLY_TYPES
            if v.dtype not in allowed:
                raise VnnlibError(
                    f"{v.name} has element type {v.dtype}; supported: {', '.join(ELEMENT_TYPES)}"
                )
        model = nets[net.equal_to or net.name]
        actual = onnx_input_types(model)
        for v, t in zip(net.inputs, actual, strict=False):
            if v.dtype != "real" and v.dtype != t:
                raise VnnlibError(
                    f"{v.name} is declared {v.dtype} but the model input is {t}"
                )
    return decls, {n.name: nets[n.name] for n in declared}


def _check_parses(query: Path, model: Path) -> None:
    """A malformed query or model is an error (stderr, exit 2), never a verdict: the standard
    asks every error to be printed on stderr, and ``unknown`` on stdout would claim that the
    solver ran on a query it could not read."""
    from autospec_cli.verify.loading import load_property, onnx_runner

    runner = onnx_runner(model)
    load_property(query, n_inputs=runner.n_inputs, n_outputs=runner.n_outputs)


def _product(query: Path, version: str, models: dict[str, Path]) -> Prepared | None:
    """The augmented-network form of a 2.0 query the compat reading cannot take exactly."""
    from autospec_cli.vnnlib.product import prepare
    from autospec_cli.vnnlib.reader import read_text
    from autospec_cli.vnnlib.reader_v2 import has_unbounded_input, is_simple, parse_query

    if version != "2.0":
        return None
    text = read_text(query)
    if is_simple(parse_query(text)) and not has_unbounded_input(text):
        return None
    return prepare(text, models)


@app.command("verify")
def verify(
    query: Path = typer.Argument(..., help="VNN-LIB query (2.0, or 1.0)."),
    network: list[str] | None = typer.Option(
        None,
        "--network",
        help="NAME=MODEL.onnx for each declared network.",
    ),
    timeout: float | None = typer.Option(
        None,
        "--timeout",
        help="Seconds for the query (default: no limit).",
    ),
    backend: str = typer.Option("portfolio", "--backend", help="Verifier backend (non-standard)."),
    opt: list[str] | None = typer.Option(
        None,
        "--opt",
        help="Backend option key=value (non-standard, repeatable).",
    ),
    serialise: Path | None = typer.Option(
        None,
        "--serialise-assignments",
        help="Not supported (see `supports --serialise-assignments`).",
    ),
    proofs: Path | None = typer.Option(
        None,
        "--unsat-proofs",
        help="Not supported (see `supports --unsat-proofs`).",
    ),
) -> None:
    """Decide a query: print sat / unsat / unknown / timed-out (and the assignment)."""
    from autospec_cli.verify.base import Instance
    from autospec_cli.verify.registry import get_backend_class, parse_option_pairs, resolve_backend
    from autospec_cli.verify.runner import run_instances
    from autospec_cli.verify.solver_interface import format_assignment, format_product_assignment
    from autospec_cli.vnnlib.product import replay

    if serialise is not None or proofs is not None:
        raise InputError(
            "--serialise-assignments and --unsat-proofs are not supported by this solver"
        )
    limit = check_seconds("--timeout", timeout) if timeout is not None else NO_LIMIT
    if not query.is_file():
        raise InputError(f"{query}: query file not found")
    decls, models = _check_query(query, _networks(network or []))
    prep = _product(query, decls.version, models)
    if prep is None:
        model, prop = next(iter(models.values())), query
        _check_parses(prop, model)
    else:
        model, prop = prep.onnx, prep.vnnlib
    cls = get_backend_class(backend)
    spec = resolve_backend(backend, parse_option_pairs(cls, opt or []))
    with _stdout_to_stderr():
        verifier = get_backend_class(spec.entry)(**spec.options)
        result = run_instances(verifier, [Instance(model, prop, limit, "")])[0]
    verdict = result.verdict.value
    if verdict == "error":
        sys.stderr.write(f"error: verification failed: {result.message}\n")
        raise SystemExit(1)
    if verdict == "unsat" and prep is not None and prep.reduction.prop.meta.get(
            "restricted_inputs"):
        from autospec_cli.verify.runner import restricted_note

        sys.stderr.write(f"note: {restricted_note(prep)}; answering unknown\n")
        verdict = "unknown"
    word = {"timeout": "timed-out"}.get(verdict, verdict)
    lines = [word]
    if verdict == "sat" and result.counterexample is not None:
        x = result.counterexample.x
        if prep is None:
            lines.append(format_assignment(decls, x, result.counterexample.y))
        else:
            ok, x, z = replay(prep, x)
            if not ok:  # e.g. a strict comparison met with equality: no claim
                sys.stderr.write("warning: the witness does not satisfy the query on the "
                                 "original networks; answering unknown\n")
                lines = ["unknown"]
            else:
                lines.append(format_product_assignment(prep.reduction, x, z))
    _print_lines(lines)


CAPABILITY_HELP = {
    "onnx-opset-versions": "Minimum and maximum ONNX opset.",
    "onnx-element-types": "Supported element types.",
    "onnx-operators": "Supported ONNX operators.",
    "onnx-operators-unsat-proofs": "Operators supported with UNSAT proofs (none).",
    "vnnlib-versions": "Minimum and maximum VNN-LIB version.",
    "hidden-node-theories": "Hidden-node theories.",
    "multiple-input-output-theories": "Multiple input/output theories.",
    "multiple-network-theories": "Multiple-network theories.",
    "multiple-node-comparison-theories": "Multi-node comparison theories.",
    "arithmetic-complexity-theories": "Arithmetic complexity theories.",
    "optimised-disjunctive-reasoning": "Whether disjunctions get more than DNF treatment.",
    "serialise-assignments": "Whether --serialise-assignments is supported.",
    "unsat-proofs": "Whether UNSAT proofs are produced.",
}


@app.command("supports", context_settings={"ignore_unknown_options": True})
def supports(
    capability: list[str] = typer.Argument(
        ..., metavar="--CAPABILITY", help="One of: " + ", ".join(f"--{k}" for k in CAPABILITY_HELP)
    ),
) -> None:
    """Report a capability (e.g. `supports --onnx-operators`), one item per line."""
    from autospec_cli.verify.solver_interface import capabilities

    if len(capability) != 1 or not capability[0].startswith("--"):
        raise InputError("give exactly one capability flag, e.g. supports --onnx-operators")
    try:
        lines = capabilities(capability[0][2:])
    except KeyError:
        raise InputError(
            f"unknown capability {capability[0]}; known: "
            + ", ".join(f"--{k}" for k in CAPABILITY_HELP)
        ) from None
    _print_lines(lines)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: typed errors, option errors and OS errors become one line on
    stderr and exit 2; SIGINT / SIGTERM exit 130 / 143 after stopping external tools."""
    previous = procs.on_termination()
    try:
        _run(argv)
    finally:
        procs.restore_handlers(previous)


def _run(argv: list[str] | None) -> None:
    try:
        code = app(args=argv, standalone_mode=False)
    except AutospecError as e:
        sys.stderr.write(f"error: {_one_line(str(e))}\n")
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        code = 130
    except OSError as e:
        where = f"{e.filename}: " if e.filename is not None else ""
        sys.stderr.write(f"error: {where}{e.strerror or e}\n")
        sys.exit(2)
    except Exception as e:  # usage errors (click exceptions) and unexpected bugs
        exit_code = getattr(e, "exit_code", None)
        format_message = getattr(e, "format_message", None)
        if callable(format_message) and isinstance(exit_code, int):
            if type(e).__name__ == "NoArgsIsHelpError":  # no command: the help
                show = getattr(e, "show", None)
                if callable(show):
                    show()
            else:
                sys.stderr.write(f"error: {_one_line(format_message())}\n")
            sys.exit(2 if exit_code else 0)
        sys.stderr.write(f"internal error: {type(e).__name__}: {_one_line(str(e))}\n")
        sys.exit(4)
    if code == 130:
        procs.cleanup()
        sys.stderr.write("interrupted\n")
        sys.exit(128 + (procs.received_signal() or 2))
    sys.exit(code if isinstance(code, int) else 0)


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    main()
