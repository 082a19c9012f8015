"""Read VNN-LIB 2.0 queries with the standard's own parser (PyPI ``vnnlib`` 1.x).

The official parser type-checks the query and ``vnnlib.compat.transform`` reduces it to
"reachability" cases: an input box and a disjunction of polytopes ``A y <= b``, exactly our
:class:`~autospec_cli.vnnlib.property.Property` form. Only single-network queries with one
input and one output tensor can be reduced this way (the transformer's own restriction).
Tensor elements are flattened in row-major order: ``X[0,2]`` of an input of shape ``[1,10]``
is input 2.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from autospec_cli.errors import VnnlibError
from autospec_cli.vnnlib.property import Case, Polytope, Property
from autospec_cli.vnnlib.writer import fmt_float


def _vnnlib() -> Any:
    try:
        import vnnlib
        import vnnlib.compat

        vnnlib.parse_query_string  # noqa: B018 - the 0.0.x package of the same name lacks it
    except (ImportError, AttributeError):
        raise VnnlibError(
            "reading VNN-LIB 2.0 needs the standard's parser: pip install 'vnnlib>=1.0'"
        ) from None
    return vnnlib


def one_line(err: Exception) -> str:
    """The official parser's (JSON, multi-line) error as one line."""
    text = str(err).strip()
    try:
        d = json.loads(text)
        e = d["errors"][0]
        msg = f"line {e.get('line', '?')}: {e.get('message', 'error')}"
        if e.get("offendingSymbol"):
            msg += f" ({e['offendingSymbol']})"
        if e.get("hint"):
            msg += f"; {e['hint']}"
        n = d.get("error_count", 1)
        return msg + (f" (+{n - 1} more errors)" if n > 1 else "")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return " ".join(text.split())


_ASSERT_AND = re.compile(r"\(\s*assert\s*\(\s*and\b")
_STRICT_OP = re.compile(r"\(\s*[<>]\s")


def _conjuncts(node: Any) -> list[Any]:
    if isinstance(node, list) and node and node[0] == "and":
        return [c for part in node[1:] for c in _conjuncts(part)]
    return [node]


_STRICT = {">": (">=", np.inf), "<": ("<=", -np.inf)}


def _number(tok: Any) -> float | None:
    if not isinstance(tok, str):
        return None
    try:
        return float(tok)
    except ValueError:
        return None


def f32_beyond(c: float, up: bool) -> float:
    """The smallest float32 above ``c`` (``up``) or the largest below it: ``v > c`` and
    ``v >= f32_beyond(c, up=True)`` hold for the same float32 values ``v``. (One float32 step
    from ``float32(c)`` is not it: ``float32(0.7)`` lies below 0.7 and satisfies ``v < 0.7``.)"""
    f = np.float32(c)
    if (float(f) <= c) if up else (float(f) >= c):
        f = np.nextafter(f, np.float32(np.inf if up else -np.inf))
    return float(f)


def _nonstrict(node: Any) -> Any:
    """``(> v c)`` as ``(>= v c')`` with ``c'`` the next float32 above ``c`` (and the mirrored
    forms): the same set of float32 values, so a replayed counterexample satisfies the strict
    comparison exactly, and an unsat proof (made with a margin far above one float32 step)
    stays sound. Comparisons of two variables keep their non-strict reading."""
    if not isinstance(node, list):
        return node
    node = [_nonstrict(n) for n in node]
    if len(node) == 3 and node[0] in _STRICT:
        op, toward = _STRICT[node[0]]
        left, right = _number(node[1]), _number(node[2])
        if right is not None and left is None:  # v > c: v >= up(c);  v < c: v <= down(c)
            c = f32_beyond(right, up=toward > 0)
            return [op, node[1], fmt_float(c)]
        if left is not None and right is None:  # c > v: down(c) >= v;  c < v: up(c) <= v
            c = f32_beyond(left, up=toward < 0)
            return [op, fmt_float(c), node[2]]
    return node


def _show(node: Any) -> str:
    return node if isinstance(node, str) else "(" + " ".join(_show(n) for n in node) + ")"


def split_asserted_ands(text: str) -> str:
    """``(assert (and A B))`` rewritten as ``(assert A) (assert B)`` -- the same query -- and
    strict comparisons with a constant made non-strict one float32 step further
    (:func:`_nonstrict`).

    The standard's compat transform (``vnnlib`` 1.0.x) turns a top-level ``and`` of input
    bounds into several partial boxes (measured: two asserted ``(and lo hi)`` pairs gave three
    cases, two of them unbounded), i.e. a larger input set than the query's; separate asserts
    are read right. Text without such an assert is returned unchanged."""
    from autospec_cli.vnnlib.reader import parse_sexprs

    if not _ASSERT_AND.search(text) and not _STRICT_OP.search(text):
        return text
    forms = parse_sexprs(re.sub(r";[^\n]*", "", text))
    out: list[Any] = []
    for f in forms:
        if isinstance(f, list) and len(f) == 2 and f[0] == "assert":
            out += [["assert", _nonstrict(c)] for c in _conjuncts(f[1])]
        else:
            out.append(f)
    return "\n".join(_show(f) for f in out) + "\n"


_DECLS = ("declare-input", "declare-output", "declare-hidden")


def isomorphic_types_aligned(text: str) -> str | None:
    """The query with every ``isomorphic-to`` network's declared element types replaced by
    those of the network it is isomorphic to (declaration by declaration, per kind); None
    when nothing changes.

    The standard's parser (``vnnlib`` 1.0.x) rejects an isomorphic network whose variables
    have other element types than its reference's (``TypeMismatch``), while the standard's
    conformance suite counts such a query as valid (``network_isomorphic01``: a float32
    network and a float16 copy). The verdict is decided over the given ONNX model in any case,
    and every value of a narrower float type is also a value of the wider one, so the query is
    read with the reference network's types."""
    from autospec_cli.vnnlib.reader import parse_sexprs

    forms = parse_sexprs(re.sub(r";[^\n]*", "", text))
    nets = {f[1]: f for f in forms
            if isinstance(f, list) and len(f) > 1 and f[0] == "declare-network"}

    def decls(net: list[Any], kind: str) -> list[list[Any]]:
        return [d for d in net[2:] if isinstance(d, list) and d and d[0] == kind and len(d) > 2]

    changed = False
    for net in nets.values():
        ref = next((d[1] for d in net[2:] if isinstance(d, list) and len(d) == 2
                    and d[0] == "isomorphic-to"), None)
        if ref not in nets:
            continue
        for kind in _DECLS:
            for mine, theirs in zip(decls(net, kind), decls(nets[ref], kind), strict=False):
                if mine[2] != theirs[2]:
                    mine[2] = theirs[2]
                    changed = True
    return "\n".join(_show(f) for f in forms) + "\n" if changed else None


def parse_query(text: str) -> Any:
    """The official parser's typed AST of a 2.0 query (errors as one-line VnnlibError). A
    query the parser rejects only for the element types of an isomorphic network is read with
    the reference network's types (:func:`isomorphic_types_aligned`)."""
    vnnlib = _vnnlib()
    try:
        return vnnlib.parse_query_string(text)
    except vnnlib.VNNLibException as e:
        error = e
    try:
        codes = {x.get("errorCode") for x in json.loads(str(error).strip())["errors"]}
    except (ValueError, KeyError, TypeError, AttributeError):
        codes = set()
    aligned = isomorphic_types_aligned(text) if codes == {"TypeMismatch"} else None
    if aligned is not None:
        try:
            return vnnlib.parse_query_string(aligned)
        except vnnlib.VNNLibException:
            pass
    raise VnnlibError(f"VNN-LIB 2.0: {one_line(error)}") from None


def _comparisons(expr: Any) -> list[Any]:
    import vnnlib

    if isinstance(expr, vnnlib.Comparison):
        return [expr]
    return [c for a in getattr(expr, "args", ()) for c in _comparisons(a)]


def is_simple(query: Any) -> bool:
    """Can the compat transform read this query exactly: one network, one input and one
    output tensor, no hidden nodes, and every atom either a bound on one input or over
    outputs only? Anything else goes through :mod:`autospec_cli.vnnlib.query2` and the
    augmented network of :mod:`autospec_cli.vnnlib.product`."""
    if len(query.networks) != 1:
        return False
    net = query.networks[0]
    if len(net.inputs) != 1 or len(net.outputs) != 1 or len(net.hidden) != 0:
        return False
    vnnlib = _vnnlib()
    for a in query.assertions:
        for cmp in _comparisons(a.expr):
            kinds = []
            try:
                for side in (cmp.lhs, cmp.rhs):
                    kinds += [t.var.kind for t in side.to_linear_expr().terms]
            except vnnlib.VNNLibException:
                return False  # non-linear: query2 says so
            n_in = sum(1 for k in kinds if k == vnnlib.SymbolKind.Input)
            if n_in > 1 or (n_in == 1 and len(kinds) > 1):
                return False
    return True


def has_unbounded_input(text: str) -> bool:
    """Does a :func:`is_simple` query leave some input without a finite box? Such queries go
    through the augmented-network path too, which searches a closed box for a counterexample
    (:func:`autospec_cli.vnnlib.query2.search_box`) and never answers ``unsat`` for them."""
    try:
        parse_vnnlib2(text)
    except VnnlibError as e:
        return "is unbounded" in str(e)
    return False


def parse_vnnlib2(
    text: str, *, n_inputs: int | None = None, n_outputs: int | None = None
) -> Property:
    """Parse VNN-LIB 2.0 text into a Property (every input must end up bounded). Only
    :func:`is_simple` queries have a property over the model itself; the others are decided
    over an augmented network (:func:`autospec_cli.vnnlib.product.prepare`)."""
    vnnlib = _vnnlib()
    if not is_simple(parse_query(text)):
        raise VnnlibError("VNN-LIB 2.0: this query (several networks, inputs or outputs, hidden "
                          "nodes or linear constraints across inputs) is decided over an "
                          "augmented network, not as a property of one model")
    try:
        query = vnnlib.parse_query_string(split_asserted_ands(text))
        cases = vnnlib.compat.transform(query)
    except vnnlib.VNNLibException as e:
        raise VnnlibError(f"VNN-LIB 2.0: {one_line(e)}") from None
    net = query.networks[0]
    in_shape = [int(d) for d in net.inputs[0].shape]
    out_shape = [int(d) for d in net.outputs[0].shape]
    n_in = int(np.prod(in_shape))
    n_out = int(np.prod(out_shape))
    for n, want, what in ((n_in, n_inputs, "inputs"), (n_out, n_outputs, "outputs")):
        if want is not None and n != want:
            raise VnnlibError(f"the property declares {n} {what} but the model has {want}")
    out = []
    for c in cases:
        box = np.array(c.input_box, dtype=np.float64).reshape(-1, 2)
        lo, hi = box[:, 0].copy(), box[:, 1].copy()
        bad = np.flatnonzero(~(np.isfinite(lo) & np.isfinite(hi)))
        if bad.size:
            idx = ",".join(str(int(k)) for k in np.unravel_index(int(bad[0]), in_shape))
            name = net.inputs[0].name
            raise VnnlibError(f"input {name}[{idx}] is unbounded; every input needs a finite box")
        polys = []
        for p in c.output_constraints:
            A = np.array(p.coeff_matrix, dtype=np.float64).reshape(-1, n_out)
            polys.append(Polytope(A, np.array(p.rhs, dtype=np.float64)))
        if not polys:
            polys = [Polytope(np.zeros((0, n_out)), np.zeros(0))]
        out.append(Case(lo, hi, polys))
    if not out:
        raise VnnlibError("VNN-LIB 2.0: the query has no cases")
    meta = {"vnnlib_version": "2.0", "network": net.name,
            "input_shape": in_shape, "output_shape": out_shape}
    return Property(out, n_inputs=n_in, n_outputs=n_out, meta=meta)
