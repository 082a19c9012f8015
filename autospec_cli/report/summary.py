"""A compact Markdown summary of a verification run, fit for a CI job page
(GitHub's ``$GITHUB_STEP_SUMMARY``, a merge-request note): counts per verdict, the verdict of
the fail policy, violated properties with their counterexample files, errors, the slowest
instances and, when a baseline is given, what changed against it
(:mod:`autospec_cli.verifyrun.diff`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from autospec_cli.report.tables import ReportTable
from autospec_cli.verify.base import Verdict
from autospec_cli.verifyrun.diff import RunDiff
from autospec_cli.verifyrun.policy import FailPolicy
from autospec_cli.verifyrun.runs import Run, RunEntry

#: Rows shown per table (the rest is counted, not listed: a job page is not a report).
LIMIT = 20
SLOWEST = 5


def _table(name: str, title: str, columns: list[str], rows: Sequence[Sequence[object]],
           total: int) -> str:
    t = ReportTable(name, title, columns)
    for r in rows[:LIMIT]:
        t.add(*r)
    text = t.to_markdown()
    if total > LIMIT:
        text += f"\n… and {total - LIMIT} more\n"
    return text


def _counts_line(entries: Sequence[RunEntry]) -> str:
    c = Counter(e.verdict for e in entries)
    words = {"unsat": "held", "sat": "violated"}
    parts = [f"{c[v.value]} {words.get(v.value, v.value)}" for v in Verdict if c[v.value]]
    return ", ".join(parts) or "no instances"


def diff_markdown(d: RunDiff) -> str:
    """The baseline section: counts of changes, regressions, other changes, content changes,
    instances added or removed, the largest slowdowns."""
    counts = {k: v for k, v in d.counts().items() if v and k != "same"}
    lines = ["### Against the baseline", "",
             f"{len(d.matched)} instance(s) matched by {d.matched_by}; "
             f"{len(d.regressions)} regression(s)"
             + (" (" + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")" if counts else "")
             + f"; {len(d.added)} added, {len(d.removed)} removed.", ""]
    text = "\n".join(lines)
    if d.regressions:
        text += "\n" + _table("regressions", "Regressions (held before, no longer holds)",
                              ["model", "property", "change", "now", "counterexample"],
                              [(c.model, c.prop, c.change, c.new_verdict,
                                c.counterexample or "-") for c in d.regressions],
                              len(d.regressions))
    others = [c for c in d.changed if not c.regression]
    if others:
        text += "\n" + _table("changes", "Other changes", ["model", "property", "change"],
                              [(c.model, c.prop, c.change) for c in others], len(others))
    if d.content_changes:
        text += "\n" + "\n".join(f"- {c.kind} `{c.name}` changed content (sha256 "
                                 f"{', '.join(h[:12] for h in c.base_sha256)} -> "
                                 f"{', '.join(h[:12] for h in c.new_sha256)})"
                                 for c in d.content_changes) + "\n"
    slow = d.slowdowns()
    if slow:
        text += "\n" + _table("slowdowns", "Largest slowdowns", ["model", "property",
                                                                 "before (s)", "now (s)",
                                                                 "ratio"],
                              [(c.model, c.prop, c.base_time, c.new_time, c.time_ratio)
                               for c in slow], len(slow))
    return text


def summary_markdown(run: Run, policy: FailPolicy | None = None,
                     baseline: RunDiff | None = None, *, title: str | None = None) -> str:
    """The whole summary (see the module doc)."""
    policy = policy or FailPolicy()
    entries = sorted(run.entries, key=lambda e: (e.benchmark, e.verifier, e.model, e.prop))
    verifiers = sorted({e.verifier for e in entries})
    benches = sorted({e.benchmark for e in entries if e.benchmark})
    code = policy.gate_exit_code((e.verdict for e in entries),
                                 baseline is not None and bool(baseline.regressions))
    status = {0: "passed", 1: "failed (violation or regression)",
              3: "failed (undecided)"}.get(code, str(code))
    head = title or (f"autospec verify: {', '.join(benches) or 'benchmark'} "
                     f"[{', '.join(verifiers) or '-'}]")
    total = sum(e.time for e in entries)
    parts = [f"## {head}", "",
             f"**{len(entries)} instance(s)**: {_counts_line(entries)}; {total:.2f} s in all. "
             f"Fail policy {policy.describe()}: **{status}**.", ""]
    violated = [e for e in entries if e.verdict == "sat"]
    if violated and any(e.discrete_ok is not None for e in violated):
        # discrete features: is each witness an input that can occur?
        parts.append(_table("violated", "Violated properties",
                            ["model", "property", "counterexample", "discrete", "time (s)"],
                            [(e.model, e.prop, e.counterexample or "-",
                              {True: "yes", False: "no", None: "-"}[e.discrete_ok], e.time)
                             for e in violated], len(violated)))
    elif violated:
        parts.append(_table("violated", "Violated properties",
                            ["model", "property", "counterexample", "time (s)"],
                            [(e.model, e.prop, e.counterexample or "-", e.time)
                             for e in violated], len(violated)))
    errors = [e for e in entries if e.verdict == "error"]
    if errors:
        parts.append(_table("errors", "Errors", ["model", "property", "message"],
                            [(e.model, e.prop, e.message or "-") for e in errors],
                            len(errors)))
    slowest = sorted(entries, key=lambda e: (-e.time, e.model, e.prop))[:SLOWEST]
    if slowest:
        parts.append(_table("slowest", f"Slowest {len(slowest)} instance(s)",
                            ["model", "property", "verdict", "time (s)"],
                            [(e.model, e.prop, e.verdict, e.time) for e in slowest],
                            len(slowest)))
    if baseline is not None:
        parts.append(diff_markdown(baseline))
    return "\n".join(parts).rstrip() + "\n"
