"""VNN-LIB 2.0 queries beyond one box and one output: their reduction to a :class:`Property`.

The standard's compat transform (used by :mod:`autospec_cli.vnnlib.reader_v2`) handles one
network with one input and one output tensor and box-only input constraints. Every other
linear query -- several input or output tensors, hidden nodes (``declare-hidden``), linear
constraints across inputs, two or more networks (independent, ``equal-to`` or
``isomorphic-to``) -- is reduced here to an ordinary property over an *augmented network*
(built by :mod:`autospec_cli.vnnlib.product`):

* its single input ``x`` is the concatenation of every declared input tensor of every network,
  flattened row-major, in declaration order;
* its single output ``z`` is the concatenation of every network's declared outputs and hidden
  nodes (flattened, in declaration order) followed by a copy of ``x``.

So every linear atom over inputs, outputs and hidden nodes is a row ``a . z <= b``. The query
(parsed and type-checked by the standard's parser) is put in disjunctive normal form
(:data:`MAX_CLAUSES` at most); in each clause, bounds on a single input variable form the
input box, every other atom becomes a row over ``z``, and input-only rows also tighten the box
with linear programs (so an input polytope needs no explicit bound on every variable).
Clauses with the same box become one case. Strict comparisons: a strict bound of a single
variable against a constant becomes non-strict one float32 step further (as
:func:`autospec_cli.vnnlib.reader_v2._nonstrict` does); any other strict atom is read
non-strictly (its closure: an ``unsat`` stays sound), and every witness is checked against the
exact, strict formula by :meth:`Reduction.holds` before it is reported. Non-linear
(polynomial) atoms are not supported and raise :class:`~autospec_cli.errors.VnnlibError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autospec_cli.errors import VnnlibError
from autospec_cli.vnnlib.property import Case, Polytope, Property

MAX_CLAUSES = 100_000
LP_SLACK = 1e-6  # relative outward margin of box bounds computed by linear programs

Atom = tuple[dict[int, float], float, bool]  # sum c_j z_j <= rhs (strict: <)


@dataclass
class Slot:
    """One declared tensor: where its flattened values sit (``offset`` into ``x`` for an
    input, into ``z`` for an output or hidden node)."""

    network: str
    name: str
    kind: str  # "input" | "output" | "hidden"
    shape: tuple[int, ...]
    dtype: str
    onnx_name: str | None
    offset: int

    @property
    def size(self) -> int:
        return int(math.prod(self.shape)) if self.shape else 1


@dataclass
class NetworkSpec:
    """A declared network; ``model`` names the network whose ONNX file it uses (itself, or the
    target of ``equal-to``)."""

    name: str
    model: str
    isomorphic_to: str
    inputs: list[Slot] = field(default_factory=list)
    outputs: list[Slot] = field(default_factory=list)
    hidden: list[Slot] = field(default_factory=list)


@dataclass
class Reduction:
    """A query reduced to a property over the augmented network (module docstring)."""

    networks: list[NetworkSpec]
    n_x: int
    n_net: int  # outputs and hidden nodes; z = [those, x]
    prop: Property
    clauses: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # (A, b, strict) over z, exact

    @property
    def n_z(self) -> int:
        return self.n_net + self.n_x

    @property
    def model_names(self) -> list[str]:
        """Networks that need an ONNX file (``equal-to`` copies reuse their target's)."""
        return [n.name for n in self.networks if n.model == n.name]

    def holds(self, z: np.ndarray) -> bool:
        """Does the assignment ``z`` (network values then inputs) satisfy the query exactly
        (strict comparisons strict), in float64?"""
        z = np.asarray(z, dtype=np.float64).reshape(-1)
        for A, b, strict in self.clauses:
            lhs = A @ z if A.shape[0] else np.zeros(0)
            ok = np.where(strict, lhs < b, lhs <= b)
            if bool(np.all(ok)):
                return True
        return False


# ----------------------------------------------------------------------------- parsing


_DTYPE_NAMES = {
    "Real": "real", "F16": "float16", "F32": "float32", "F64": "float64", "BF16": "bfloat16",
    "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64", "U8": "uint8",
    "U16": "uint16", "U32": "uint32", "U64": "uint64", "Bool": "bool",
}


def dtype_name(dtype: Any) -> str:
    """The standard's name of an element type of the official AST (``float32``, ``real``)."""
    name = getattr(dtype, "name", str(dtype))
    return _DTYPE_NAMES.get(name, str(name).lower())


def _strip(name: str | None) -> str | None:
    if not name:
        return None
    return name.strip().strip('"')


def build_layout(query: Any) -> tuple[list[NetworkSpec], dict[str, Slot], int, int]:
    """Networks and slots of a parsed query: (networks, slot by variable name, n_x, n_net)."""
    nets: list[NetworkSpec] = []
    slots: dict[str, Slot] = {}
    names = {n.name for n in query.networks}
    n_x = n_net = 0
    for n in query.networks:
        eq = n.equal_to or ""
        if eq and eq not in names:
            raise VnnlibError(f"network {n.name} is equal-to {eq}, which is not declared")
        spec = NetworkSpec(n.name, eq or n.name, n.isometric_to or "")
        for kind, decls, into in (("input", n.inputs, spec.inputs),
                                  ("hidden", n.hidden, spec.hidden),
                                  ("output", n.outputs, spec.outputs)):
            for d in decls:
                shape = tuple(int(s) for s in d.shape)
                if kind == "input":
                    off = n_x
                    n_x += int(math.prod(shape)) if shape else 1
                else:
                    off = n_net
                    n_net += int(math.prod(shape)) if shape else 1
                slot = Slot(n.name, d.name, kind, shape, dtype_name(d.dtype),
                            _strip(d.onnx_name), off)
                into.append(slot)
                slots[d.name] = slot
        nets.append(spec)
    # z order: per network, outputs then hidden (declaration order within each kind)
    pos = 0
    for spec in nets:
        for s in spec.outputs + spec.hidden:
            s.offset = pos
            pos += s.size
    return nets, slots, n_x, n_net


def _index(slot: Slot, indices: list[int], n_net: int) -> int:
    idx = [int(i) for i in indices]
    if slot.shape:
        if len(idx) != len(slot.shape) or any(not 0 <= i < d for i, d in zip(idx, slot.shape,
                                                                               strict=True)):
            raise VnnlibError(f"{slot.name}{idx} is outside its shape {list(slot.shape)}")
        flat = int(np.ravel_multi_index(tuple(idx), slot.shape))
    else:
        flat = 0
    return (n_net + slot.offset + flat) if slot.kind == "input" else slot.offset + flat


def _linear(expr: Any, slots: dict[str, Slot], n_net: int) -> tuple[dict[int, float], float]:
    from autospec_cli.vnnlib.reader_v2 import _vnnlib

    vnnlib = _vnnlib()
    try:
        lin = expr.to_linear_expr()
    except vnnlib.VNNLibException as e:
        msg = " ".join(str(e).split())
        if "linear" in msg.lower():
            raise VnnlibError(f"non-linear (polynomial) constraint {expr} is not supported "
                              "(POLY)") from None
        raise VnnlibError(f"VNN-LIB 2.0: {msg}") from None
    coefs: dict[int, float] = {}
    for t in lin.terms:
        v = t.var
        slot = slots.get(v.name)
        if slot is None:
            raise VnnlibError(f"variable {v.name} is not declared")
        j = _index(slot, list(v.indices), n_net)
        coefs[j] = coefs.get(j, 0.0) + float(t.coeff)
    return coefs, float(lin.constant)


def _atoms(cmp: Any, slots: dict[str, Slot], n_net: int) -> list[list[Atom]]:
    """A comparison as a DNF of atoms ``c . z <= rhs``."""
    import vnnlib

    lc, lk = _linear(cmp.lhs, slots, n_net)
    rc, rk = _linear(cmp.rhs, slots, n_net)
    diff = dict(lc)
    for j, a in rc.items():
        diff[j] = diff.get(j, 0.0) - a
    diff = {j: a for j, a in diff.items() if a != 0.0}
    neg = {j: -a for j, a in diff.items()}
    le: Atom = (diff, rk - lk, False)  # lhs - rhs <= 0
    ge: Atom = (neg, lk - rk, False)  # rhs - lhs <= 0
    if isinstance(cmp, vnnlib.LessEqual):
        return [[le]]
    if isinstance(cmp, vnnlib.LessThan):
        return [[(le[0], le[1], True)]]
    if isinstance(cmp, vnnlib.GreaterEqual):
        return [[ge]]
    if isinstance(cmp, vnnlib.GreaterThan):
        return [[(ge[0], ge[1], True)]]
    if isinstance(cmp, vnnlib.Equal):
        return [[le, ge]]
    if isinstance(cmp, vnnlib.NotEqual):
        return [[(le[0], le[1], True)], [(ge[0], ge[1], True)]]
    raise VnnlibError(f"unsupported comparison {cmp}")


def _cross(a: list[list[Atom]], b: list[list[Atom]]) -> list[list[Atom]]:
    if len(a) * len(b) > MAX_CLAUSES:
        raise VnnlibError(f"the query expands to more than {MAX_CLAUSES} disjuncts in DNF")
    return [x + y for x in a for y in b]


def to_dnf(expr: Any, slots: dict[str, Slot], n_net: int) -> list[list[Atom]]:
    """A boolean expression of the official AST as a list of clauses (conjunctions)."""
    import vnnlib

    if isinstance(expr, vnnlib.Comparison):
        return _atoms(expr, slots, n_net)
    if isinstance(expr, vnnlib.And):
        out: list[list[Atom]] = [[]]
        for arg in expr.args:
            out = _cross(out, to_dnf(arg, slots, n_net))
        return out
    if isinstance(expr, vnnlib.Or):
        res: list[list[Atom]] = []
        for arg in expr.args:
            res.extend(to_dnf(arg, slots, n_net))
            if len(res) > MAX_CLAUSES:
                raise VnnlibError(f"the query expands to more than {MAX_CLAUSES} disjuncts "
                                  "in DNF")
        return res
    raise VnnlibError(f"unsupported formula {expr}")


# ----------------------------------------------------------------------------- clauses


def _f32_step(c: float, up: bool) -> float:
    from autospec_cli.vnnlib.reader_v2 import f32_beyond

    return f32_beyond(c, up)


def _tighten_strict(atom: Atom) -> Atom:
    """``v < c`` as ``v <= down32(c)`` (``-v < -c`` as ``-v <= -up32(c)``) for one variable
    with a unit coefficient, the other strict atoms read non-strictly (module docstring)."""
    coefs, rhs, strict = atom
    if strict and len(coefs) == 1:
        (j, a), = coefs.items()
        if a == 1.0:
            return {j: a}, _f32_step(rhs, up=False), False
        if a == -1.0:
            return {j: a}, -_f32_step(-rhs, up=True), False
    return coefs, rhs, False


def _lp_box(lo: np.ndarray, hi: np.ndarray, A: np.ndarray, b: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray] | None:
    """The bounding box of ``{x : lo <= x <= hi, A x <= b}`` by linear programs over the
    variables the rows touch (HiGHS through scipy), each bound widened by :data:`LP_SLACK`;
    None when the set is empty."""
    from scipy.optimize import linprog

    cols = np.flatnonzero(np.any(A != 0.0, axis=0))
    lo, hi = lo.copy(), hi.copy()
    bounds = [(None if not np.isfinite(lo[i]) else lo[i], None if not np.isfinite(hi[i])
               else hi[i]) for i in range(lo.size)]
    for i in cols:
        for sign in (1.0, -1.0):
            c = np.zeros(lo.size)
            c[i] = sign
            r = linprog(c, A_ub=A, b_ub=b, bounds=bounds, method="highs")
            if r.status == 2:  # infeasible
                return None
            if r.status == 0:
                # the optimum moved outwards by more than HiGHS's feasibility tolerance (1e-7):
                # the box may only ever be too large (the rows stay in the polytope)
                v = float(r.fun) * sign
                slack = LP_SLACK * (1.0 + abs(v))
                if sign > 0:
                    lo[i] = max(lo[i], v - slack)
                else:
                    hi[i] = min(hi[i], v + slack)
    return lo, hi


def reduce_query(query: Any) -> Reduction:
    """A parsed (official AST) query as a :class:`Reduction` (see the module docstring)."""
    nets, slots, n_x, n_net = build_layout(query)
    n_z = n_net + n_x
    clauses: list[list[Atom]] = [[]]
    for a in query.assertions:
        clauses = _cross(clauses, to_dnf(a.expr, slots, n_net))
    exact: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    groups: dict[tuple, tuple[np.ndarray, np.ndarray, list[Polytope]]] = {}
    restricted: set[int] = set()
    for clause in clauses:
        A = np.zeros((len(clause), n_z))
        b = np.zeros(len(clause))
        st = np.zeros(len(clause), dtype=bool)
        for r, (coefs, rhs, strict) in enumerate(clause):
            for j, a in coefs.items():
                A[r, j] += a
            b[r], st[r] = rhs, strict
        exact.append((A, b, st))
        built = _clause_case(clause, n_x, n_net)
        if built is None:
            continue
        lo, hi, P = built
        open_ = ~(np.isfinite(lo) & np.isfinite(hi))
        if open_.any():
            lo, hi = search_box(lo, hi)
            restricted.update(int(i) for i in np.flatnonzero(open_))
        key = (lo.tobytes(), hi.tobytes())
        groups.setdefault(key, (lo, hi, []))[2].append(P)
    if not groups:
        # every clause is empty: a trivially unsat query still needs a well-formed property
        lo = np.zeros(n_x)
        groups[(b"", b"")] = (lo, lo.copy(), [Polytope(np.zeros((1, n_z)), np.array([-1.0]))])
    cases = [Case(lo, hi, polys) for lo, hi, polys in groups.values()]
    meta: dict[str, Any] = {"vnnlib_version": "2.0", "reduced": True,
                            "networks": [n.name for n in nets]}
    if restricted:
        meta["restricted_inputs"] = [_input_name(nets, k) for k in sorted(restricted)]
    prop = Property(cases, n_inputs=n_x, n_outputs=n_z, meta=meta)
    return Reduction(nets, n_x, n_net, prop, exact)


#: Half-width of the search box given to inputs a query leaves unbounded (see
#: :func:`search_box`).
SEARCH_RADIUS = 1.0


def search_box(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Close the unbounded sides of an input box for *falsification only*: a missing lower
    bound becomes ``min(hi, 0) - SEARCH_RADIUS``, a missing upper one ``max(lo, 0) +
    SEARCH_RADIUS`` (both ``[-1, 1]`` when the input is free). A counterexample found in the
    closed box lies in the query's input set, so ``sat`` stands; ``unsat`` over it proves
    nothing about the query, and every caller reports it as ``unknown`` (the property's
    ``meta["restricted_inputs"]`` names the inputs)."""
    lo, hi = lo.copy(), hi.copy()
    free_lo, free_hi = ~np.isfinite(lo), ~np.isfinite(hi)
    lo[free_lo] = np.minimum(np.where(np.isfinite(hi), hi, 0.0), 0.0)[free_lo] - SEARCH_RADIUS
    hi[free_hi] = np.maximum(np.where(np.isfinite(lo), lo, 0.0), 0.0)[free_hi] + SEARCH_RADIUS
    return lo, hi


def _input_name(nets: list[NetworkSpec], k: int) -> str:
    for n in nets:
        for s in n.inputs:
            if s.offset <= k < s.offset + s.size:
                idx = np.unravel_index(k - s.offset, s.shape) if s.shape else ()
                return f"{s.name}[{','.join(str(int(i)) for i in idx)}]"
    return f"x[{k}]"


def _clause_case(clause: list[Atom], n_x: int, n_net: int
                 ) -> tuple[np.ndarray, np.ndarray, Polytope] | None:
    """One DNF clause as (box lo, box hi, polytope over z); None when it is empty."""
    lo = np.full(n_x, -np.inf)
    hi = np.full(n_x, np.inf)
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    in_rows: list[np.ndarray] = []
    in_rhs: list[float] = []
    for atom in clause:
        coefs, b, _ = _tighten_strict(atom)
        if not coefs:
            if not b >= 0.0:  # 0 <= b (a strict 0 < b read as its closure)
                return None
            continue
        if len(coefs) == 1:
            (j, a), = coefs.items()
            if j >= n_net:  # a bound on one input
                i, v = j - n_net, b / a
                if a > 0:
                    hi[i] = min(hi[i], v)
                else:
                    lo[i] = max(lo[i], v)
                continue
        row = np.zeros(n_net + n_x)
        for j, a in coefs.items():
            row[j] = a
        rows.append(row)
        rhs.append(b)
        if not np.any(row[:n_net]):
            in_rows.append(row[n_net:])
            in_rhs.append(b)
    if np.any(lo > hi):
        return None
    if in_rows:
        box = _lp_box(lo, hi, np.array(in_rows), np.array(in_rhs))
        if box is None:
            return None
        lo, hi = box
    A = np.array(rows).reshape(len(rows), n_net + n_x)
    return lo, hi, Polytope(A, np.array(rhs, dtype=np.float64))
