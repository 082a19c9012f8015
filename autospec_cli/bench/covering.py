"""Constrained mixed-level t-way covering arrays, built in-process (GDVB used NIST's ACTS jar).

A covering array CA(N; t, v1..vk) is an N x k array of level indices in which, for every set
of t columns, every combination of their levels (every *t-tuple*) appears in some row. With
exclusion constraints (:mod:`autospec_cli.bench.constraints`) no row may violate a
constraint, and only the *allowed* tuples, those that extend to some valid full row (decided
exactly, by search), must be covered.

:func:`covering_array` works in three steps:

1. Greedy construction, one row at a time (:mod:`.ca_greedy`): the best of several
   candidate rows, each seeded with an uncovered tuple and filled column by column by
   density (expected number of new tuples), constraint-aware.
2. Post-optimisation (:mod:`.ca_search`): delete the row covering fewest tuples alone, repair
   by tabu search over single-cell moves, repeat; keep the smallest complete array. Stops at
   the iteration budget, after a run of moves without progress, at the wall-clock cap, or at
   the lower bound (the most allowed tuples of any t columns).
3. Verification from scratch (:func:`verify_covering`): every allowed tuple covered, no row
   excluded, else :class:`CoveringArrayError` (a bug).

Reproducibility: all randomness comes from ``numpy.random.default_rng(seed)``, so the array
is the same for a seed whenever the search ends by its own budget rather than by the clock
(``stats["time_capped"]`` is False). Pass ``time_budget=None`` for strict reproducibility.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autospec_cli.bench.ca_greedy import greedy_array
from autospec_cli.bench.ca_search import TabuSearch, shrink
from autospec_cli.bench.ca_tuples import Coverage, TupleIndex
from autospec_cli.bench.constraints import ConstraintSet, compile_constraints
from autospec_cli.errors import ConfigError
from autospec_cli.progress import ProgressFn

DEFAULT_ITERATIONS = 20_000
DEFAULT_CANDIDATES = 24
TABU_TENURE = 3
VERIFY_MARGIN = 0.95

LevelsLike = Sequence[int] | Mapping[str, int]
ConstraintsLike = Iterable[str] | ConstraintSet


class CoveringArrayError(RuntimeError):
    """Internal error: a constructed array failed its own verification (a bug; please report)."""


@dataclass(frozen=True)
class CoveringArray:
    """A verified covering array: ``rows[i, j]`` is the level index of factor ``factors[j]``.

    ``stats`` holds rows, time_s, uncovered (0), violating_rows (0), allowed_tuples,
    total_tuples, lower_bound, greedy_rows, greedy_time_s, iterations and time_capped.
    """

    rows: np.ndarray
    factors: tuple[str, ...]
    levels: tuple[int, ...]
    t: int
    seed: int
    constraints: tuple[str, ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)
    values: dict[str, tuple[Any, ...]] | None = None  # level values of every factor, if known

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def records(self) -> list[dict[str, int]]:
        """The rows as ``{factor: level index}`` dicts."""
        return [dict(zip(self.factors, map(int, r), strict=True)) for r in self.rows]

    def value_records(self) -> list[dict[str, Any]]:
        """The rows as ``{factor: level value}`` dicts (ConfigError without level values)."""
        if self.values is None:
            raise ConfigError("this covering array has no level values; pass values=")
        return [dict(zip(self.factors, _row_values(self, r, self.values), strict=True))
                for r in self.rows]


@dataclass(frozen=True)
class CoverageReport:
    """What :func:`verify_covering` found."""

    uncovered: list[tuple[tuple[int, ...], tuple[int, ...]]]  # (columns, levels) pairs
    violating_rows: list[int]  # excluded by a constraint or holding an out-of-range level
    allowed_tuples: int
    total_tuples: int

    @property
    def ok(self) -> bool:
        return not self.uncovered and not self.violating_rows


def _factors(levels: LevelsLike) -> tuple[tuple[str, ...], tuple[int, ...]]:
    if isinstance(levels, Mapping):
        names, counts = tuple(str(n) for n in levels), tuple(levels.values())
    else:
        counts = tuple(levels)
        names = tuple(f"f{i}" for i in range(len(counts)))
    if not counts:
        raise ConfigError("a covering array needs at least one factor")
    for name, n in zip(names, counts, strict=True):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"factor {name!r}: the number of levels must be an integer >= 1")
    return names, tuple(int(n) for n in counts)


def _strength(t: int, k: int) -> int:
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 1 <= t <= k:
        raise ConfigError(f"strength t must be an integer from 1 to the {k} factors, got {t!r}")
    return int(t)


def covering_array(
    levels: LevelsLike,
    t: int = 2,
    constraints: ConstraintsLike = (),
    seed: int = 0,
    *,
    time_budget: float | None = 2.0,
    iterations: int | None = None,
    n_candidates: int = DEFAULT_CANDIDATES,
    values: Mapping[str, Sequence[float]] | None = None,
    progress: ProgressFn | None = None,
) -> CoveringArray:
    """Build a verified t-way covering array of ``levels`` that respects ``constraints``.

    ``levels``: level counts (factors named f0, f1, ...) or ``{name: count}`` in column order.
    ``constraints``: exclusion expressions over the factor names, evaluated on LEVEL INDICES
    (or on ``values[name]`` where given), or a compiled ConstraintSet. ``time_budget``: wall
    clock cap in seconds on the whole construction (the search stops at 95 % of it; None: no
    cap; the greedy array is always finished, even past the cap). ``iterations``: tabu moves
    allowed (default: up to DEFAULT_ITERATIONS, ending earlier after max(2000, allowed tuples)
    moves without progress). ``values``: level values per factor for the constraints; when every
    factor has them they are kept in ``CoveringArray.values``. Raises ConfigError for bad
    levels, t or constraints, including constraints that exclude every row.
    """
    start = time.perf_counter()
    names, counts = _factors(levels)
    t = _strength(t, len(counts))
    cs = compile_constraints(names, counts, constraints, values)
    rng = np.random.default_rng(seed)
    ix = TupleIndex(counts, t, cs)
    greedy = greedy_array(ix, cs, rng, max(1, int(n_candidates)), progress)
    greedy_time = time.perf_counter() - start
    if iterations is None:
        iterations, stall = DEFAULT_ITERATIONS, max(2_000, int(ix.allowed.sum()))
    else:
        stall = iterations = max(0, int(iterations))
    # The search stops at 95 % of the budget, leaving the rest for verification.
    deadline = None if time_budget is None else start + VERIFY_MARGIN * float(time_budget)
    search = TabuSearch(Coverage(ix, greedy), cs, rng, tenure=TABU_TENURE)
    rows, capped = shrink(search, ix.lower_bound, iterations, stall, deadline, progress)
    if progress is not None:
        progress("covering array: shrinking", search.it, search.it)
    report = verify_covering(rows, dict(zip(names, counts, strict=True)), t, cs)
    if not report.ok:
        raise CoveringArrayError(
            f"internal error: covering array failed verification ({len(report.uncovered)} "
            f"uncovered tuples, {len(report.violating_rows)} excluded rows); please report it"
        )
    stats = {
        "rows": int(len(rows)),
        "time_s": round(time.perf_counter() - start, 4),
        "uncovered": 0,
        "violating_rows": 0,
        "allowed_tuples": report.allowed_tuples,
        "total_tuples": report.total_tuples,
        "lower_bound": ix.lower_bound,
        "greedy_rows": int(len(greedy)),
        "greedy_time_s": round(greedy_time, 4),
        "iterations": search.it,
        "time_capped": capped,
    }
    known = None
    if values is not None and set(values) >= set(names):
        known = {n: tuple(_plain(v) for v in values[n]) for n in names}
    return CoveringArray(rows, names, counts, t, int(seed), cs.sources, stats, known)


def verify_covering(
    rows: np.ndarray | Sequence[Sequence[int]],
    levels: LevelsLike,
    t: int,
    constraints: ConstraintsLike = (),
    values: Mapping[str, Sequence[float]] | None = None,
) -> CoverageReport:
    """Check an array from scratch, independently of how it was built: every allowed t-tuple
    that no valid row covers (as columns and levels), and every row that a constraint
    excludes or that holds an out-of-range level."""
    names, counts = _factors(levels)
    t = _strength(t, len(counts))
    cs = compile_constraints(names, counts, constraints, values)
    arr = np.asarray(rows, dtype=np.int64).reshape(-1, len(counts))
    in_range = ((arr >= 0) & (arr < np.asarray(counts))).all(axis=1)
    bad = np.logical_not(in_range)
    bad[in_range] = cs.excluded(arr[in_range])
    good = arr[~bad]
    uncovered: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    n_allowed = n_total = 0
    for cols in itertools.combinations(range(len(counts)), t):
        allowed = cs.allowed_mask(cols)
        covered = np.zeros(allowed.shape, dtype=bool)
        covered[tuple(good[:, c] for c in cols)] = True
        n_allowed += int(allowed.sum())
        n_total += math.prod(allowed.shape)
        uncovered += [(cols, tuple(map(int, v))) for v in np.argwhere(allowed & ~covered)]
    return CoverageReport(uncovered, np.flatnonzero(bad).tolist(), n_allowed, n_total)


# ---- rendering --------------------------------------------------------------------------------


def array_to_json(
    ca: CoveringArray, level_values: Mapping[str, Sequence[Any]] | None = None
) -> dict[str, Any]:
    """A JSON-ready dict: factors, levels, t, seed, constraints, stats and rows (level indices),
    plus ``values`` rows when ``level_values`` maps every factor to its level values."""
    out: dict[str, Any] = {
        "factors": list(ca.factors),
        "levels": list(ca.levels),
        "t": ca.t,
        "seed": ca.seed,
        "constraints": list(ca.constraints),
        "stats": dict(ca.stats),
        "rows": ca.rows.astype(int).tolist(),
    }
    level_values = ca.values if level_values is None else level_values
    if level_values is not None:
        out["level_values"] = {f: list(level_values[f]) for f in ca.factors if f in level_values}
        out["values"] = [_row_values(ca, r, level_values) for r in ca.rows]
    return out


def _row_values(ca: CoveringArray, row: np.ndarray, level_values: Mapping[str, Sequence[Any]]):
    missing = [f for f in ca.factors if f not in level_values]
    if missing:
        raise ConfigError(f"no level values for factors: {', '.join(missing)}")
    return [_plain(level_values[f][int(i)]) for f, i in zip(ca.factors, row, strict=True)]


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def format_table(
    ca: CoveringArray, level_values: Mapping[str, Sequence[Any]] | None = None
) -> str:
    """A plain-text table, one line per row: a row number and each factor's level index (or
    its value from ``level_values``), columns aligned under the factor names."""
    level_values = ca.values if level_values is None else level_values
    header = ["#", *ca.factors]
    body = [
        [str(i), *map(str, _row_values(ca, r, level_values) if level_values else r.tolist())]
        for i, r in enumerate(ca.rows)
    ]
    widths = [max(len(line[c]) for line in [header, *body]) for c in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True))
             for line in [header, *body]]
    return "\n".join(lines)


def format_json(ca: CoveringArray, level_values: Mapping[str, Sequence[Any]] | None = None) -> str:
    """:func:`array_to_json` as a JSON string."""
    return json.dumps(array_to_json(ca, level_values), indent=2)
