"""``autospec bench run``: verify a generated GDVB benchmark with several verifiers.

Every (verifier, instance) pair is one ``verify.instance`` job
(:func:`autospec_cli.verifyrun.jobs.make_jobs`, the job kind ``autospec verify`` uses) in the
benchmark's own campaign store, so runs are parallel (local workers or Dask), resumable, run
any registered backend or plug-in with its options, and keep counterexamples and full
messages. A job's params carry ``verifier`` (the label the results are reported under),
``name`` (the GDVB instance id) and ``factors`` (the instance's factor levels). Results are
read back as :class:`~autospec_cli.verifyrun.records.VerifyRecord` (:func:`gdvb_records`) and
scored with :func:`autospec_cli.verifyrun.scoring.score` (SCR, PAR2, per factor level).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autospec_cli.bench.generate import BENCH_DIR, GDVB_KIND
from autospec_cli.campaign.engine import read_description, run_campaign, write_description
from autospec_cli.campaign.jobs import JobSpec
from autospec_cli.errors import ConfigError, InputError, VerifierError
from autospec_cli.progress import ProgressFn
from autospec_cli.verify.base import Instance
from autospec_cli.verify.registry import resolve_backend
from autospec_cli.verifyrun.jobs import InstanceInfo, make_jobs
from autospec_cli.verifyrun.records import VerifyRecord, load_records
from autospec_cli.verifyrun.scoring import score
from autospec_cli.vnnlib.benchmark import confine, read_manifest

#: The category GDVB instances are given to verifiers under.
CATEGORY = "gdvb"


def read_gdvb(campaign_dir: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The campaign description and benchmark manifest of a generated GDVB folder."""
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


def instance_levels(campaign_dir: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """``instance id -> {factor: level}`` from the benchmark manifest."""
    _, manifest = read_gdvb(campaign_dir)
    return {i["id"]: _levels(i) for i in manifest["instances"]}


def _levels(entry: Mapping[str, Any]) -> dict[str, Any]:
    return dict(entry.get("meta", {}).get("gdvb", {}).get("levels", {}))


def configured(label: str) -> tuple[str, dict[str, Any]]:
    """A verifier label as backend name and options: ``bab[split=input]`` is ``bab`` with
    ``split=input`` (the portfolio's member syntax, options checked against the backend's
    declared parameters), so one backend enters a GDVB ranking under several configurations
    (lirpa ibp / crown / alpha-crown, bab input / relu); a plain name has no options."""
    from autospec_cli.verify.registry import get_backend_class, parse_option_pairs

    m = re.fullmatch(r"\s*([A-Za-z0-9_.:-]+)\s*(?:\[(.*)\])?\s*", label, flags=re.S)
    if m is None:
        raise ConfigError(f"verifier {label!r}: write NAME or NAME[key=value;key=value], one "
                          "backend per verifier label", param="verifiers")
    name = m.group(1)
    pairs = [p.strip() for p in (m.group(2) or "").split(";") if p.strip()]
    if not pairs:
        return name, {}
    if name.startswith("external:"):
        raise ConfigError(f"verifier {label!r}: options of an external tool go in the tools "
                          "file, not in brackets", param="verifiers")
    try:
        return name, parse_option_pairs(get_backend_class(name), pairs)
    except VerifierError as e:
        raise ConfigError(f"verifier {label!r}: {e}", param="verifiers") from None


def verify_jobs(campaign_dir: Path, manifest: dict[str, Any], verifiers: Sequence[str], *,
                timeout: float | None = None, tools_file: str | None = None,
                options: Mapping[str, Mapping[str, Any]] | None = None,
                backends: Mapping[str, str] | None = None) -> list[JobSpec]:
    """One ``verify.instance`` job per verifier and instance.

    ``verifiers`` are labels; each runs backend ``backends[label]`` (default: the label itself,
    ``external:NAME`` resolved from the tools file) with ``options[label]``, so one backend
    can be compared with itself under several configurations.
    """
    if not verifiers:
        raise ConfigError("no verifiers given; name some, e.g. lirpa,bab,attack,external:NAME",
                          param="verifiers")
    bench = campaign_dir / BENCH_DIR

    def inside(i: Mapping[str, Any], key: str) -> Path:  # a manifest names files of its folder
        where = f"{bench / 'manifest.json'}: instance {str(i.get('id'))!r}"
        return confine(bench, bench / str(i[key]), where).resolve()

    infos = [InstanceInfo(Instance(inside(i, "onnx"), inside(i, "vnnlib"),
                                   float(timeout if timeout is not None else i["timeout"]),
                                   CATEGORY), str(i["id"]), _levels(i))
             for i in manifest["instances"]]
    jobs = []
    for label in verifiers:
        name, opts = configured(label)
        name = (backends or {}).get(label, name)
        opts = {**opts, **((options or {}).get(label) or {})}
        spec = resolve_backend(name, opts, tools_file=tools_file)
        jobs += [job for job, _ in make_jobs(spec.entry, spec.options, infos, batch=False,
                                             verifier=label)]
    return jobs


def gdvb_records(campaign_dir: str | os.PathLike[str],
                 verifiers: Sequence[str] | None = None) -> list[VerifyRecord]:
    """The verification records of the benchmark's current instances (the latest per verifier
    and instance; a job that failed or was killed counts as ``error`` / ``timeout``), only
    those of ``verifiers`` when given."""
    levels = instance_levels(campaign_dir)
    return [r for r in load_records(campaign_dir)
            if r.instance in levels and (verifiers is None or r.verifier in verifiers)]


def run(campaign_dir: str | os.PathLike[str], verifiers: list[str], *, executor: Any = None,
        timeout: float | None = None, tools_file: str | None = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        backends: Mapping[str, str] | None = None, retry_failed: bool = False,
        progress: ProgressFn | None = None) -> dict[str, Any]:
    """Verify every instance with every verifier; returns the run summary and the scores.

    ``options`` / ``backends``: per verifier label, see :func:`verify_jobs`.
    """
    folder = Path(campaign_dir).resolve()
    desc, manifest = read_gdvb(folder)
    jobs = verify_jobs(folder, manifest, verifiers, timeout=timeout, tools_file=tools_file,
                       options=options, backends=backends)
    summary = run_campaign(folder, jobs, executor, progress=progress,
                           retry_failed=retry_failed, description="verify")
    desc["verifiers_run"] = sorted(set(desc.get("verifiers_run", [])) | set(verifiers))
    write_description(folder, desc)
    board = score(gdvb_records(folder, verifiers))
    return {"summary": summary.to_dict(), "scores": board.to_dict()}
