"""Read VNN-LIB properties into :class:`~autospec_cli.vnnlib.property.Property` cases.

VNN-LIB 1.0 is parsed here by a small, fast reader: a tokenizer, an s-expression builder
(the token list rewritten as JSON and parsed in C) and a DNF conversion. It accepts

* comments (``;`` to the end of the line) and any float syntax (``1``, ``-1.``, ``.5``,
  ``1e-3``, ``1E+3``, ``-0.0``);
* ``(declare-const X_i Real)`` / ``(declare-fun Y_j () Real)``; the numbers of inputs and
  outputs default to the declared ones (and must match ``n_inputs`` / ``n_outputs`` when those
  are given); SMT commands such as ``(check-sat)`` are ignored;
* comparisons ``<= >= < > =`` (also chained) between linear terms: variables, constants,
  ``(+ ...)``, ``(- ...)``, ``(* c e)``. Strict ``<`` and ``>`` are read as ``<=`` and ``>=``:
  the counterexample region is replaced by its closure, as VNN-COMP tools do;
* ``and`` / ``or`` nested to any depth; the conjunction of all asserts is converted to DNF.

Each DNF clause splits into input constraints (bounds on single ``X_i``: the box) and output
constraints (rows of ``A y <= b``: one polytope). Clauses with the same box become one case
whose disjuncts are their polytopes; a clause with contradictory bounds is dropped. Every
case's box must be finite. Files ending in ``.gz`` are decompressed transparently, and a
VNN-LIB 2.0 file (``vnnlib-version`` / ``declare-network``) is handed to
:mod:`autospec_cli.vnnlib.reader_v2`.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
from pathlib import Path
from typing import Union

import numpy as np

from autospec_cli.errors import VnnlibError
from autospec_cli.vnnlib.property import Case, Polytope, Property
from autospec_cli.vnnlib.reader_v2 import parse_vnnlib2

MAX_CLAUSES = 1_000_000

_COMMENT = re.compile(r";[^\n]*")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_VARNAME = re.compile(r"([XY])_(\d+)\Z")
_V2 = re.compile(r"\(\s*(?:vnnlib-version|declare-network)\b")
_IGNORED = {"check-sat", "get-model", "set-logic", "set-option", "set-info", "exit", "get-value"}
_CMP = {"<=", ">=", "<", ">", "="}

Node = Union[str, list]  # noqa: UP007 - a token or a list of nodes
Var = tuple[str, int]  # ("X", i) or ("Y", j)
Atom = tuple[tuple[tuple[int, float], ...], tuple[tuple[int, float], ...], float]  # xs, ys, rhs


def read_text(path_or_text: str | os.PathLike[str]) -> str:
    """The text of a property given as a path (``.gz`` allowed) or as the text itself."""
    if isinstance(path_or_text, str) and ("(" in path_or_text or "\n" in path_or_text):
        return path_or_text
    p = Path(path_or_text)
    if not p.is_file():
        raise VnnlibError(f"VNN-LIB file {p} does not exist")
    try:
        data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
        return data.decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise VnnlibError(f"cannot read VNN-LIB file {p}: {e}") from None


def is_vnnlib2(text: str) -> bool:
    """Does the (comment-free) text declare a VNN-LIB 2.0 query?"""
    return _V2.search(text) is not None


def read_vnnlib(
    path_or_text: str | os.PathLike[str],
    *,
    n_inputs: int | None = None,
    n_outputs: int | None = None,
) -> Property:
    """Parse a VNN-LIB 1.0 or 2.0 property (path, ``.gz`` path or text) into cases."""
    raw = read_text(path_or_text)
    text = _COMMENT.sub(" ", raw)
    try:
        if is_vnnlib2(text):
            prop = parse_vnnlib2(raw, n_inputs=n_inputs, n_outputs=n_outputs)
        else:
            prop = _Parser(text, n_inputs, n_outputs).parse()
    except VnnlibError as e:
        if isinstance(path_or_text, os.PathLike) or "(" not in str(path_or_text):
            raise VnnlibError(f"{path_or_text}: {e}") from None
        raise
    return prop


def parse_sexprs(text: str) -> list[Node]:
    """Comment-free text -> top-level s-expressions (nested lists of string tokens)."""
    tokens = text.replace("(", " ( ").replace(")", " ) ").split()  # tokens; 2x faster than a regex
    if '"' not in text and "\\" not in text:
        # Fast path: the token list as JSON, parentheses turned into brackets, parsed in C.
        flat = '["' + '","'.join(tokens) + '"]' if tokens else "[]"
        nested = flat.replace(',")"', "]").replace('"(",', "[").replace('"("]', "[]")
        try:
            forms = json.loads(nested)
        except ValueError:
            pass  # unbalanced or odd characters: the slow path says what is wrong
        else:
            if isinstance(forms, list):
                return forms
    stack: list[list[Node]] = [[]]
    for tok in tokens:
        if tok == "(":
            stack.append([])
        elif tok == ")":
            if len(stack) == 1:
                raise VnnlibError("unbalanced parentheses: unexpected ')'")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok)
    if len(stack) != 1:
        raise VnnlibError("unbalanced parentheses: missing ')' at the end of the file")
    return stack[0]


def show(node: Node, limit: int = 40) -> str:
    """An s-expression as text for error messages: short, with control and non-ASCII
    characters escaped, so a message never carries more than a glimpse of the file."""
    s = node if isinstance(node, str) else "(" + " ".join(show(n, limit) for n in node) + ")"
    s = s if len(s) <= limit else s[: limit - 3] + "..."
    return s if s.isascii() and s.isprintable() else ascii(s)[1:-1]


class _Parser:
    """One VNN-LIB 1.0 text -> Property."""

    def __init__(self, text: str, n_inputs: int | None, n_outputs: int | None) -> None:
        self.text = text
        self.want_in = n_inputs
        self.want_out = n_outputs
        self.vars: dict[str, Var | None] = {}

    # -- declarations --------------------------------------------------------------------
    def parse(self) -> Property:
        asserts: list[Node] = []
        for form in parse_sexprs(self.text):
            if not isinstance(form, list) or not form or not isinstance(form[0], str):
                raise VnnlibError(f"unexpected {show(form)} at the top level")
            head = form[0]
            if head in ("declare-const", "declare-fun"):
                self._declare(form)
            elif head == "assert":
                if len(form) != 2:
                    raise VnnlibError(f"assert takes one formula: {show(form)}")
                asserts.append(form[1])
            elif head not in _IGNORED:
                raise VnnlibError(f"unsupported command {show(form)}")
        self.n_in = self._count("X", self.want_in, "inputs")
        self.n_out = self._count("Y", self.want_out, "outputs")
        if not asserts:
            raise VnnlibError("the property has no assertions")
        return self._build(asserts)

    def _declare(self, form: list) -> None:
        ok = len(form) == 3 or (len(form) == 4 and form[2] == [])
        name = form[1] if len(form) > 1 else None
        if not ok or not isinstance(name, str) or form[-1] not in ("Real", "Int"):
            raise VnnlibError(f"malformed declaration {show(form)}")
        m = _VARNAME.match(name)
        self.vars[name] = (m.group(1), int(m.group(2))) if m else None

    def _count(self, kind: str, want: int | None, what: str) -> int:
        idx = [v[1] for v in self.vars.values() if v is not None and v[0] == kind]
        if not idx:
            return 0 if want is None else int(want)
        n = max(idx) + 1
        if want is not None and n != want:
            raise VnnlibError(f"the property declares {n} {what} ({kind}_0..{kind}_{n - 1}) "
                              f"but the model has {want}")
        return n

    # -- linear terms and atoms ----------------------------------------------------------
    def _linear(self, e: Node) -> tuple[dict[Var, float], float]:
        if isinstance(e, str):
            if e in self.vars:
                var = self.vars[e]
                if var is None:
                    raise VnnlibError(f"variable {e} is neither an input X_i nor an output Y_j")
                return {var: 1.0}, 0.0
            num = _number(e)
            if num is not None:
                return {}, num
            if _VARNAME.match(e):
                raise VnnlibError(f"variable {e} is used but not declared")
            raise VnnlibError(f"unknown symbol {e!r}")
        if not e or not isinstance(e[0], str):
            raise VnnlibError(f"malformed term {show(e)}")
        op, args = e[0], [self._linear(a) for a in e[1:]]
        if op == "+" and args:
            return _lin_sum(args, [1.0] * len(args))
        if op == "-" and len(args) == 1:
            return _lin_sum(args, [-1.0])
        if op == "-" and args:
            return _lin_sum(args, [1.0] + [-1.0] * (len(args) - 1))
        if op == "*" and args:
            coef, const, var_part = 1.0, None, None
            for c, k in args:
                if c:
                    if var_part is not None:
                        raise VnnlibError(f"non-linear term {show(e)} is not supported")
                    var_part = (c, k)
                else:
                    coef *= k
            if var_part is None:
                return {}, coef
            c, k = var_part
            const = coef * k
            return {v: coef * a for v, a in c.items()}, const
        raise VnnlibError(f"unsupported term {show(e)}")

    def _atoms(self, node: list) -> list[Atom]:
        op = node[0]
        if len(node) < 3:
            raise VnnlibError(f"comparison needs two operands: {show(node)}")
        if len(node) == 3 and op != "=" and isinstance(node[1], str) and isinstance(node[2], str):
            fast = self._simple(op, node[1], node[2])
            if fast is not None:
                return [fast]
        terms = [self._linear(a) for a in node[1:]]
        out: list[Atom] = []
        for (cl, kl), (cr, kr) in zip(terms, terms[1:], strict=False):
            if op in ("<=", "<", "="):
                out.append(_atom(cl, cr, kr - kl))
            if op in (">=", ">", "="):
                out.append(_atom(cr, cl, -(kr - kl)))  # not kl - kr: keeps the sign of a zero
        return out

    def _simple(self, op: str, left: str, right: str) -> Atom | None:
        """Fast path for ``(op var num)``, ``(op num var)`` and ``(op var var)`` (same result
        as the general path, signs of zero included)."""
        vl = self.vars.get(left)
        vr = self.vars.get(right)
        le = op in ("<=", "<")
        if vl is not None and vr is None and (v := _number(right)) is not None:
            c, rhs = (1.0, v) if le else (-1.0, -v)
            t = ((vl[1], c),)
            return (t, (), rhs) if vl[0] == "X" else ((), t, rhs)
        if vr is not None and vl is None and (v := _number(left)) is not None:
            c, rhs = (-1.0, 0.0 - v) if le else (1.0, -(0.0 - v))
            t = ((vr[1], c),)
            return (t, (), rhs) if vr[0] == "X" else ((), t, rhs)
        if vl is not None and vr is not None and vl != vr:
            cl, rhs = (1.0, 0.0) if le else (-1.0, -0.0)
            xs = tuple((v[1], c) for v, c in ((vl, cl), (vr, -cl)) if v[0] == "X")
            ys = tuple((v[1], c) for v, c in ((vl, cl), (vr, -cl)) if v[0] == "Y")
            return xs, ys, rhs
        return None

    # -- boolean structure ---------------------------------------------------------------
    def _split_and(self, children: list[Node]) -> tuple[list[Atom], list[list[list[Atom]]]]:
        base: list[Atom] = []
        others: list[list[list[Atom]]] = []
        for ch in children:
            if isinstance(ch, list) and ch and ch[0] in _CMP:
                base.extend(self._atoms(ch))
            elif isinstance(ch, list) and ch and ch[0] == "and":
                b, o = self._split_and(ch[1:])
                base.extend(b)
                others.extend(o)
            else:
                others.append(self._dnf(ch))
        return base, others

    def _dnf(self, node: Node) -> list[list[Atom]]:
        if isinstance(node, str):
            if node == "true":
                return [[]]
            if node == "false":
                return []
            raise VnnlibError(f"expected a formula, found {node!r}")
        head = node[0] if node else None
        if head in _CMP:
            return [self._atoms(node)]
        if head == "or":
            out: list[list[Atom]] = []
            for ch in node[1:]:
                out.extend(self._dnf(ch))
            return out
        if head == "and":
            base, others = self._split_and(node[1:])
            return _cross_all([[base]] + others)
        raise VnnlibError(f"unsupported formula {show(node)} (expected and/or/<=/>=/</>/=)")

    # -- cases ---------------------------------------------------------------------------
    def _build(self, asserts: list[Node]) -> Property:
        base, others = self._split_and(asserts)
        lo0 = [-math.inf] * self.n_in
        hi0 = [math.inf] * self.n_in
        rows0: list[list[float]] = []
        b0: list[float] = []
        if not self._apply(base, lo0, hi0, rows0, b0):
            raise VnnlibError("the property is unsatisfiable: its bounds contradict each other")
        clauses = _cross_all(others) if others else [[]]
        groups: dict[tuple, tuple[list[float], list[float], list[Polytope]]] = {}
        for clause in clauses:
            lo, hi, rows, b = list(lo0), list(hi0), list(rows0), list(b0)
            if not self._apply(clause, lo, hi, rows, b):
                continue
            key = (tuple(lo), tuple(hi))
            if key not in groups:
                groups[key] = (lo, hi, [])
            A = np.array(rows, dtype=np.float64).reshape(len(rows), self.n_out)
            groups[key][2].append(Polytope(A, np.array(b, dtype=np.float64)))
        if not groups:
            raise VnnlibError("the property is unsatisfiable: every disjunct has empty bounds")
        cases = []
        for lo, hi, polys in groups.values():
            self._check_bounded(lo, hi)
            cases.append(Case(np.array(lo), np.array(hi), polys))
        return Property(cases, n_inputs=self.n_in, n_outputs=self.n_out,
                        meta={"vnnlib_version": "1.0"})

    def _apply(self, atoms: list[Atom], lo: list[float], hi: list[float],
               rows: list[list[float]], b: list[float]) -> bool:
        """Add atoms to a clause's box and rows; False if the clause is infeasible."""
        for xs, ys, rhs in atoms:
            if ys:
                if xs:
                    raise VnnlibError("a constraint mixing inputs and outputs is not supported")
                row = [0.0] * self.n_out
                for j, c in ys:
                    row[j] += c
                rows.append(row)
                b.append(rhs)
            elif xs:
                if len(xs) > 1:
                    names = " ".join(f"X_{i}" for i, _ in xs)
                    raise VnnlibError(f"input constraint over {names} is not a bound on one input")
                i, c = xs[0]
                v = rhs / c
                if c > 0:
                    if v < hi[i]:
                        hi[i] = v
                elif v > lo[i]:
                    lo[i] = v
            elif not rhs >= 0.0:
                return False
        return all(lo[i] <= hi[i] for i in range(self.n_in))

    def _check_bounded(self, lo: list[float], hi: list[float]) -> None:
        for i in range(self.n_in):
            if not math.isfinite(lo[i]) or not math.isfinite(hi[i]):
                side = "lower" if not math.isfinite(lo[i]) else "upper"
                raise VnnlibError(f"input X_{i} has no {side} bound; every input must be bounded")


def _number(tok: str) -> float | None:
    """A numeric literal's value, or None (no ``inf``/``nan``/``1_0``: float() is too lenient)."""
    try:
        v = float(tok)
    except ValueError:
        return None
    if not math.isfinite(v) or "_" in tok:
        if _NUMBER.match(tok):
            raise VnnlibError(f"number {tok} is out of range")
        return None
    return v


Linear = tuple[dict[Var, float], float]  # coefficients and constant


def _lin_sum(args: list[Linear], signs: list[float]) -> Linear:
    coefs: dict[Var, float] = {}
    const = 0.0
    for (c, k), s in zip(args, signs, strict=True):
        for v, a in c.items():
            coefs[v] = coefs.get(v, 0.0) + s * a
        const += s * k
    return coefs, const


def _atom(left: dict[Var, float], right: dict[Var, float], rhs: float) -> Atom:
    """``(left - right) . v <= rhs`` as (input terms, output terms, rhs)."""
    if right:
        coefs = dict(left)
        for v, a in right.items():
            coefs[v] = coefs.get(v, 0.0) - a
    else:
        coefs = left
    xs = tuple((v[1], a) for v, a in coefs.items() if v[0] == "X" and a != 0.0)
    ys = tuple((v[1], a) for v, a in coefs.items() if v[0] == "Y")
    return xs, ys, rhs


def _cross_all(dnfs: list[list[list[Atom]]]) -> list[list[Atom]]:
    """The DNF of a conjunction of DNFs (cartesian product of their clauses)."""
    out: list[list[Atom]] = [[]]
    for d in dnfs:
        if len(d) == 1:
            out = [c + d[0] for c in out]
            continue
        if len(out) * len(d) > MAX_CLAUSES:
            raise VnnlibError(f"the property expands to more than {MAX_CLAUSES} disjuncts in DNF")
        out = [c + e for c in out for e in d]
    return out
