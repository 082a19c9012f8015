"""Exclusion constraints over covering-array factors, parsed safely from user configs.

A constraint is a boolean expression over factor names that says which rows to EXCLUDE, e.g.
``fc == 0 and conv == 0`` or ``fc == 2 and conv == 0 and idm == 0 and not (neu < 4)``. A row is
valid when no constraint is true for it. Names stand for LEVEL INDICES (0 .. n_levels-1) unless
``values`` maps a factor to its level values, in which case the name stands for the value.

Expressions are parsed with :mod:`ast` and checked against a whitelist: factor names, int/float
constants (with unary minus), comparisons ``== != < <= > >=`` (chains too), ``in`` / ``not in``
a tuple or list of constants, ``and`` / ``or`` / ``not`` and parentheses. Nothing is ever
passed to ``eval``: each expression is compiled into small closures, one that evaluates whole
numpy columns (many rows at once) and one that evaluates a PARTIAL row in three-valued logic
(True, False or unknown), reasoning over the domain of unassigned factors (``neu < 9`` is
already true when ``neu`` has 5 levels).

Exact extension check: a partial assignment (for instance a t-tuple) is *extendable* when some
full row containing it violates no constraint. :meth:`ConstraintSet.extendable` decides it by
depth-first search over the factors that occur in constraints (the others never matter),
pruning a branch as soon as a constraint is definitely true and stopping as soon as all are
definitely false; results are memoised on the assignment of those factors. With <= ~10
constrained factors of <= ~10 levels the number of distinct states stays small (thousands), so
computing every allowed t-tuple takes milliseconds.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autospec_cli.errors import ConfigError

MAX_EXPRESSION_CHARS = 2000

VecFn = Callable[[Sequence[np.ndarray]], np.ndarray]
PartFn = Callable[[Sequence[int]], "bool | None"]

_CMP: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
}
_HINT = "use factor names, numbers, == != < <= > >= in, and/or/not and parentheses"


@dataclass(frozen=True)
class Constraint:
    """One compiled exclusion constraint."""

    source: str
    factors: tuple[int, ...]  # indices of the factors it mentions
    vector: VecFn = field(repr=False, compare=False)
    partial: PartFn = field(repr=False, compare=False)


class _Compiler:
    """Turns a whitelisted expression AST into a vector and a three-valued closure."""

    def __init__(self, source: str, names: Sequence[str], domains: Sequence[np.ndarray]):
        self.source = source
        self.index = {n: i for i, n in enumerate(names)}
        self.domains = domains
        self.used: set[int] = set()

    def fail(self, what: str) -> ConfigError:
        return ConfigError(f"constraint {self.source!r}: {what}; {_HINT}")

    # ---- operands: a factor (column) or a constant -------------------------------------------
    def operand(self, node: ast.AST) -> tuple[int | None, float | None]:
        if isinstance(node, ast.Name):
            if node.id not in self.index:
                known = ", ".join(self.index) or "none"
                raise ConfigError(
                    f"constraint {self.source!r}: unknown factor {node.id!r} (factors: {known})"
                )
            col = self.index[node.id]
            self.used.add(col)
            return col, None
        return None, self.constant(node)

    def constant(self, node: ast.AST) -> float:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = self.constant(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value
            raise self.fail(f"constant {value!r} is not a number")
        raise self.fail(f"{type(node).__name__} is not allowed here")

    def constants(self, node: ast.AST) -> list[float]:
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [self.constant(e) for e in node.elts]
        raise self.fail("the right side of 'in' must be a tuple of numbers")

    # ---- boolean structure --------------------------------------------------------------------
    def compile(self, node: ast.AST) -> tuple[VecFn, PartFn]:
        if isinstance(node, ast.BoolOp):
            parts = [self.compile(v) for v in node.values]
            return (_vec_and if isinstance(node.op, ast.And) else _vec_or)(parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            vec, part = self.compile(node.operand)
            return (lambda cols: ~vec(cols)), (lambda a: None if (r := part(a)) is None else not r)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Name):
            raise self.fail(f"bare name {node.id!r} is not a condition (compare it, e.g. == 0)")
        raise self.fail(f"{type(node).__name__} is not allowed")

    def compare(self, node: ast.Compare) -> tuple[VecFn, PartFn]:
        pieces = []
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                pieces.append(self.membership(left, right, isinstance(op, ast.NotIn)))
            elif type(op) in _CMP:
                pieces.append(self.binary(type(op), left, right))
            else:
                raise self.fail(f"operator {type(op).__name__} is not allowed")
            left = right
        return pieces[0] if len(pieces) == 1 else _vec_and(pieces)

    def binary(self, op: type[ast.cmpop], left: ast.AST, right: ast.AST) -> tuple[VecFn, PartFn]:
        (lc, lv), (rc, rv) = self.operand(left), self.operand(right)
        fn = _CMP[op]
        doms = self.domains

        def value(cols: Sequence[np.ndarray], c: int | None, v: float | None) -> object:
            return cols[c] if c is not None else v

        def vec(cols: Sequence[np.ndarray]) -> np.ndarray:
            return np.asarray(fn(value(cols, lc, lv), value(cols, rc, rv)), dtype=bool)

        def dom(a: Sequence[int], c: int | None, v: float | None) -> np.ndarray:
            if c is None:
                return np.asarray([v])
            return doms[c] if a[c] < 0 else doms[c][a[c] : a[c] + 1]

        def part(a: Sequence[int]) -> bool | None:
            x, y = dom(a, lc, lv), dom(a, rc, rv)
            res = fn(x[:, None], y[None, :])
            return True if res.all() else False if not res.any() else None

        return vec, part

    def membership(self, left: ast.AST, right: ast.AST, negate: bool) -> tuple[VecFn, PartFn]:
        col, const = self.operand(left)
        options = np.asarray(self.constants(right), dtype=float)
        doms = self.domains

        def vec(cols: Sequence[np.ndarray]) -> np.ndarray:
            x = cols[col] if col is not None else np.asarray(const)
            return np.isin(x, options) != negate

        def part(a: Sequence[int]) -> bool | None:
            if col is None:
                x = np.asarray([const])
            else:
                x = doms[col] if a[col] < 0 else doms[col][a[col] : a[col] + 1]
            res = np.isin(x, options) != negate
            return True if res.all() else False if not res.any() else None

        return vec, part


def _vec_and(parts: list[tuple[VecFn, PartFn]]) -> tuple[VecFn, PartFn]:
    def vec(cols: Sequence[np.ndarray]) -> np.ndarray:
        out = parts[0][0](cols)
        for p in parts[1:]:
            out = out & p[0](cols)
        return out

    def part(a: Sequence[int]) -> bool | None:
        unknown = False
        for p in parts:
            r = p[1](a)
            if r is False:
                return False
            unknown |= r is None
        return None if unknown else True

    return vec, part


def _vec_or(parts: list[tuple[VecFn, PartFn]]) -> tuple[VecFn, PartFn]:
    def vec(cols: Sequence[np.ndarray]) -> np.ndarray:
        out = parts[0][0](cols)
        for p in parts[1:]:
            out = out | p[0](cols)
        return out

    def part(a: Sequence[int]) -> bool | None:
        unknown = False
        for p in parts:
            r = p[1](a)
            if r is True:
                return True
            unknown |= r is None
        return None if unknown else False

    return vec, part


def parse_constraint(
    source: str, names: Sequence[str], domains: Sequence[np.ndarray]
) -> Constraint:
    """Parse and compile one exclusion expression; raise ConfigError on anything not allowed."""
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"constraint {source!r}: expected a non-empty expression string")
    if len(source) > MAX_EXPRESSION_CHARS:
        raise ConfigError(f"constraint is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        hint = " (use == for equality)" if "=" in source else ""
        raise ConfigError(f"constraint {source!r}: syntax error: {exc.msg}{hint}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ConfigError(f"constraint {source!r}: cannot be parsed") from None
    comp = _Compiler(source, names, domains)
    vec, part = comp.compile(tree.body)
    return Constraint(source, tuple(sorted(comp.used)), vec, part)


class ConstraintSet:
    """Compiled exclusion constraints over named factors, with an exact extension oracle.

    ``levels[i]`` is the number of levels of factor ``names[i]``. Constraint names refer to
    level indices unless ``values[name]`` gives that factor's level values.
    """

    def __init__(
        self,
        names: Sequence[str],
        levels: Sequence[int],
        expressions: Iterable[str] = (),
        values: Mapping[str, Sequence[float]] | None = None,
    ):
        self.names = tuple(names)
        self.levels = tuple(int(n) for n in levels)
        self.domains = _domains(self.names, self.levels, values or {})
        self.constraints = tuple(parse_constraint(e, self.names, self.domains) for e in expressions)
        used = sorted({c for con in self.constraints for c in con.factors})
        freq = {c: sum(c in con.factors for con in self.constraints) for c in used}
        # Factors that matter, most constrained first: the search order of extendable().
        self.constrained = tuple(sorted(used, key=lambda c: (-freq[c], c)))
        self._memo: dict[tuple[int, ...], bool] = {}

    def __len__(self) -> int:
        return len(self.constraints)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(c.source for c in self.constraints)

    def excluded(self, rows: np.ndarray) -> np.ndarray:
        """Boolean (n,) array: which full rows (n, k) of level indices some constraint excludes."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, len(self.names))
        out = np.zeros(len(rows), dtype=bool)
        if not self.constraints:
            return out
        cols = [self.domains[j][rows[:, j]] for j in range(len(self.names))]
        for con in self.constraints:
            out |= con.vector(cols)
        return out

    def violated_by(self, row: Sequence[int]) -> list[str]:
        """The sources of the constraints that exclude one full row."""
        arr = np.asarray(row, dtype=np.int64).reshape(1, -1)
        cols = [self.domains[j][arr[:, j]] for j in range(len(self.names))]
        return [c.source for c in self.constraints if bool(c.vector(cols)[0])]

    def status(self, assign: Sequence[int]) -> bool | None:
        """Three-valued: True if some constraint surely excludes every completion of the partial
        row ``assign`` (-1 = unassigned), False if none can, None if undecided."""
        unknown = False
        for con in self.constraints:
            r = con.partial(assign)
            if r is True:
                return True
            unknown |= r is None
        return None if unknown else False

    def extendable(self, assign: Sequence[int]) -> bool:
        """Whether the partial row ``assign`` (-1 = unassigned) has a valid completion."""
        a = list(assign)
        key = tuple(a[c] for c in self.constrained)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._search(a)
            self._memo[key] = hit
        return hit

    def _search(self, a: list[int]) -> bool:
        s = self.status(a)
        if s is not None:
            return not s
        col = next(c for c in self.constrained if a[c] < 0)
        for v in range(self.levels[col]):
            a[col] = v
            if self.extendable(a):
                a[col] = -1
                return True
        a[col] = -1
        return False

    def complete(self, assign: Sequence[int], prefer: Sequence[int] | None = None) -> list[int]:
        """A valid full row extending ``assign``; free cells take ``prefer`` values (or 0) when
        that keeps the row extendable. Raises ConfigError if ``assign`` is not extendable."""
        a = list(assign)
        if not self.extendable(a):
            raise ConfigError(f"no valid row extends {a}")
        for col in range(len(a)):
            if a[col] >= 0:
                continue
            first = prefer[col] if prefer is not None and prefer[col] >= 0 else 0
            order = [first] + [v for v in range(self.levels[col]) if v != first]
            for v in order:
                a[col] = v
                if col not in self.constrained or self.extendable(a):
                    break
        return a

    def allowed_mask(self, cols: Sequence[int]) -> np.ndarray:
        """Boolean mask over the tuples of columns ``cols`` (C order, shape = their levels):
        True where the tuple extends to a valid full row."""
        shape = tuple(self.levels[c] for c in cols)
        mask = np.ones(shape, dtype=bool)
        if not self.constraints:
            return mask
        inner = [i for i, c in enumerate(cols) if c in self.constrained]
        if not inner:
            # No constraint mentions these columns: allowed iff any valid row exists.
            mask[...] = self.extendable([-1] * len(self.names))
            return mask
        sub = np.ones(tuple(shape[i] for i in inner), dtype=bool)
        a = [-1] * len(self.names)
        for vals in itertools.product(*(range(shape[i]) for i in inner)):
            for i, v in zip(inner, vals, strict=True):
                a[cols[i]] = v
            sub[vals] = self.extendable(a)
        expand = [slice(None) if i in inner else None for i in range(len(cols))]
        return np.broadcast_to(sub[tuple(expand)], shape).copy()


def _domains(
    names: Sequence[str], levels: Sequence[int], values: Mapping[str, Sequence[float]]
) -> list[np.ndarray]:
    unknown = set(values) - set(names)
    if unknown:
        raise ConfigError(f"level values given for unknown factors: {', '.join(sorted(unknown))}")
    out = []
    for name, n in zip(names, levels, strict=True):
        if name in values:
            vals = np.asarray(values[name], dtype=float)
            if vals.shape != (n,):
                raise ConfigError(f"factor {name!r}: {n} levels but {vals.size} level values")
            out.append(vals)
        else:
            out.append(np.arange(n, dtype=np.int64))
    return out


def compile_constraints(
    names: Sequence[str],
    levels: Sequence[int],
    expressions: Iterable[str] | ConstraintSet = (),
    values: Mapping[str, Sequence[float]] | None = None,
) -> ConstraintSet:
    """Build a ConstraintSet (or check that a given one matches ``names``/``levels``); raise
    ConfigError if the constraints exclude every row."""
    if isinstance(expressions, ConstraintSet):
        cs = expressions
        if cs.names != tuple(names) or cs.levels != tuple(int(n) for n in levels):
            raise ConfigError("the constraint set was compiled for different factors or levels")
    else:
        if isinstance(expressions, str):
            expressions = [expressions]
        cs = ConstraintSet(names, levels, list(expressions), values)
    if not cs.extendable([-1] * len(cs.names)):
        raise ConfigError("the constraints exclude every row; relax at least one of them")
    return cs
