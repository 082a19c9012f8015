"""``autospec bench run``: verify a generated GDVB benchmark with several verifiers.

Every (verifier, instance) pair is one campaign job
(``autospec_cli.bench.distill_jobs:verify_problem``) in the benchmark's own campaign store, so runs are
parallel (local workers or Dask) and resumable; results are scored with
:func:`autospec_cli.verifyrun.scoring.score` (SCR, PAR2, per factor level).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from autospec_cli.bench.distill_jobs import VERIFY_KIND
from autospec_cli.bench.generate import BENCH_DIR, GDVB_KIND
from autospec_cli.errors import ConfigError, InputError
from autospec_cli.progress import ProgressFn

#: Seconds a verification job may run past its instance timeout before the worker is killed.
KILL_GRACE = 30.0


def read_gdvb(campaign_dir: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The campaign description and benchmark manifest of a generated GDVB folder."""
    from autospec_cli.campaign.engine import read_description
    from autospec_cli.vnnlib.benchmark import read_manifest

    folder = Path(campaign_dir)
    desc = read_description(folder)
    if desc is None or desc.get("kind") != GDVB_KIND:
        raise InputError(f"{folder} is not a GDVB benchmark folder (no campaign.json of kind "
                         "gdvb); create one with `autospec bench generate CONFIG -o DIR`")
    manifest = read_manifest(folder / desc.get("benchmark", BENCH_DIR))
    if manifest is None or not manifest.get("instances"):
        raise InputError(f"{folder} has no generated benchmark yet; run `autospec bench "
                         "generate` to finish it")
    return desc, manifest


def verify_jobs(campaign_dir: Path, manifest: dict[str, Any], verifiers: list[str], *,
                timeout: float | None = None, tools_file: str | None = None,
                options: dict[str, dict[str, Any]] | None = None) -> list[Any]:
    """One job per verifier and instance (``external:NAME`` resolved from the tools file)."""
    from autospec_cli.campaign.jobs import JobSpec
    from autospec_cli.verify.registry import resolve_backend

    if not verifiers:
        raise ConfigError("no verifiers given; use --verifiers lirpa,bab,attack,external:NAME")
    bench = campaign_dir / BENCH_DIR
    jobs = []
    for name in verifiers:
        spec = resolve_backend(name, (options or {}).get(name), tools_file=tools_file)
        for inst in manifest["instances"]:
            t = float(timeout if timeout is not None else inst["timeout"])
            jobs.append(JobSpec(VERIFY_KIND, {
                "verifier": name, "entry": spec.entry, "options": spec.options,
                "instance": inst["id"], "onnx": str((bench / inst["onnx"]).resolve()),
                "vnnlib": str((bench / inst["vnnlib"]).resolve()), "timeout": t,
            }, timeout=t + KILL_GRACE))
    return jobs


def run(campaign_dir: str | os.PathLike[str], verifiers: list[str], *, executor: Any = None,
        timeout: float | None = None, tools_file: str | None = None,
        options: dict[str, dict[str, Any]] | None = None, retry_failed: bool = False,
        progress: ProgressFn | None = None) -> dict[str, Any]:
    """Verify every instance with every verifier; returns the run summary and the scores."""
    from autospec_cli.campaign.engine import run_campaign, write_description
    from autospec_cli.report.gdvb import load_records
    from autospec_cli.verifyrun.scoring import score

    folder = Path(campaign_dir).resolve()
    desc, manifest = read_gdvb(folder)
    jobs = verify_jobs(folder, manifest, verifiers, timeout=timeout, tools_file=tools_file,
                       options=options)
    summary = run_campaign(folder, jobs, executor, progress=progress,
                           retry_failed=retry_failed, description="verify")
    desc["verifiers_run"] = sorted(set(desc.get("verifiers_run", [])) | set(verifiers))
    write_description(folder, desc)
    board = score(load_records(folder, verifiers))
    return {"summary": summary.to_dict(), "scores": board.to_dict()}
