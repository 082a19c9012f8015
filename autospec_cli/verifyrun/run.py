"""A resumable verification run: a benchmark's instances as campaign jobs, results written out.

:func:`run_verification` is what ``autospec verify BENCH`` does. The results folder holds the
campaign store (``campaign.sqlite``) and its description (``campaign.json``, ``"kind":
"verify"``) beside the VNN-COMP outputs (``results.csv``, ``counterexamples/``,
``summary.json``). Running the same verification into the same folder again resumes: finished
instances are not run again and the outputs are rewritten from the store. A folder holding a
run with other settings (backend, options, benchmark, category, timeout), or VNN-COMP results
without a store, is refused unless ``force``, which discards the stored results first.

Categories and timeouts are compared as the instances have them -- the effective values,
whether they came from ``instances.csv``, the manifest or an override -- so ``--timeout 60``
on a benchmark whose rows say 60 resumes the same run as no ``--timeout`` at all. (Folders
written before this recorded the override instead and need ``force`` once.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autospec_cli.campaign.engine import CampaignSummary, read_description, run_campaign
from autospec_cli.campaign.engine import write_description as _write_description
from autospec_cli.campaign.executors import Executor
from autospec_cli.campaign.store import STORE_FILE, CampaignStore
from autospec_cli.errors import OutputExistsError
from autospec_cli.progress import ProgressFn
from autospec_cli.verify.base import Instance, Result
from autospec_cli.verify.discrete import annotate_results
from autospec_cli.verifyrun.jobs import (
    collect,
    describe_instances,
    make_jobs,
    read_expected,
)
from autospec_cli.verifyrun.results import RESULTS_CSV, ResultsPaths, write_results

KIND = "verify"
FORMAT_VERSION = 1
#: Settings that must match for a re-run to resume the stored results.
SETTINGS = ("backend", "entry", "options", "benchmark", "category", "timeout")


@dataclass
class VerifyRun:
    """What :func:`run_verification` did: results in instance order, the campaign summary."""

    instances: list[Instance]
    results: list[Result]
    campaign: CampaignSummary
    paths: ResultsPaths
    jobs: int
    grouped: bool


def _settings(label: str, entry: str, options: Mapping[str, Any], benchmark: Path | None,
              instances: Sequence[Instance]) -> dict[str, Any]:
    """The settings a resumed run must share, with category and timeout as the instances
    have them (the distinct values, sorted)."""
    doc = {"backend": label, "entry": entry, "options": dict(options),
           "benchmark": str(Path(benchmark).resolve()) if benchmark else None,
           "category": sorted({str(i.category) for i in instances}),
           "timeout": sorted({float(i.timeout) for i in instances})}
    return json.loads(json.dumps(doc, default=str))


def _check_folder(out: Path, settings: dict[str, Any], force: bool) -> None:
    if (out / STORE_FILE).exists():
        if force:
            return
        old = read_description(out) or {}
        differ = [k for k in SETTINGS if old.get(k) != settings.get(k)]
        if differ:
            raise OutputExistsError(f"{out} holds results of another verification run "
                                    f"(different {', '.join(differ)}); overwrite (force) to "
                                    "discard them or choose another output folder")
    elif (out / RESULTS_CSV).exists() and not force:
        raise OutputExistsError(f"{out / RESULTS_CSV} already exists (no campaign store to "
                                "resume); overwrite it (force) or choose another folder")


def run_verification(instances: Sequence[Instance], out_dir: str | os.PathLike[str], *,
                     entry: str, options: Mapping[str, Any], label: str | None = None,
                     root: Path | None = None, manifest: Mapping[str, Any] | None = None,
                     executor: Executor | None = None, batch: bool | None = None,
                     category: str | None = None, timeout: float | None = None,
                     force: bool = False, retry_failed: bool = False,
                     progress: ProgressFn | None = None) -> VerifyRun:
    """Verify ``instances`` with backend ``entry`` as a resumable campaign in ``out_dir``.

    ``root``: the benchmark folder (instance names and results.csv paths are relative to it);
    ``manifest``: its manifest (factor levels, known verdicts; ``BENCH/expected.csv`` is read
    too, see :func:`~autospec_cli.verifyrun.jobs.read_expected`; feature kinds, with which
    every ``sat`` witness is checked for discreteness, see :mod:`autospec_cli.verify.discrete`);
    ``category``/``timeout``: the overrides used to build ``instances`` (kept for callers; a
    re-run is compared on the instances' effective values, see the module docstring);
    ``batch``: see :func:`autospec_cli.verifyrun.jobs.make_jobs`.
    """
    out = Path(out_dir)
    label = label or entry
    settings = _settings(label, entry, options, root, instances)
    _check_folder(out, settings, force)
    infos = describe_instances(instances, root, manifest,
                               read_expected(root) if root is not None else None)
    jobs = make_jobs(entry, options, infos, batch=batch)
    out.mkdir(parents=True, exist_ok=True)
    with CampaignStore(out) as store:
        store.acquire_lock()
        if force:
            store.clear()
        _write_description(out, {"kind": KIND, "format_version": FORMAT_VERSION, **settings,
                                 "instances": len(instances), "jobs": len(jobs)})
        summary = run_campaign(store, [spec for spec, _ in jobs], executor, progress=progress,
                               retry_failed=retry_failed, description=label)
        results = collect(store, jobs, len(instances))
    # discrete features (manifest feature_kinds): is each witness an input that can occur?
    results = annotate_results(instances, results, manifest)
    paths = write_results(out, list(instances), results, backend=label, options=options,
                          root=root, force=True)
    grouped = any(spec.kind != "verify.instance" for spec, _ in jobs)
    return VerifyRun(list(instances), results, summary, paths, len(jobs), grouped)
