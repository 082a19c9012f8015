"""Experiment designs over categorical and numeric factors: full factorial and Latin hypercube.

A :class:`Factor` is categorical (a list of ``levels``) or numeric (a range ``[low, high]``,
``int``, ``float`` or ``log`` scaled). A :class:`Design` is a list of runs, each a dict
``{factor name: level}``, plus how it was made, so any campaign can turn runs into jobs.

- :func:`full_factorial`: every combination, in lexicographic order (the first factor varies
  slowest). Numeric factors need ``levels`` (or ``n_levels`` evenly spaced values).
- :func:`latin_hypercube`: ``n`` runs; every numeric factor's range is cut into ``n`` equal
  strata and each stratum is used exactly once (a point drawn inside it, or its midpoint with
  ``centered=True``); a categorical factor with ``k`` levels gets each level
  ``floor(n/k)`` or ``ceil(n/k)`` times (stratified the same way over ``[0, 1)``). The strata
  of different factors are paired by independent random permutations. Deterministic for a
  ``seed`` (numpy's PCG64).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autospec_cli.errors import ConfigError

SCALES: tuple[str, ...] = ("categorical", "int", "float", "log")
Level = Any


@dataclass(frozen=True)
class Factor:
    """One factor: categorical ``levels`` or a numeric range ``[low, high]`` on a ``scale``."""

    name: str
    levels: tuple[Level, ...] = ()
    low: float | None = None
    high: float | None = None
    scale: str = "categorical"

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("a factor needs a name")
        object.__setattr__(self, "levels", tuple(self.levels))
        if self.scale not in SCALES:
            raise ConfigError(f"factor {self.name}: unknown scale {self.scale!r}; use one of "
                              f"{', '.join(SCALES)}")
        if self.scale == "categorical":
            if not self.levels:
                raise ConfigError(f"factor {self.name}: give at least one level")
            if len(set(map(repr, self.levels))) != len(self.levels):
                raise ConfigError(f"factor {self.name}: levels repeat")
            return
        if self.low is None or self.high is None or not self.low <= self.high:
            raise ConfigError(f"factor {self.name}: a numeric factor needs low <= high")
        if self.scale == "log" and self.low <= 0:
            raise ConfigError(f"factor {self.name}: a log-scaled factor needs low > 0")

    @classmethod
    def categorical(cls, name: str, levels: Sequence[Level]) -> Factor:
        return cls(name, tuple(levels))

    @classmethod
    def numeric(cls, name: str, low: float, high: float, scale: str = "float",
                levels: Sequence[float] = ()) -> Factor:
        """A numeric range; ``levels`` (optional) are the values a factorial design uses."""
        if scale == "categorical":
            raise ConfigError(f"factor {name}: a numeric factor needs scale int, float or log")
        return cls(name, tuple(levels), float(low), float(high), scale)

    @property
    def is_numeric(self) -> bool:
        return self.scale != "categorical"

    def grid(self, n_levels: int | None = None) -> tuple[Level, ...]:
        """The levels a factorial design uses: the categorical levels, the numeric factor's
        explicit ``levels``, or ``n_levels`` evenly spaced values over its range."""
        if not self.is_numeric or self.levels:
            return self.levels
        if not n_levels or n_levels < 1:
            raise ConfigError(f"factor {self.name}: a numeric factor in a factorial design needs "
                              "levels or n_levels")
        u = np.linspace(0.0, 1.0, n_levels) if n_levels > 1 else np.array([0.5])
        return tuple(dict.fromkeys(self.value(float(v)) for v in u))

    def value(self, u: float) -> Level:
        """The level at quantile ``u`` in ``[0, 1]`` (``[0, 1)`` for categorical factors)."""
        if not self.is_numeric:
            k = len(self.levels)
            return self.levels[min(k - 1, int(math.floor(u * k)))]
        assert self.low is not None and self.high is not None
        if self.scale == "log":
            lo, hi = math.log(self.low), math.log(self.high)
            return float(math.exp(lo + u * (hi - lo)))
        x = self.low + u * (self.high - self.low)
        if self.scale == "int":
            lo, hi = int(math.ceil(self.low)), int(math.floor(self.high))
            return int(min(hi, max(lo, math.floor(self.low + u * (self.high - self.low + 1)))))
        return float(x)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "scale": self.scale}
        if self.levels:
            d["levels"] = list(self.levels)
        if self.is_numeric:
            d.update(low=self.low, high=self.high)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Factor:
        scale = d.get("scale", "categorical")
        if scale == "categorical":
            return cls(str(d["name"]), tuple(d.get("levels", ())))
        return cls.numeric(str(d["name"]), d["low"], d["high"], scale, d.get("levels", ()))


@dataclass
class Design:
    """Runs of an experiment: ``runs[i]`` maps every factor name to its level."""

    factors: list[Factor]
    runs: list[dict[str, Level]]
    method: str
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self) -> Iterator[dict[str, Level]]:
        return iter(self.runs)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.factors]

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "seed": self.seed, "params": dict(self.params),
                "factors": [f.to_dict() for f in self.factors],
                "runs": [dict(r) for r in self.runs]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Design:
        return cls([Factor.from_dict(f) for f in d["factors"]], [dict(r) for r in d["runs"]],
                   str(d["method"]), d.get("seed"), dict(d.get("params", {})))


def _check_names(factors: Sequence[Factor]) -> None:
    if not factors:
        raise ConfigError("a design needs at least one factor")
    names = [f.name for f in factors]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"factor names repeat: {', '.join(dup)}")


def full_factorial(factors: Sequence[Factor], *, n_levels: int | None = None) -> Design:
    """Every combination of the factors' levels (first factor slowest)."""
    _check_names(factors)
    grids = [f.grid(n_levels) for f in factors]
    runs = [dict(zip((f.name for f in factors), combo, strict=True))
            for combo in itertools.product(*grids)]
    return Design(list(factors), runs, "factorial", None, {"n_levels": n_levels})


def lhs_unit(n: int, d: int, seed: int, *, centered: bool = False) -> np.ndarray:
    """An ``(n, d)`` Latin hypercube in ``[0, 1)``: column j has one point in each
    ``[i/n, (i+1)/n)``."""
    if n < 1 or d < 1:
        raise ConfigError(f"a Latin hypercube needs n >= 1 runs and d >= 1 factors (got {n}, {d})")
    rng = np.random.default_rng(seed)
    offsets = np.full((n, d), 0.5) if centered else rng.random((n, d))
    strata = np.column_stack([rng.permutation(n) for _ in range(d)])
    return (strata + offsets) / n


def latin_hypercube(factors: Sequence[Factor], n: int, *, seed: int = 0,
                    centered: bool = False) -> Design:
    """``n`` runs, stratified in every factor (see the module docstring)."""
    _check_names(factors)
    U = lhs_unit(n, len(factors), seed, centered=centered)
    for j, f in enumerate(factors):
        if not f.is_numeric:  # stratum midpoints: each level floor(n/k) or ceil(n/k) times
            U[:, j] = (np.floor(U[:, j] * n) + 0.5) / n
    runs = [{f.name: f.value(float(U[i, j])) for j, f in enumerate(factors)} for i in range(n)]
    return Design(list(factors), runs, "lhs", seed, {"n": n, "centered": centered})


def make_design(factors: Sequence[Factor], method: str = "factorial", *, n: int | None = None,
                seed: int = 0, n_levels: int | None = None) -> Design:
    """A design by name: ``factorial`` (or ``full``) or ``lhs`` (needs ``n``)."""
    key = method.lower()
    if key in ("factorial", "full", "full-factorial"):
        return full_factorial(factors, n_levels=n_levels)
    if key in ("lhs", "latin-hypercube", "latin_hypercube"):
        if n is None:
            raise ConfigError("a Latin hypercube design needs the number of runs (samples)")
        return latin_hypercube(factors, int(n), seed=seed)
    raise ConfigError(f"unknown design {method!r}; use factorial or lhs")


__all__ = ["Design", "Factor", "full_factorial", "latin_hypercube", "lhs_unit", "make_design"]
