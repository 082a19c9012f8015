"""The conformance suite every verifier backend runs (DNNV's ``VerifierTests`` idea).

It builds tiny ONNX models by hand (``onnx.helper``) with properties whose verdicts are known,
decides each once through the runner (so every ``sat`` is re-checked in onnxruntime) and
checks what must hold for *any* backend, keyed on the capabilities the backend declares:

* a property with a known counterexample is never answered ``unsat``;
* a property that holds is never answered ``sat``;
* every ``sat`` carries a counterexample that passes the VNN-COMP check in onnxruntime;
* only the five verdicts come back, with a non-negative time, and no ``error``;
* a backend that declares ``complete = True`` decides every tiny problem;
* a backend that cannot prove ``unsat`` (a falsifier: ``finds_sat`` without ``complete``)
  never answers ``unsat``; one that cannot find ``sat`` (a bounding method) never answers
  ``sat``; each decides the easiest problem of the kind it claims to decide;
* declared parameters are documented and their defaults parse to themselves.

With pytest, subclass :class:`VerifierConformance` in a ``test_*.py`` file::

    from autospec_cli.testing.verifiers import VerifierConformance

    class TestMyBackend(VerifierConformance):
        backend = "mybackend"          # a registered name, or the Verifier class itself
        options = {"some_option": 1}

Without pytest, :func:`check_verifier` runs every check and raises ``AssertionError`` naming
each one that failed. Skip a whole backend by setting ``skip_reason`` (e.g. a missing tool).
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from autospec_cli.verify.base import Result, Verifier
from autospec_cli.verify.cex import check_counterexample
from autospec_cli.verify.registry import get_backend_class, make_backend
from autospec_cli.verify.runner import run_instances
from autospec_cli.vnnlib.benchmark import Instance

# ----------------------------------------------------------------------------- tiny models


def save_model(path: Path, layers: Sequence[tuple[np.ndarray, np.ndarray, bool]]) -> Path:
    """Write an MLP ``x -> [Gemm (+Relu)]*`` with a symbolic batch axis to ``path``.

    Each layer is ``(W (out, in), b (out,), relu_after)``.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    prev = "x"
    for i, (W, b, relu) in enumerate(layers):
        W = np.asarray(W, dtype=np.float32)
        b = np.asarray(b, dtype=np.float32).reshape(-1)
        inits += [numpy_helper.from_array(W, f"W{i}"), numpy_helper.from_array(b, f"b{i}")]
        out = f"g{i}"
        nodes.append(helper.make_node("Gemm", [prev, f"W{i}", f"b{i}"], [out], transB=1))
        if relu:
            nodes.append(helper.make_node("Relu", [out], [f"r{i}"]))
            out = f"r{i}"
        prev = out
    nodes.append(helper.make_node("Identity", [prev], ["y"]))
    n_in = np.asarray(layers[0][0]).shape[1]
    n_out = np.asarray(layers[-1][0]).shape[0]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", n_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", n_out])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def vnnlib_text(
    n_in: int,
    n_out: int,
    boxes: Sequence[tuple[Sequence[float], Sequence[float]]],
    disjuncts: Sequence[Sequence[str]],
) -> str:
    """A VNN-LIB 1.0 property: the input boxes (one case each) and the unsafe output region.

    ``disjuncts`` are lists of comparisons such as ``"(>= Y_1 Y_0)"``; every disjunct is
    wrapped in ``(and ...)``. Several boxes are written as one ``(or (and box... out...) ...)``.
    """
    lines = [f"(declare-const X_{i} Real)" for i in range(n_in)]
    lines += [f"(declare-const Y_{j} Real)" for j in range(n_out)]
    if len(boxes) == 1:
        lo, hi = boxes[0]
        for i in range(n_in):
            lines.append(f"(assert (>= X_{i} {float(lo[i])!r}))")
            lines.append(f"(assert (<= X_{i} {float(hi[i])!r}))")
        ors = " ".join(f"(and {' '.join(d)})" for d in disjuncts)
        lines.append(f"(assert (or {ors}))")
    else:
        cases = []
        for lo, hi in boxes:
            box = " ".join(
                f"(>= X_{i} {float(lo[i])!r}) (<= X_{i} {float(hi[i])!r})" for i in range(n_in)
            )
            for d in disjuncts:
                cases.append(f"(and {box} {' '.join(d)})")
        lines.append("(assert (or\n  " + "\n  ".join(cases) + "\n))")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Problem:
    name: str
    onnx: Path
    vnnlib: Path
    expected: str  # "sat" or "unsat"
    easy: bool = False  # decided by any backend that declares the matching capability


def build_problems(folder: Path) -> list[Problem]:
    """Tiny problems with known verdicts (each decided by hand; see comments)."""
    folder.mkdir(parents=True, exist_ok=True)
    box = ([-1.0, -1.0], [1.0, 1.0])
    cls1 = [["(>= Y_1 Y_0)"]]
    out: list[Problem] = []

    def add(
        name: str, layers: Any, boxes: Any, disj: Any, expected: str, easy: bool = False
    ) -> None:
        onnx_path = save_model(folder / f"{name}.onnx", layers)
        n_in = np.asarray(layers[0][0]).shape[1]
        n_out = np.asarray(layers[-1][0]).shape[0]
        vnn = folder / f"{name}.vnnlib"
        vnn.write_text(vnnlib_text(n_in, n_out, boxes, disj))
        out.append(Problem(name, onnx_path, vnn, expected, easy))

    eye = np.eye(2)
    # y = (x0 + 3, x1): y1 - y0 = x1 - x0 - 3 <= -1 on the box -> holds.
    add("lin_unsat", [(eye, [3.0, 0.0], False)], [box], cls1, "unsat", easy=True)
    # y = (x0 + 1, x1): y1 >= y0 iff x1 - x0 >= 1, e.g. x = (-1, 1) -> violated.
    add("lin_sat", [(eye, [1.0, 0.0], False)], [box], cls1, "sat", easy=True)
    # y = |x0| = relu(x0) + relu(-x0) in [0, 1]: unsafe y >= 1.5 or y <= -0.5 -> holds.
    absnet = [
        (np.array([[1.0, 0.0], [-1.0, 0.0]]), [0.0, 0.0], True),
        (np.array([[1.0, 1.0]]), [0.0], False),
    ]
    add("abs_unsat", absnet, [box], [["(>= Y_0 1.5)"], ["(<= Y_0 -0.5)"]], "unsat")
    # same net, unsafe y >= 0.9: |x0| >= 0.9 near the box edge -> violated.
    add("abs_sat", absnet, [box], [["(>= Y_0 0.9)"]], "sat")
    # two input boxes; y = |x0| >= 0.6 is impossible in the first box ([-0.5, 0.5]) and
    # possible in the second ([0.5, 1] on x0) -> violated, only in case 1.
    boxes = [([-0.5, -1.0], [0.5, 1.0]), ([0.5, -1.0], [1.0, 1.0])]
    add("two_boxes_sat", absnet, boxes, [["(>= Y_0 0.6)"]], "sat")
    return out


def write_benchmark_folder(
    folder: Path, problems: Sequence[Problem], timeout: float = 10.0
) -> Path:
    """A VNN-COMP benchmark folder (onnx/, vnnlib/, instances.csv) made from ``problems``."""
    (folder / "onnx").mkdir(parents=True, exist_ok=True)
    (folder / "vnnlib").mkdir(parents=True, exist_ok=True)
    rows = []
    for p in problems:
        shutil.copy(p.onnx, folder / "onnx" / p.onnx.name)
        shutil.copy(p.vnnlib, folder / "vnnlib" / p.vnnlib.name)
        rows.append([f"onnx/{p.onnx.name}", f"vnnlib/{p.vnnlib.name}", f"{timeout:g}"])
    with open(folder / "instances.csv", "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return folder


# ----------------------------------------------------------------------------- capabilities

VERDICTS = frozenset({"sat", "unsat", "unknown", "timeout", "error"})


def backend_class(backend: str | type[Verifier]) -> type[Verifier]:
    """The backend class of a registered name (``external:NAME`` included) or the class itself."""
    return get_backend_class(backend) if isinstance(backend, str) else backend


def finds_sat(cls: type[Verifier]) -> bool:
    """Does the backend claim to find counterexamples? (``complete`` or ``finds_sat``)"""
    return bool(cls.complete or getattr(cls, "finds_sat", False))


def proves_unsat(cls: type[Verifier]) -> bool:
    """Does the backend claim to prove properties? Complete ones do; an incomplete backend
    either falsifies (declares ``finds_sat``) or bounds (proves, never finds)."""
    return bool(cls.complete or not getattr(cls, "finds_sat", False))


def decide(
    backend: str | type[Verifier],
    problems: Sequence[Problem],
    *,
    options: Mapping[str, Any] | None = None,
    timeout: float = 20.0,
) -> dict[str, Result]:
    """Each problem decided once through the runner (counterexamples re-checked there)."""
    opts = dict(options or {})
    verifier = make_backend(backend, **opts) if isinstance(backend, str) else backend(**opts)
    instances = [Instance(p.onnx, p.vnnlib, timeout, "conformance") for p in problems]
    results = run_instances(verifier, instances)
    return {p.name: r for p, r in zip(problems, results, strict=True)}


# ----------------------------------------------------------------------------- the checks
# Each takes the backend class, the problems and their answers, and raises AssertionError.

Answers = Mapping[str, "Result"]


def check_known_verdicts_and_times(
    cls: type[Verifier], problems: Sequence[Problem], answers: Answers
) -> None:
    for name, r in answers.items():
        assert r.verdict.value in VERDICTS, f"{name}: verdict {r.verdict!r}"
        assert r.time >= 0, f"{name}: negative time {r.time}"


def check_no_errors(cls: type[Verifier], problems: Sequence[Problem], answers: Answers) -> None:
    errors = {n: r.message for n, r in answers.items() if r.verdict.value == "error"}
    assert not errors, f"errors on tiny problems: {errors}"


def check_counterexample_never_unsat(
    cls: type[Verifier], problems: Sequence[Problem], answers: Answers
) -> None:
    wrong = [
        p.name for p in problems if p.expected == "sat" and answers[p.name].verdict.value == "unsat"
    ]
    assert not wrong, f"unsound: unsat on properties with a counterexample: {wrong}"


def check_holding_property_never_sat(
    cls: type[Verifier], problems: Sequence[Problem], answers: Answers
) -> None:
    wrong = [
        p.name for p in problems if p.expected == "unsat" and answers[p.name].verdict.value == "sat"
    ]
    assert not wrong, f"sat on properties that hold: {wrong}"


def check_sat_carries_valid_counterexample(
    cls: type[Verifier], problems: Sequence[Problem], answers: Answers
) -> None:
    for p in problems:
        r = answers[p.name]
        if r.verdict.value != "sat":
            continue
        assert r.counterexample is not None, f"{p.name}: sat without a counterexample"
        check = check_counterexample(p.onnx, p.vnnlib, r.counterexample.x, r.counterexample.y)
        assert check.ok, f"{p.name}: invalid counterexample: {check.reason}"


def check_complete_decides_everything(
    cls: type[Verifier], problems: Sequence[Problem], answers: Answers
) -> None:
    if not cls.complete:
        return
    undecided = {
        p.name: answers[p.name].verdict.value
        for p in problems
        if answers[p.name].verdict.value != p.expected
    }
    assert not undecided, f"complete backend {cls.name} left problems undecided: {undecided}"


def check_claims_within_capabilities(
    cls: type[Verifier], problems: Sequence[Problem], answers: Answers
) -> None:
    for verdict, able in (("unsat", proves_unsat(cls)), ("sat", finds_sat(cls))):
        if able:
            continue
        claimed = [n for n, r in answers.items() if r.verdict.value == verdict]
        assert not claimed, (
            f"{cls.name} does not declare that it can answer {verdict} but did on {claimed}"
        )


def check_declared_capabilities_work(
    cls: type[Verifier], problems: Sequence[Problem], answers: Answers
) -> None:
    for expected, able in (("unsat", proves_unsat(cls)), ("sat", finds_sat(cls))):
        if not able:
            continue
        missed = {
            p.name: answers[p.name].verdict.value
            for p in problems
            if p.easy and p.expected == expected and answers[p.name].verdict.value != expected
        }
        assert not missed, f"{cls.name} claims to answer {expected} but missed {missed}"


def check_parameters_documented(
    cls: type[Verifier], problems: Sequence[Problem] = (), answers: Answers | None = None
) -> None:
    for key, p in cls.parameters.items():
        assert p.help.strip(), f"parameter {key} has no help text"
        assert p.parse(key, p.default) == p.default, f"parameter {key}: default does not parse"


CHECKS: tuple[Callable[[Any, Sequence[Problem], Answers], None], ...] = (
    check_known_verdicts_and_times,
    check_no_errors,
    check_counterexample_never_unsat,
    check_holding_property_never_sat,
    check_sat_carries_valid_counterexample,
    check_complete_decides_everything,
    check_claims_within_capabilities,
    check_declared_capabilities_work,
    check_parameters_documented,
)


def check_verifier(
    backend: str | type[Verifier],
    folder: str | Path | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    timeout: float = 20.0,
) -> dict[str, Result]:
    """Run every check on ``backend``; raise ``AssertionError`` listing the failed ones.

    The tiny problems are written to ``folder`` (a temporary folder, removed afterwards, when
    None). Returns the answers, by problem name.
    """
    cls = backend_class(backend)
    tmp = None if folder is not None else Path(tempfile.mkdtemp(prefix="autospec-conformance-"))
    where = Path(folder) if folder is not None else tmp
    assert where is not None
    try:
        problems = build_problems(where)
        answers = decide(backend, problems, options=options, timeout=timeout)
        failures = []
        for check in CHECKS:
            try:
                check(cls, problems, answers)
            except AssertionError as e:
                failures.append(f"{check.__name__}: {e}")
        if failures:
            raise AssertionError(f"backend {cls.name}:\n  " + "\n  ".join(failures))
        return answers
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------- pytest mixin


class VerifierConformance:
    """Mixin: set ``backend`` (and ``options``); pytest collects the subclass.

    The problems are built and decided once per class (in a temporary folder removed by
    ``teardown_class``); each check is one test.
    """

    backend: ClassVar[Any] = ""
    options: ClassVar[dict[str, Any]] = {}
    timeout: ClassVar[float] = 20.0
    skip_reason: ClassVar[str] = ""

    _conformance: ClassVar[tuple[Path, list[Problem], dict[str, Any]] | None] = None

    @classmethod
    def teardown_class(cls) -> None:
        state = cls.__dict__.get("_conformance")
        if state is not None:
            shutil.rmtree(state[0], ignore_errors=True)
            cls._conformance = None

    def _backend_class(self) -> type[Verifier]:
        return backend_class(self.backend)

    def _run(self) -> tuple[list[Problem], dict[str, Any]]:
        cls = type(self)
        if cls.skip_reason:
            import pytest

            pytest.skip(cls.skip_reason)
        state = cls.__dict__.get("_conformance")
        if state is None:
            folder = Path(tempfile.mkdtemp(prefix="autospec-conformance-"))
            problems = build_problems(folder)
            answers = decide(cls.backend, problems, options=cls.options, timeout=cls.timeout)
            state = (folder, problems, answers)
            cls._conformance = state
        return state[1], state[2]

    def _check(self, check: Callable[[Any, Sequence[Problem], Answers], None]) -> None:
        problems, answers = self._run()
        check(self._backend_class(), problems, answers)

    def test_only_known_verdicts_and_times(self) -> None:
        self._check(check_known_verdicts_and_times)

    def test_no_errors_on_tiny_problems(self) -> None:
        self._check(check_no_errors)

    def test_known_counterexample_never_unsat(self) -> None:
        self._check(check_counterexample_never_unsat)

    def test_holding_property_never_sat(self) -> None:
        self._check(check_holding_property_never_sat)

    def test_sat_answers_carry_valid_counterexamples(self) -> None:
        self._check(check_sat_carries_valid_counterexample)

    def test_complete_backend_decides_tiny_problems(self) -> None:
        self._check(check_complete_decides_everything)

    def test_claims_within_declared_capabilities(self) -> None:
        self._check(check_claims_within_capabilities)

    def test_declared_capabilities_decide_easy_problems(self) -> None:
        self._check(check_declared_capabilities_work)

    def test_declared_parameters_are_typed_and_documented(self) -> None:
        if type(self).skip_reason:
            import pytest

            pytest.skip(type(self).skip_reason)
        check_parameters_documented(self._backend_class())
