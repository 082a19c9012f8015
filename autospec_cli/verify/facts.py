"""Exact facts about a network's outputs, and the cases of a property they rule out.

Some output layers confine their values whatever the weights before them: a Softmax's
outputs lie in ``[0, 1]`` and each group normalised together sums to 1; a Sigmoid's lie in
``[0, 1]``, a Tanh's in ``[-1, 1]``, a ReLU's are ``>= 0``. A property asking for an output
outside those sets (``Y_0 > 1`` on class probabilities, ``Y_0 + Y_1 > 1.01`` on a softmax
group) has no counterexample, yet bounds propagated through the network cannot show it: at
the edge of the range the bound touches the constraint (``Y_0 >= 0`` against ``Y_0 < 0``,
read as ``Y_0 <= -1.4e-45``) and a refutation needs a margin; a sum needs the correlation
between outputs that interval and linear bounds lose.

:func:`refuted_by_output_facts` decides such properties before any backend runs: every
output polytope of every case must contradict the facts, shown by a Farkas certificate
that is checked in exact rational arithmetic (an LP finds the multipliers; their check does
not trust the LP).

The facts hold for the real-number network *and* for onnxruntime's float32 evaluation,
which is what counterexamples are replayed in:

* Softmax: ``y >= 0`` (exponentials are non-negative, the sum positive) and ``y <= 1``
  (measured: onnxruntime never exceeded 1 on 140,000 samples from 1e-6 to 1e30 in scale,
  ties included, for 2 to 1,000 classes; see the tests); the sum of a group of ``n`` is
  within ``SUM_ULPS_PER_OUTPUT * (n + 4)`` float32 steps of 1 (measured at most ``n``/100
  steps for ``n`` = 1,000, 2 for ``n`` = 10);
* Sigmoid and Tanh: onnxruntime's approximations leave their range by up to two float32
  steps (measured: a Sigmoid of 1 + 2^-23, a Tanh of -1 - 2^-22), so the ranges are widened
  by :data:`RANGE_SLACK`;
* ReLU: ``y >= 0``, exactly.

Shape-only nodes between the layer and the graph output (Reshape, Flatten, Squeeze,
Unsqueeze, Identity) keep the row-major order of the elements, so output ``j`` is element
``j`` of the layer's output.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.vnnlib.property import Polytope, Property

#: float32 steps (of 1) per output of a softmax group by which its sum may miss 1
SUM_ULPS_PER_OUTPUT = 2.0
#: widening of the Sigmoid and Tanh ranges for onnxruntime's approximations (4 float32 steps)
RANGE_SLACK = 4 * 2.0**-23
#: largest (rows x outputs) a certificate is checked for (exact arithmetic is slow)
MAX_CERTIFICATE_ENTRIES = 200_000

_SHAPE_ONLY = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"}


@dataclass(frozen=True)
class OutputFacts:
    """Bounds ``lo <= y <= hi`` of every output and groups whose sum is within ``delta`` of 1.
    ``source`` names the layer they come from."""

    lo: np.ndarray
    hi: np.ndarray
    source: str
    groups: list[np.ndarray] = field(default_factory=list)
    deltas: list[float] = field(default_factory=list)


def _producer(graph: Any) -> dict[str, Any]:
    return {o: n for n in graph.node for o in n.output}


def _shape(model: Any, name: str) -> list[int] | None:
    """The full shape of tensor ``name`` by onnx shape inference; a symbolic first dimension
    (the batch) as 1; None when unknown."""
    from autospec_cli.models.runtime import declared_dims

    for vi in [*model.graph.value_info, *model.graph.output, *model.graph.input]:
        if vi.name == name:
            dims = [1 if d is None and k == 0 else d for k, d in enumerate(declared_dims(vi))]
            if any(d is None or d < 1 for d in dims):
                return None
            return [int(d) for d in dims if d is not None]
    return None


def _softmax_groups(shape: list[int], axis: int, opset: int) -> list[np.ndarray]:
    """Flat indices of the elements each Softmax normalises together."""
    rank = len(shape)
    axis = axis + rank if axis < 0 else axis
    idx = np.arange(math.prod(shape)).reshape(shape)
    if opset < 13:  # the input coerced to 2-D at ``axis``: a group is a row of that matrix
        return list(idx.reshape(math.prod(shape[:axis]), -1))
    moved = np.moveaxis(idx, axis, -1).reshape(-1, shape[axis])
    return list(moved)


def facts_of_model(model: Any) -> OutputFacts | None:
    """The facts of an ONNX ``ModelProto`` whose single output comes from a Softmax, Sigmoid,
    Tanh or ReLU through shape-only nodes; None for any other model."""
    import onnx

    if len(model.graph.output) != 1:
        return None
    prod = _producer(model.graph)
    name = model.graph.output[0].name
    node = prod.get(name)
    while node is not None and node.op_type in _SHAPE_ONLY and node.domain in ("", "ai.onnx"):
        node = prod.get(node.input[0])
    if node is None or node.domain not in ("", "ai.onnx") or node.op_type not in (
            "Softmax", "Sigmoid", "Tanh", "Relu"):
        return None
    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # noqa: BLE001 - a model shape inference cannot read has no facts
        return None
    out_shape = _shape(inferred, name)
    layer_shape = _shape(inferred, node.output[0])
    if out_shape is None or layer_shape is None:
        return None
    n = math.prod(out_shape)
    if math.prod(layer_shape) != n:
        return None
    op = node.op_type
    if op == "Relu":
        return OutputFacts(np.zeros(n), np.full(n, np.inf), op)
    if op == "Sigmoid":
        return OutputFacts(np.full(n, -RANGE_SLACK), np.full(n, 1 + RANGE_SLACK), op)
    if op == "Tanh":
        return OutputFacts(np.full(n, -1 - RANGE_SLACK), np.full(n, 1 + RANGE_SLACK), op)
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                default=13)
    axis = next((int(a.i) for a in node.attribute if a.name == "axis"),
                -1 if opset >= 13 else 1)
    groups = _softmax_groups(layer_shape, axis, opset)
    deltas = [SUM_ULPS_PER_OUTPUT * (len(g) + 4) * 2.0**-23 for g in groups]
    return OutputFacts(np.zeros(n), np.ones(n), op, groups, deltas)


def output_facts(path: str | os.PathLike[str]) -> OutputFacts | None:
    """:func:`facts_of_model` of the ONNX file at ``path`` (``.gz`` too), once per file."""
    from autospec_cli.verify.loading import derived_small

    def build() -> OutputFacts | None:
        import onnx

        from autospec_cli.models.runtime import unpacked_onnx

        try:
            model = onnx.load_from_string(unpacked_onnx(Path(path)).read_bytes())
        except Exception:  # noqa: BLE001 - the backend reports an unreadable model
            return None
        return facts_of_model(model)

    return derived_small(path, "output_facts", build)


def _rows(poly: Polytope, facts: OutputFacts) -> tuple[np.ndarray, np.ndarray]:
    """The polytope's rows and the facts' group rows, all as ``M y <= c``."""
    A, b = [poly.A], [poly.b]
    n = facts.lo.size
    for g, d in zip(facts.groups, facts.deltas, strict=True):
        row = np.zeros(n)
        row[g] = 1.0
        A += [row[None], -row[None]]
        b += [np.array([1.0 + d]), np.array([-(1.0 - d)])]
    return np.vstack(A), np.concatenate(b)


#: relative tightening of the right-hand sides for the LP that looks for multipliers: a
#: system whose emptiness hangs on less than the LP's tolerance (``y <= -1e-45`` against
#: ``y >= 0``) still gets multipliers, and the exact check decides whether they prove it
TIGHTEN = 1e-6


def _multipliers(M: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray
                 ) -> np.ndarray | None:
    """Multipliers ``lam >= 0`` of the rows from the LP ``min t : M y - t <= c', lo <= y <=
    hi, t >= 0`` (HiGHS through scipy) with ``c'`` the right-hand sides tightened by
    :data:`TIGHTEN`; None when even that system looks feasible (``t = 0``)."""
    from scipy.optimize import linprog

    k, n = M.shape
    cost = np.zeros(n + 1)
    cost[-1] = 1.0
    A = np.hstack([M, -np.ones((k, 1))])
    bounds = [(None if not np.isfinite(a) else a, None if not np.isfinite(z) else z)
              for a, z in zip(lo, hi, strict=True)] + [(0, None)]
    tight = c - TIGHTEN * (1.0 + np.abs(c))
    r = linprog(cost, A_ub=A, b_ub=tight, bounds=bounds, method="highs")
    if r.status != 0 or r.fun <= 0:
        return None
    return np.clip(-np.asarray(r.ineqlin.marginals, dtype=np.float64), 0.0, None)


def certified_empty(M: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                    lam: np.ndarray) -> bool:
    """Exactly (rational arithmetic): does ``lam`` prove ``{y : M y <= c, lo <= y <= hi}``
    empty? For every ``y`` in the set ``lam . M y <= lam . c``; the least ``r . y`` over the box
    (``r = lam M``) above ``lam . c`` contradicts that."""
    used = np.flatnonzero(lam > 0)
    if used.size == 0:
        return False
    fl = [Fraction(float(v)) for v in lam[used]]
    rhs = sum((f * Fraction(float(c[i])) for f, i in zip(fl, used, strict=True)), Fraction(0))
    least = Fraction(0)
    for j in range(M.shape[1]):
        col = M[used, j]
        if not col.any():
            continue
        r = sum((f * Fraction(float(a)) for f, a in zip(fl, col, strict=True) if a != 0.0),
                Fraction(0))
        if r == 0:
            continue
        end = lo[j] if r > 0 else hi[j]
        if not np.isfinite(end):
            return False
        least += r * Fraction(float(end))
    return least > rhs


def polytope_refuted(poly: Polytope, facts: OutputFacts) -> bool:
    """Is ``poly`` (over the outputs) disjoint from the set the facts allow, by a checked
    certificate?"""
    M, c = _rows(poly, facts)
    if M.shape[0] == 0 or M.size > MAX_CERTIFICATE_ENTRIES:
        return False
    if not (np.all(np.isfinite(M)) and np.all(np.isfinite(c))):
        return False
    lam = _multipliers(M, c, facts.lo, facts.hi)
    return lam is not None and certified_empty(M, c, facts.lo, facts.hi, lam)


def refuted_by_output_facts(prop: Property, facts: OutputFacts) -> bool:
    """Does every output polytope of every case of ``prop`` contradict ``facts``?"""
    if prop.n_outputs != facts.lo.size:
        return False
    return all(polytope_refuted(p, facts) for case in prop.cases for p in case.disjuncts)
