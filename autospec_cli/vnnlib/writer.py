"""Write properties as VNN-LIB 1.0 (what VNN-COMP tools read) or VNN-LIB 2.0 text.

Numbers are written in plain positional notation with the shortest digits that round-trip
(``repr`` precision: ``0.1``, ``0.00001``, ``-3.0``), never with an exponent: VNN-LIB 2.0's
grammar has no exponent syntax and some 1.0 parsers do not expect one. Reading a written file
back gives the same floats bit for bit.

Output rows ``a . y <= b`` are written in the simplest form a 1.0 tool understands:
``(<= Y_j b)`` / ``(>= Y_j -b)`` for a single unit coefficient, ``(>= Y_k Y_i)`` for
``Y_i - Y_k <= 0``, and a linear term ``(<= (+ (* a0 Y_0) ...) b)`` otherwise. Every disjunct of
an ``or`` is wrapped in ``(and ...)``, even a single comparison.

A one-case property is written as separate input-bound asserts plus one
``(assert (or (and ...) ...))`` over its unsafe polytopes; a multi-case property (disjunctive
input boxes) as one top-level ``(assert (or (and <box> <output rows>) ...))``, one disjunct per
(case, polytope) pair, as VNN-COMP's nn4sys/acas files do.

VNN-LIB 2.0 output is made readable by the standard's own parser (PyPI ``vnnlib`` 1.0.x),
whose limits were measured: it reads numbers with C++ ``std::stod`` and fails on subnormal
numbers (``5e-324``: "IndexError: stod"), and its reduction to boxes and polytopes treats
every coefficient with ``|a| < 1e-9`` as zero (so ``1e-12 * Y_0 <= 0`` silently became "true",
i.e. every output unsafe) and rejects a constant row ``0 <= b`` with ``b < 0``. Refusing such
properties would make a whole export fail over numbers far below float32 precision, so
:func:`render_vnnlib2` rewrites them, keeping the meaning or enlarging the counterexample
region (sound: ``unsat`` on the written file still proves the original property):

* a row with a coefficient below ``2**-29`` (just above that threshold) and largest
  coefficient below 1 is multiplied by a power of two (exact in binary floating point, same
  half-space) so that it becomes ``1 <= max|a| < 2``;
* a subnormal box bound or right-hand side is rounded outward to ``0`` or the smallest normal
  float (``2.2250738585072014e-308``), widening the box / half-space by less than that;
  a subnormal coefficient left after scaling (smaller than ``2**-1022`` times the row's
  largest) is written as ``0``, which the official parser would do anyway;
* a constant row (all coefficients ``0``) is dropped when it holds (``0 <= b``), and a
  polytope containing one that fails (``b < 0``) is empty and dropped from the disjunction.

Coefficients below ``1e-9`` times the row's largest are still written exactly,
but the official parser reads them as zero; that is a limitation of that parser. The 1.0
writer writes every number exactly as given.
"""

from __future__ import annotations

import gzip
import math
import os
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np

from autospec_cli.errors import VnnlibError
from autospec_cli.io import atomic_path
from autospec_cli.vnnlib.property import Case, Polytope, Property

VERSIONS = ("1.0", "2.0")
TINY = float(np.finfo(np.float64).tiny)  # smallest normal float; std::stod rejects smaller
SMALL = 2.0**-29  # just above the official parser's zero threshold for coefficients (1e-9)


def fmt_float(v: float) -> str:
    """Shortest round-trip decimal in positional notation (``1e-05`` -> ``0.00001``)."""
    v = float(v)
    if not math.isfinite(v):
        raise VnnlibError(f"cannot write the non-finite number {v!r} to VNN-LIB")
    s = repr(v)
    if "e" in s or "E" in s:
        s = format(Decimal(s), "f")
    if "." not in s:
        s += ".0"
    return s


Namer = Callable[[int], str]


def _names_1(prefix: str) -> Namer:
    return lambda i: f"{prefix}_{i}"


def _names_2(prefix: str, shape: Sequence[int]) -> Namer:
    shp = tuple(int(d) for d in shape)

    def name(i: int) -> str:
        idx = np.unravel_index(i, shp)
        return f"{prefix}[{','.join(str(int(k)) for k in idx)}]"

    return name


def _row(a: np.ndarray, b: float, y: Namer) -> str:
    nz = np.flatnonzero(a)
    if nz.size == 1:
        j = int(nz[0])
        if a[j] == 1.0:
            return f"(<= {y(j)} {fmt_float(b)})"
        if a[j] == -1.0:
            return f"(>= {y(j)} {fmt_float(-b)})"
    if nz.size == 2 and b == 0.0:
        i, k = int(nz[0]), int(nz[1])
        if a[i] == -1.0 and a[k] == 1.0:
            i, k = k, i
        if a[i] == 1.0 and a[k] == -1.0:
            return f"(>= {y(k)} {y(i)})"
    if nz.size == 0:
        nz = np.array([0])
    terms = [f"(* {fmt_float(a[j])} {y(int(j))})" for j in nz]
    lhs = terms[0] if len(terms) == 1 else f"(+ {' '.join(terms)})"
    return f"(<= {lhs} {fmt_float(b)})"


def _poly(p: Polytope, y: Namer) -> list[str]:
    return [_row(p.A[r], float(p.b[r]), y) for r in range(p.A.shape[0])]


def _box(c: Case, x: Namer) -> list[str]:
    out = []
    for i in range(c.lo.size):
        out.append(f"(>= {x(i)} {fmt_float(c.lo[i])})")
        out.append(f"(<= {x(i)} {fmt_float(c.hi[i])})")
    return out


def _check(prop: Property) -> None:
    if not prop.cases:
        raise VnnlibError("cannot write a property with no cases")
    for k, c in enumerate(prop.cases):
        if c.lo.size != prop.n_inputs or c.hi.size != prop.n_inputs:
            raise VnnlibError(f"case {k} has a {c.lo.size}-dimensional box, not {prop.n_inputs}")
        if not c.disjuncts:
            raise VnnlibError(f"case {k} has no unsafe output polytope; it cannot be written")
        bad = np.flatnonzero(~(np.isfinite(c.lo) & np.isfinite(c.hi)))
        if bad.size:
            raise VnnlibError(
                f"case {k}: input X_{int(bad[0])} is unbounded; close the box with a domain first"
            )
        for p in c.disjuncts:
            if p.A.ndim != 2 or p.A.shape[1] != prop.n_outputs or p.A.shape[0] != p.b.size:
                raise VnnlibError(f"case {k}: a polytope does not match {prop.n_outputs} outputs")


def _assertions(prop: Property, x: Namer, y: Namer) -> list[str]:
    """The assert lines shared by both versions."""
    if len(prop.cases) == 1:
        case = prop.cases[0]
        lines = [f"(assert {c})" for c in _box(case, x)]
        conj = [f"(and {' '.join(_poly(p, y))})" for p in case.disjuncts if p.A.shape[0]]
        if len(conj) == len(case.disjuncts):  # an empty polytope is "true": no output constraint
            lines.append("(assert (or\n    " + "\n    ".join(conj) + "\n))")
        return lines
    disjuncts = []
    for case in prop.cases:
        box = " ".join(_box(case, x))
        for p in case.disjuncts:
            disjuncts.append(f"(and {' '.join([box, *_poly(p, y)])})")
    return ["(assert (or\n    " + "\n    ".join(disjuncts) + "\n))"]


def _outward(v: np.ndarray, up: bool) -> np.ndarray:
    """Round subnormal entries of ``v`` up (``up``) or down to 0 or +-TINY."""
    v = np.array(v, dtype=np.float64)
    sub = (v != 0) & (np.abs(v) < TINY)
    if up:
        v[sub] = np.where(v[sub] > 0, TINY, 0.0)
    else:
        v[sub] = np.where(v[sub] > 0, 0.0, -TINY)
    return v


def _polytope2(p: Polytope, k: int) -> Polytope | None:
    """``p`` in a form the official 2.0 parser reads with the same (or a larger) meaning."""
    A = np.array(p.A, dtype=np.float64)
    b = np.array(p.b, dtype=np.float64)
    m = np.abs(A).max(axis=1) if A.shape[1] else np.zeros(A.shape[0])
    if np.any((m == 0) & (b < 0)):
        return None  # a row 0 <= b < 0 never holds: the polytope is empty
    keep = m > 0
    A, b, m = A[keep], b[keep], m[keep]
    tiny = np.where(A != 0, np.abs(A), np.inf).min(axis=1) < SMALL
    small = tiny & (m < 1.0)
    if np.any(small):
        e = np.frexp(m[small])[1]  # m = f * 2**e with 0.5 <= f < 1
        A[small] = np.ldexp(A[small], (1 - e)[:, None])
        with np.errstate(over="ignore"):
            b[small] = np.ldexp(b[small], 1 - e)
        if not np.all(np.isfinite(b)):
            raise VnnlibError(
                f"case {k}: an output row is too badly scaled for VNN-LIB 2.0 "
                "(tiny coefficients with a huge bound); rescale it or write VNN-LIB 1.0"
            )
    A[(A != 0) & (np.abs(A) < TINY)] = 0.0
    return Polytope(A.reshape(-1, p.A.shape[1]), _outward(b, up=True))


def for_vnnlib2(prop: Property) -> Property:
    """The property rewritten so that the official 2.0 parser reads it (see module doc)."""
    cases = []
    for k, c in enumerate(prop.cases):
        polys = [q for q in (_polytope2(p, k) for p in c.disjuncts) if q is not None]
        if polys:
            cases.append(Case(_outward(c.lo, up=False), _outward(c.hi, up=True), polys))
    if not cases:
        raise VnnlibError(
            "every output constraint of the property is contradictory (0 <= b with b < 0): "
            "it can never be violated and VNN-LIB has no way to write that"
        )
    return Property(cases, prop.n_inputs, prop.n_outputs, dict(prop.meta))


def _comment(comment: str | None) -> list[str]:
    if not comment:
        return []
    return [f"; {line}".rstrip() for line in comment.splitlines()] + [""]


def render_vnnlib1(prop: Property, comment: str | None = None) -> str:
    """The property as VNN-LIB 1.0 text (``declare-const X_i Real`` ... ``assert``)."""
    _check(prop)
    lines = _comment(comment)
    lines += [f"(declare-const X_{i} Real)" for i in range(prop.n_inputs)]
    lines.append("")
    lines += [f"(declare-const Y_{j} Real)" for j in range(prop.n_outputs)]
    lines.append("")
    lines += _assertions(prop, _names_1("X"), _names_1("Y"))
    return "\n".join(lines) + "\n"


def _shape(shape: Sequence[int] | None, n: int, what: str) -> tuple[int, ...]:
    shp = (n,) if shape is None or len(shape) == 0 else tuple(int(d) for d in shape)
    if any(d <= 0 for d in shp) or int(np.prod(shp)) != n:
        raise VnnlibError(f"{what} shape {list(shp)} does not hold {n} elements")
    return shp


def render_vnnlib2(
    prop: Property,
    *,
    input_shape: Sequence[int] | None = None,
    output_shape: Sequence[int] | None = None,
    network_name: str = "N",
    comment: str | None = None,
) -> str:
    """The property as VNN-LIB 2.0 text: one declared network with tensors ``X`` and ``Y``.

    Elements are indexed in row-major order of the shapes (``X[0,2]``); shapes default to flat
    vectors. Numbers the official parser cannot read as written (subnormals, coefficients
    below its 1e-9 zero threshold) are rewritten soundly first: see :func:`for_vnnlib2`. The
    element type is ``real`` (the standard's choice for type-agnostic queries,
    spelled as the official parser 1.0.x type-checks it: with ``Real`` it leaves the tensors
    untyped and rejects products such as ``(* 2.0 Y[0])``).
    """
    _check(prop)
    prop = for_vnnlib2(prop)
    ishape = _shape(input_shape, prop.n_inputs, "input")
    oshape = _shape(output_shape, prop.n_outputs, "output")
    if not network_name.isidentifier():
        raise VnnlibError(f"network name {network_name!r} must be letters, digits and underscores")
    lines = _comment(comment)
    lines += [
        "(vnnlib-version <2.0>)",
        "",
        f"(declare-network {network_name}",
        f"    (declare-input X real [{','.join(map(str, ishape))}])",
        f"    (declare-output Y real [{','.join(map(str, oshape))}])",
        ")",
        "",
    ]
    lines += _assertions(prop, _names_2("X", ishape), _names_2("Y", oshape))
    return "\n".join(lines) + "\n"


def render_vnnlib(prop: Property, version: str = "1.0", **kw: object) -> str:
    """Dispatch on ``version`` ("1.0" or "2.0"); ``kw`` go to the renderer."""
    if version == "1.0":
        return render_vnnlib1(prop, comment=kw.get("comment"))  # type: ignore[arg-type]
    if version == "2.0":
        return render_vnnlib2(prop, **kw)  # type: ignore[arg-type]
    raise VnnlibError(f"unknown VNN-LIB version {version!r}; use 1.0 or 2.0")


def write_vnnlib(
    path: str | os.PathLike[str],
    prop: Property,
    version: str = "1.0",
    force: bool = False,
    **kw: object,
) -> Path:
    """Write ``prop`` atomically (gzip-compressed when ``path`` ends in ``.gz``)."""
    data = render_vnnlib(prop, version, **kw).encode("utf-8")
    p = Path(path)
    if p.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    with atomic_path(p, force=force) as tmp:
        tmp.write_bytes(data)
    return p
