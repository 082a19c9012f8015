"""``external`` and ``marabou``: any VNN-COMP tool run as a child process.

``external`` follows the VNN-COMP tool-script convention. It is configured by an argv
template (a list, or one shell-like string split with :func:`shlex.split`; never run through a
shell) whose strings may contain ``{category}``, ``{onnx}``, ``{vnnlib}``, ``{results}`` and
``{timeout}``, e.g. ``["run_instance.sh", "v1", "{category}", "{onnx}", "{vnnlib}",
"{results}", "{timeout}"]``, and optionally a ``prepare`` template run first
(``prepare_instance.sh v1 {category} {onnx} {vnnlib}``; its time is ``prepare_time``).

* The tool runs in its own session (process group), with stdout/stderr sent to files in a
  fresh temporary folder (also its working directory unless ``cwd`` is set). At
  ``timeout + grace`` seconds the whole group gets SIGTERM, then SIGKILL two seconds later,
  and the answer is ``timeout``. Processes the tool left behind in its group are killed when
  it exits. While it runs, the group and the folder are registered with
  :mod:`autospec_cli.procs`, so an interrupted command (Ctrl-C, SIGTERM, a worker stopped by
  its coordinator) kills the group and removes the folder too.
* The answer is the first line of the results file: ``sat``, ``unsat``, ``unknown``,
  ``timeout`` or ``error``, or an alias :meth:`Verdict.parse` knows (the 2021 words
  ``holds`` = unsat and ``violated`` = sat, ``timed-out``); for ``sat`` the rest of the file is
  the counterexample ``((X_0 v) ... (Y_0 v) ...)``. When the template has no ``{results}``,
  the last line of stdout that is one of those words is the answer and the text after it the
  counterexample (tools such as Marabou print their verdict).
* A tool that crashes or writes nothing gives ``error`` with its exit code and last stderr
  line. A ``sat`` whose counterexample is missing or unreadable is passed on without one, so
  the runner turns it into ``error``.

``marabou`` is the same machinery around ``Marabou {onnx} {vnnlib} --timeout {timeout}``
(the executable that PyPI ``maraboupy`` installs, found on PATH or beside the Python
interpreter). Marabou prints ``sat``/``unsat``/``Timeout`` and, after ``sat``, the input and
output assignment with six decimals. We take its ``x``, replay it in onnxruntime and report
onnxruntime's ``y`` (Marabou's rounded outputs are kept in ``extra``). Rounding to six
decimals can move ``x`` off the violation; when the replay does not violate the property
exactly, the point is clipped into the box and refined by the ``attack`` backend's gradient
search started at Marabou's point (``refine`` option, on by default). The runner then checks
the result like any other.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from autospec_cli.errors import InputError, VerifierError
from autospec_cli.procs import scratch_dir, stop_group, track_group
from autospec_cli.verify.backends.attack import AttackVerifier
from autospec_cli.verify.base import Counterexample, Instance, Parameter, Result, Verdict, Verifier
from autospec_cli.verify.cex import check_counterexample, parse_vnncomp_counterexample

TERM_WAIT = 2.0  # seconds between SIGTERM and SIGKILL


def _verdict_word(line: str) -> Verdict | None:
    """The verdict a line names (see :meth:`Verdict.parse`), None when it names none."""
    try:
        return Verdict.parse(line)
    except InputError:
        return None


class Argv(list):
    """An argv template option: a list of strings, or one string split like a shell would."""

    def __init__(self, value: Any = ()) -> None:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                try:
                    value = json.loads(text)
                except ValueError:
                    raise ValueError(f"not a JSON list: {text}") from None
            else:
                value = shlex.split(text)
        items = list(value)
        if not all(isinstance(v, (str, int, float)) for v in items):
            raise ValueError("argv entries must be strings")
        super().__init__(str(v) for v in items)


def format_seconds(seconds: float) -> str:
    """``60.0`` -> ``"60"``, ``2.5`` -> ``"2.5"``."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def format_argv(template: list[str], values: dict[str, str]) -> list[str]:
    """Replace ``{name}`` placeholders in each string (other braces are left alone)."""
    out = []
    for arg in template:
        for key, val in values.items():
            arg = arg.replace("{" + key + "}", val)
        out.append(arg)
    return out


@dataclass
class ProcessOutcome:
    returncode: int | None
    timed_out: bool
    elapsed: float
    stdout: str
    stderr: str

    def last_line(self) -> str:
        """Last non-empty stderr line (else stdout), for error messages."""
        for text in (self.stderr, self.stdout):
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            if lines:
                return lines[-1][:200]
        return ""


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_process(
    argv: list[str], *, timeout: float | None, cwd: Path, logs: Path, kill_leftovers: bool = True
) -> ProcessOutcome:
    """Run ``argv`` in a new session; kill its process group at ``timeout`` (SIGTERM, SIGKILL)."""
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / "stdout.txt", logs / "stderr.txt"
    t0 = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as e:
            raise VerifierError(f"cannot start {argv[0]}: {e.strerror or e}") from None
        timed_out = False
        with track_group(proc.pid):
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                stop_group(proc.pid, TERM_WAIT)
                proc.wait()
            except BaseException:  # interrupted (Ctrl-C, SIGTERM): the tool goes with us
                stop_group(proc.pid)
                proc.wait()
                raise
            if kill_leftovers or timed_out:
                _killpg(proc.pid, signal.SIGKILL)
    elapsed = time.monotonic() - t0
    read = lambda p: p.read_text(encoding="utf-8", errors="replace")  # noqa: E731
    return ProcessOutcome(proc.returncode, timed_out, elapsed, read(out_path), read(err_path))


def parse_results_text(text: str) -> tuple[Verdict | None, str]:
    """First non-empty line -> verdict (None if not a known word); the rest is returned."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip():
            return _verdict_word(line), "\n".join(lines[i + 1 :])
    return None, ""


def verdict_from_stdout(text: str) -> tuple[Verdict | None, str]:
    """The last stdout line that is a verdict word, and the text after it."""
    lines = text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        v = _verdict_word(lines[i])
        if v is not None:
            return v, "\n".join(lines[i + 1 :])
    return None, ""


_ASSIGN = re.compile(
    r"^\s*([xy])(\d+)\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$", re.MULTILINE
)


def parse_assignment_listing(text: str) -> Counterexample | None:
    """Marabou-style ``x0 = v`` / ``y0 = v`` lines; None when there are no x lines."""
    vals: dict[str, dict[int, float]] = {"x": {}, "y": {}}
    for m in _ASSIGN.finditer(text):
        vals[m.group(1)][int(m.group(2))] = float(m.group(3))
    if not vals["x"] or sorted(vals["x"]) != list(range(len(vals["x"]))):
        return None
    y = vals["y"] if sorted(vals["y"]) == list(range(len(vals["y"]))) else {}
    return Counterexample(
        x=np.array([vals["x"][i] for i in range(len(vals["x"]))]),
        y=np.array([y[i] for i in range(len(y))], dtype=np.float64),
    )


def parse_counterexample_text(text: str) -> Counterexample | None:
    """VNN-COMP form, else a Marabou-style listing; None when neither is found."""
    if re.search(r"\(\s*(?:=\s*)?X_\d+", text):
        try:
            return parse_vnncomp_counterexample(text)
        except VerifierError:
            return None
    return parse_assignment_listing(text)


class ExternalVerifier(Verifier):
    """Any VNN-COMP tool through the run_instance.sh convention (argv template)."""

    name: ClassVar[str] = "external"
    complete: ClassVar[bool] = True
    parameters: ClassVar[dict[str, Parameter]] = {
        "command": Parameter(
            Argv,
            Argv(),
            "argv template with {category} {onnx} {vnnlib} "
            "{results} {timeout}; a JSON list or a shell-like string",
        ),
        "prepare": Parameter(
            Argv,
            Argv(),
            "optional argv template run before each instance "
            "(prepare_instance.sh v1 {category} {onnx} {vnnlib})",
        ),
        "tool": Parameter(str, "", "a name for the tool in messages"),
        "grace": Parameter(float, 5.0, "seconds after the time limit before the tool is killed",
                           min=0),
        "prepare_timeout": Parameter(float, 600.0, "time limit of the prepare step in seconds",
                                     min=0),
        "cwd": Parameter(str, "", "working directory of the tool (default: a fresh temporary one)"),
        "recover": Parameter(bool, True, "search for a counterexample when the tool says sat "
                             "without one that replays (else the runner reports error)"),
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if not self.command_template():
            raise VerifierError(
                f"{self.name}: no command; set the option command='run_instance.sh v1 "
                "{category} {onnx} {vnnlib} {results} {timeout}' or use external:NAME",
                param="options",
            )
        exe = self.command_template()[0]
        if not _which(exe):
            raise VerifierError(f"{self.label()}: executable {exe!r} not found; check the command")

    def command_template(self) -> list[str]:
        return list(self.options["command"])

    def label(self) -> str:
        return self.options.get("tool") or self.name

    def timeout_arg(self, timeout: float) -> str:
        return format_seconds(timeout)

    def verify_instance(self, instance: Instance) -> Result:
        with scratch_dir("autospec-ext-") as work:
            values = {
                "category": instance.category or "default",
                "onnx": str(Path(instance.onnx).resolve()),
                "vnnlib": str(Path(instance.vnnlib).resolve()),
                "results": str(work / "results.txt"),
                "timeout": self.timeout_arg(instance.timeout),
            }
            cwd = Path(self.options["cwd"]) if self.options["cwd"] else work
            prep_time = 0.0
            if self.options["prepare"]:
                prep = run_process(
                    format_argv(list(self.options["prepare"]), values),
                    timeout=self.options["prepare_timeout"],
                    cwd=cwd,
                    logs=work / "prepare",
                    kill_leftovers=False,
                )
                prep_time = prep.elapsed
                if prep.timed_out or prep.returncode != 0:
                    why = "timed out" if prep.timed_out else f"exit {prep.returncode}"
                    return Result(
                        Verdict.ERROR,
                        message=f"{self.label()}: prepare failed ({why}): {prep.last_line()}",
                        prepare_time=prep_time,
                    )
            outcome = run_process(
                format_argv(self.command_template(), values),
                timeout=instance.timeout + self.options["grace"],
                cwd=cwd,
                logs=work / "run",
            )
            result = self.interpret(outcome, work / "results.txt", instance)
        if result.verdict is Verdict.SAT and self.options.get("recover", False):
            result = self.recover_witness(result, instance, outcome.elapsed)
        result.prepare_time = prep_time
        result.time = outcome.elapsed
        return result

    def recover_witness(self, result: Result, instance: Instance, spent: float) -> Result:
        """A ``sat`` without a counterexample that replays in onnxruntime: search the
        property's input set for one (random and corner sampling and gradient search, then
        branch and bound over the input set, for the rest of the instance's time). Found:
        ``sat`` with it (``extra["witness_recovered"]``); not found: ``error`` marked
        ``extra["claimed_sat_no_witness"]``, never ``sat``."""
        cex = result.counterexample
        if cex is not None:
            try:
                if check_counterexample(instance.onnx, instance.vnnlib, cex.x, cex.y).ok:
                    return result
            except Exception:  # noqa: BLE001 - an unreadable model is reported by the runner
                return result
        from autospec_cli.verify.backends.bab.backend import BabVerifier

        budget = max(1.0, float(instance.timeout) - spent)
        start = time.monotonic()
        found = AttackVerifier(restarts=64, steps=200).verify_instance(
            Instance(instance.onnx, instance.vnnlib, budget, instance.category))
        left = budget - (time.monotonic() - start)
        if found.verdict is not Verdict.SAT and left > 0.5:
            # branch and bound keeps searching where the attack gave up (only its sat is used)
            found = BabVerifier().verify_instance(
                Instance(instance.onnx, instance.vnnlib, left, instance.category))
        extra = {**result.extra, "recovery_seconds": round(time.monotonic() - start, 3)}
        if found.verdict is Verdict.SAT and found.counterexample is not None:
            return Result(Verdict.SAT, counterexample=found.counterexample,
                          message=f"{self.label()} said sat without a witness that replays; "
                                  "counterexample recovered by search",
                          extra={**extra, "witness_recovered": True})
        return Result(Verdict.ERROR,
                      message=f"{self.label()} said sat, but no witness was given or found "
                              "(claimed sat, no witness)",
                      extra={**extra, "claimed_sat_no_witness": True})

    def interpret(self, outcome: ProcessOutcome, results_file: Path, instance: Instance) -> Result:
        """Turn the tool's exit, results file or stdout into a Result."""
        extra = {"exit_code": outcome.returncode}
        if outcome.timed_out:
            return Result(
                Verdict.TIMEOUT,
                message=f"{self.label()} killed after {outcome.elapsed:.1f} s",
                extra=extra,
            )
        uses_file = any("{results}" in a for a in self.command_template())
        if uses_file:
            if not results_file.is_file():
                return Result(
                    Verdict.ERROR,
                    message=f"{self.label()} wrote no results file (exit "
                    f"{outcome.returncode}): {outcome.last_line()}",
                    extra=extra,
                )
            verdict, rest = parse_results_text(
                results_file.read_text(encoding="utf-8", errors="replace")
            )
        else:
            verdict, rest = verdict_from_stdout(outcome.stdout)
        if verdict is None:
            return Result(
                Verdict.ERROR,
                message=f"{self.label()} gave no verdict (exit "
                f"{outcome.returncode}): {outcome.last_line()}",
                extra=extra,
            )
        if verdict is Verdict.ERROR:
            return Result(
                Verdict.ERROR,
                message=f"{self.label()} reported error: {outcome.last_line()}",
                extra=extra,
            )
        if verdict is not Verdict.SAT:
            return Result(verdict, extra=extra)
        cex = parse_counterexample_text(rest)
        msg = (
            ""
            if cex is not None
            else f"{self.label()} said sat but gave no readable counterexample"
        )
        return Result(Verdict.SAT, counterexample=cex, message=msg, extra=extra)


def _which(exe: str) -> str | None:
    if os.sep in exe or (os.altsep and os.altsep in exe):
        return exe if os.access(exe, os.X_OK) and Path(exe).is_file() else None
    return shutil.which(exe)


def find_marabou(explicit: str = "") -> str | None:
    """The Marabou executable: ``explicit``, else on PATH, else beside the Python interpreter."""
    if explicit:
        return _which(explicit)
    found = shutil.which("Marabou")
    if found:
        return found
    beside = Path(sys.executable).parent / "Marabou"
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


class MarabouVerifier(ExternalVerifier):
    """Marabou (PyPI maraboupy) on ONNX + VNN-LIB 1.0; counterexamples replayed and refined."""

    name: ClassVar[str] = "marabou"
    complete: ClassVar[bool] = True
    parameters: ClassVar[dict[str, Parameter]] = {
        "executable": Parameter(
            str,
            "",
            "path of the Marabou executable (default: found on PATH "
            "or beside the Python interpreter)",
        ),
        "num_workers": Parameter(int, 1, "Marabou --num-workers", min=1),
        "grace": Parameter(float, 5.0, "seconds after the time limit before Marabou is killed",
                           min=0),
        "refine": Parameter(bool, True, "refine a rounded counterexample with gradient search"),
        "cwd": Parameter(str, "", "working directory (default: a fresh temporary one)"),
    }

    def __init__(self, **options: Any) -> None:
        Verifier.__init__(self, **options)
        exe = find_marabou(self.options["executable"])
        if exe is None:
            raise VerifierError(f"marabou: {self.available()[1]}")
        self._exe = exe
        self.options.update(tool="Marabou", prepare=Argv(), prepare_timeout=0.0)

    @classmethod
    def available(cls) -> tuple[bool, str]:
        if find_marabou() is None:
            return False, (
                "Marabou executable not found; pip install maraboupy (it provides "
                "Marabou) or set the option executable=PATH"
            )
        return True, ""

    def command_template(self) -> list[str]:
        return [
            self._exe,
            "{onnx}",
            "{vnnlib}",
            "--timeout",
            "{timeout}",
            "--verbosity",
            "0",
            "--num-workers",
            str(self.options["num_workers"]),
        ]

    def timeout_arg(self, timeout: float) -> str:
        return str(max(1, math.floor(timeout)))

    def interpret(self, outcome: ProcessOutcome, results_file: Path, instance: Instance) -> Result:
        result = super().interpret(outcome, results_file, instance)
        if result.verdict is Verdict.SAT and result.counterexample is not None:
            result = self._replay(result, instance, outcome.elapsed)
        return result

    def _replay(self, result: Result, instance: Instance, spent: float) -> Result:
        """Report onnxruntime's outputs at Marabou's x; refine x when rounding broke it."""
        cex = result.counterexample
        assert cex is not None
        extra = {**result.extra, "marabou_x": cex.x.tolist(), "marabou_y": cex.y.tolist()}
        check = check_counterexample(instance.onnx, instance.vnnlib, cex.x)
        if check.exact or not self.options["refine"]:
            y = check.y_model if check.y_model is not None else cex.y
            return Result(
                Verdict.SAT,
                counterexample=Counterexample(cex.x, y),
                message=result.message,
                extra=extra,
            )
        budget = max(1.0, instance.timeout - spent)
        refined = AttackVerifier(samples=0, restarts=4, steps=100).refine(instance, cex.x, budget)
        if refined is not None:
            extra["refined"] = True
            return Result(
                Verdict.SAT,
                counterexample=refined,
                message="counterexample refined from Marabou's rounded assignment",
                extra=extra,
            )
        y = check.y_model if check.y_model is not None else cex.y
        return Result(
            Verdict.SAT,
            counterexample=Counterexample(cex.x, y),
            message=result.message,
            extra=extra,
        )
