"""JUnit XML of a verification run, the test-report format CI systems show.

One ``<testsuite>`` per benchmark and backend, one ``<testcase>`` per instance: ``classname``
the model (file name), ``name`` the property (file name), ``time`` the run's time for it. The
outcome follows the fail policy (:meth:`~autospec_cli.verifyrun.policy.FailPolicy.
junit_outcome`): ``sat`` is a ``<failure>`` whose message names the violated property and the
counterexample file, ``error`` an ``<error>``, ``unknown``/``timeout`` ``<skipped>`` unless the
policy counts them (then failures). Written with the standard library's ElementTree.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from autospec_cli.io import atomic_write_text
from autospec_cli.verifyrun.policy import ERROR, FAILURE, SKIPPED, FailPolicy
from autospec_cli.verifyrun.runs import RunEntry


def _message(e: RunEntry, outcome: str) -> str:
    if e.verdict == "sat":
        where = (f"counterexample {e.counterexample}" if e.counterexample
                 else "no counterexample file")
        return f"property {e.prop} violated on {e.model}: {where}"
    text = f"{e.verdict} after {e.time:.2f} s"
    if e.message:
        text += f": {e.message}"
    if outcome == SKIPPED:
        text += " (not counted by the fail policy)" if e.verdict in ("sat", "error") else ""
    return text


def junit_xml(entries: Sequence[RunEntry], policy: FailPolicy | None = None,
              *, name: str = "autospec verify") -> str:
    """The JUnit XML document (a ``<testsuites>`` root) for ``entries``."""
    policy = policy or FailPolicy()
    suites: dict[tuple[str, str], list[RunEntry]] = {}
    for e in entries:
        suites.setdefault((e.benchmark, e.verifier), []).append(e)
    root = ET.Element("testsuites", name=name)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    for (bench, verifier), members in suites.items():
        suite = ET.SubElement(root, "testsuite", name=f"{bench or 'benchmark'} [{verifier}]",
                              timestamp=stamp)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        t = 0.0
        for e in members:
            outcome = policy.junit_outcome(e.verdict)
            case = ET.SubElement(suite, "testcase", classname=Path(e.model).stem or e.model,
                                 name=Path(e.prop).stem or e.prop,
                                 time=f"{e.time:.6f}")
            counts["tests"] += 1
            t += e.time
            if outcome == FAILURE:
                ET.SubElement(case, "failure", message=_message(e, outcome), type=e.verdict)
                counts["failures"] += 1
            elif outcome == ERROR:
                ET.SubElement(case, "error", message=_message(e, outcome), type=e.verdict)
                counts["errors"] += 1
            elif outcome == SKIPPED:
                ET.SubElement(case, "skipped", message=_message(e, outcome))
                counts["skipped"] += 1
            if e.counterexample:
                ET.SubElement(case, "system-out").text = f"counterexample: {e.counterexample}"
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
        suite.set("time", f"{t:.6f}")
        total_time += t
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{total_time:.6f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"


def write_junit(path: str | os.PathLike[str], entries: Sequence[RunEntry],
                policy: FailPolicy | None = None, *, force: bool = True) -> Path:
    """Write :func:`junit_xml` atomically to ``path``."""
    return atomic_write_text(path, junit_xml(entries, policy), force=force)
