"""The regression gate: what changed between a baseline run and a new one.

Instances are matched by the model's file name and the property's *content* (SHA-256 of its
text, see :attr:`~autospec_cli.verifyrun.runs.RunEntry.key`), never by path: the baseline was
run in another checkout, on another machine, maybe from a cache. When either run lacks a
property's content (a ``results.csv`` whose files are gone), all instances are matched by
file names and the diff says so. So a retrained model keeps
its instances (same name) and the diff says its content changed; an edited property is a
different instance (one removed, one added) and the diff says so.

Each matched instance falls in one class (:data:`CLASSES`):

- ``held -> violated``, ``held -> undecided``: regressions (what ``--fail-on-regression``
  fails on: anything that held and no longer holds);
- ``violated -> held``, ``violated -> undecided``, ``undecided -> held``,
  ``undecided -> violated``: other changes of verdict (``decided -> undecided`` is reported but
  is not a regression unless the instance held);
- ``same``: the same verdict (time ratio still reported).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from autospec_cli.verifyrun.runs import Run, RunEntry

HELD, VIOLATED, UNDECIDED = "held", "violated", "undecided"
CLASSES = ("held -> violated", "held -> undecided", "violated -> held",
           "violated -> undecided", "undecided -> held", "undecided -> violated", "same")
REGRESSIONS = ("held -> violated", "held -> undecided")
#: Times below this many seconds are too small for a meaningful ratio.
MIN_RATIO_TIME = 0.01
#: A time ratio above this is a slowdown worth listing.
SLOWDOWN = 1.1


def status(verdict: str) -> str:
    """``held`` (unsat), ``violated`` (sat) or ``undecided`` (anything else)."""
    return {"unsat": HELD, "sat": VIOLATED}.get(verdict, UNDECIDED)


@dataclass(frozen=True)
class Change:
    """One instance present in both runs."""

    model: str
    prop: str
    change: str
    base_verdict: str
    new_verdict: str
    base_time: float
    new_time: float
    counterexample: str | None = None

    @property
    def time_ratio(self) -> float | None:
        """new / base time; None when either is below :data:`MIN_RATIO_TIME`."""
        if self.base_time < MIN_RATIO_TIME or self.new_time < MIN_RATIO_TIME:
            return None
        return self.new_time / self.base_time

    @property
    def regression(self) -> bool:
        return self.change in REGRESSIONS

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "time_ratio": self.time_ratio, "regression": self.regression}


@dataclass(frozen=True)
class ContentChange:
    """A model or property file whose content differs under the same name."""

    kind: str  # "model" or "property"
    name: str
    base_sha256: list[str]
    new_sha256: list[str]


@dataclass
class RunDiff:
    """Everything :func:`diff_runs` found."""

    base: str
    new: str
    matched_by: str = "model name and property content"
    matched: list[Change] = field(default_factory=list)
    added: list[RunEntry] = field(default_factory=list)
    removed: list[RunEntry] = field(default_factory=list)
    content_changes: list[ContentChange] = field(default_factory=list)

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.matched if c.regression]

    @property
    def changed(self) -> list[Change]:
        return [c for c in self.matched if c.change != "same"]

    def counts(self) -> dict[str, int]:
        out = {c: 0 for c in CLASSES}
        for c in self.matched:
            out[c.change] += 1
        return out

    def slowdowns(self, n: int = 5) -> list[Change]:
        """The ``n`` matched instances whose time grew the most (ratio > :data:`SLOWDOWN`)."""
        rated = [c for c in self.matched if (c.time_ratio or 0.0) > SLOWDOWN]
        return sorted(rated, key=lambda c: -(c.time_ratio or 0.0))[:n]

    def to_dict(self) -> dict[str, Any]:
        ratios = [r for r in (c.time_ratio for c in self.matched) if r is not None]
        return {"base": self.base, "new": self.new, "matched_by": self.matched_by,
                "matched": len(self.matched),
                "counts": self.counts(), "regressions": [c.to_dict() for c in self.regressions],
                "changes": [c.to_dict() for c in self.changed],
                "added": [asdict(e) for e in self.added],
                "removed": [asdict(e) for e in self.removed],
                "content_changes": [asdict(c) for c in self.content_changes],
                "time_ratio": {"min": min(ratios), "max": max(ratios),
                               "geomean": _geomean(ratios)} if ratios else None,
                "instances": [c.to_dict() for c in self.matched]}


def _geomean(values: Sequence[float]) -> float:
    import math

    return math.exp(sum(math.log(v) for v in values) / len(values))


def _classify(base: str, new: str) -> str:
    b, n = status(base), status(new)
    return "same" if b == n else f"{b} -> {n}"


def _by_key(entries: Sequence[RunEntry], by_name: bool) -> dict[tuple[str, str], RunEntry]:
    out: dict[tuple[str, str], RunEntry] = {}
    for e in entries:
        out.setdefault(e.name_key if by_name else e.key, e)
    return out


def _content_changes(base: Sequence[RunEntry], new: Sequence[RunEntry]) -> list[ContentChange]:
    out = []
    for kind, name_of, hash_of in (("model", lambda e: e.model, lambda e: e.model_sha256),
                                   ("property", lambda e: e.prop,
                                    lambda e: e.property_sha256)):
        old: dict[str, set[str]] = defaultdict(set)
        now: dict[str, set[str]] = defaultdict(set)
        for e in base:
            if hash_of(e):
                old[name_of(e)].add(hash_of(e))
        for e in new:
            if hash_of(e):
                now[name_of(e)].add(hash_of(e))
        for name in sorted(set(old) & set(now)):
            if old[name] != now[name]:
                out.append(ContentChange(kind, name, sorted(old[name]), sorted(now[name])))
    return out


def diff_runs(base: Run, new: Run) -> RunDiff:
    """Match ``new`` against ``base`` (see the module doc)."""
    by_name = any(not e.property_sha256 for e in (*base.entries, *new.entries))
    b, n = _by_key(base.entries, by_name), _by_key(new.entries, by_name)
    out = RunDiff(base.source, new.source, matched_by="file names (a property's content is "
                  "unknown: its file was not found)" if by_name else "model name and "
                  "property content")
    for key, e in n.items():
        old = b.get(key)
        if old is None:
            out.added.append(e)
            continue
        out.matched.append(Change(e.model, e.prop, _classify(old.verdict, e.verdict),
                                  old.verdict, e.verdict, old.time, e.time, e.counterexample))
    out.removed = [e for key, e in b.items() if key not in n]
    out.content_changes = _content_changes(base.entries, new.entries)
    return out
