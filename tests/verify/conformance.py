"""The conformance suite every verifier backend runs (DNNV's ``VerifierTests`` idea).

Use it by subclassing :class:`BackendConformance` in a ``test_*.py`` file::

    class TestMyBackend(BackendConformance):
        backend = "mybackend"
        options = {"some_option": 1}

The suite builds tiny ONNX models by hand (``onnx.helper``) with properties whose verdicts are
known, and checks what must hold for *any* backend:

* a property with a known counterexample is never answered ``unsat``;
* a property that holds is never answered ``sat``;
* every ``sat`` carries a counterexample that passes the VNN-COMP check in onnxruntime;
* only the five verdicts come back, with a non-negative time;
* a backend that declares ``complete = True`` decides every tiny problem;
* incomplete backends never claim a verdict they cannot reach (``attack``: never ``unsat``).

Skip a whole backend by setting ``skip_reason`` (e.g. when a tool is not installed).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

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


def build_problems(folder: Path) -> list[Problem]:
    """Tiny problems with known verdicts (each decided by hand; see comments)."""
    folder.mkdir(parents=True, exist_ok=True)
    box = ([-1.0, -1.0], [1.0, 1.0])
    cls1 = [["(>= Y_1 Y_0)"]]
    out: list[Problem] = []

    def add(name: str, layers: Any, boxes: Any, disj: Any, expected: str) -> None:
        onnx_path = save_model(folder / f"{name}.onnx", layers)
        n_in = np.asarray(layers[0][0]).shape[1]
        n_out = np.asarray(layers[-1][0]).shape[0]
        vnn = folder / f"{name}.vnnlib"
        vnn.write_text(vnnlib_text(n_in, n_out, boxes, disj))
        out.append(Problem(name, onnx_path, vnn, expected))

    eye = np.eye(2)
    # y = (x0 + 3, x1): y1 - y0 = x1 - x0 - 3 <= -1 on the box -> holds.
    add("lin_unsat", [(eye, [3.0, 0.0], False)], [box], cls1, "unsat")
    # y = (x0 + 1, x1): y1 >= y0 iff x1 - x0 >= 1, e.g. x = (-1, 1) -> violated.
    add("lin_sat", [(eye, [1.0, 0.0], False)], [box], cls1, "sat")
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
    import shutil

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


# ----------------------------------------------------------------------------- the suite

VERDICTS = {"sat", "unsat", "unknown", "timeout", "error"}


class BackendConformance:
    """Mixin: set ``backend`` (and ``options``); pytest collects the subclass."""

    backend: ClassVar[str] = ""
    options: ClassVar[dict[str, Any]] = {}
    timeout: ClassVar[float] = 20.0
    skip_reason: ClassVar[str] = ""

    @pytest.fixture(scope="class")
    def problems(self, tmp_path_factory: pytest.TempPathFactory) -> list[Problem]:
        return build_problems(tmp_path_factory.mktemp(f"conf-{self.backend}"))

    @pytest.fixture(scope="class")
    def answers(self, problems: list[Problem]) -> dict[str, Any]:
        """Each problem decided once through the runner (validation included)."""
        if self.skip_reason:
            pytest.skip(self.skip_reason)
        from autospec_cli.verify.base import Instance
        from autospec_cli.verify.registry import make_backend
        from autospec_cli.verify.runner import run_instances

        verifier = make_backend(self.backend, **self.options)
        instances = [Instance(p.onnx, p.vnnlib, self.timeout, "conformance") for p in problems]
        results = run_instances(verifier, instances)
        return {p.name: r for p, r in zip(problems, results, strict=True)}

    def _backend_class(self) -> Any:
        from autospec_cli.verify.registry import get_backend_class

        return get_backend_class(self.backend)

    def test_only_known_verdicts_and_times(self, answers: dict[str, Any]) -> None:
        for name, r in answers.items():
            assert r.verdict.value in VERDICTS, name
            assert r.time >= 0, name

    def test_no_errors_on_tiny_problems(self, answers: dict[str, Any]) -> None:
        errors = {n: r.message for n, r in answers.items() if r.verdict.value == "error"}
        assert not errors, errors

    def test_known_counterexample_never_unsat(
        self, problems: list[Problem], answers: dict[str, Any]
    ) -> None:
        wrong = [
            p.name
            for p in problems
            if p.expected == "sat" and answers[p.name].verdict.value == "unsat"
        ]
        assert not wrong, f"unsound: unsat on properties with a counterexample: {wrong}"

    def test_holding_property_never_sat(
        self, problems: list[Problem], answers: dict[str, Any]
    ) -> None:
        wrong = [
            p.name
            for p in problems
            if p.expected == "unsat" and answers[p.name].verdict.value == "sat"
        ]
        assert not wrong, f"sat on properties that hold: {wrong}"

    def test_sat_answers_carry_valid_counterexamples(
        self, problems: list[Problem], answers: dict[str, Any]
    ) -> None:
        from autospec_cli.verify.cex import check_counterexample

        for p in problems:
            r = answers[p.name]
            if r.verdict.value != "sat":
                continue
            assert r.counterexample is not None, p.name
            check = check_counterexample(p.onnx, p.vnnlib, r.counterexample.x, r.counterexample.y)
            assert check.ok, f"{p.name}: {check.reason}"

    def test_complete_backend_decides_tiny_problems(
        self, problems: list[Problem], answers: dict[str, Any]
    ) -> None:
        if not self._backend_class().complete:
            pytest.skip(f"{self.backend} is not complete")
        undecided = {
            p.name: answers[p.name].verdict.value
            for p in problems
            if answers[p.name].verdict.value != p.expected
        }
        assert not undecided, undecided

    def test_incomplete_falsifier_never_unsat(self, answers: dict[str, Any]) -> None:
        cls = self._backend_class()
        if cls.complete or cls.name != "attack":
            pytest.skip("only for falsifiers")
        assert all(r.verdict.value != "unsat" for r in answers.values())

    def test_declared_parameters_are_typed_and_documented(self) -> None:
        cls = self._backend_class()
        for key, p in cls.parameters.items():
            assert p.help.strip(), key
            assert p.parse(key, p.default) == p.default, key
