"""Verification records: one verifier's result on one instance, read back from a campaign store.

Every consumer of verification results -- scoring (:mod:`autospec_cli.verifyrun.scoring`), the
verification report, the GDVB report and ``bench run`` -- reads the same :class:`VerifyRecord`,
built by :func:`load_records` from the ``verify.instance`` / ``verify.group`` jobs of a
campaign folder, so a verdict, a time or a factor level means the same thing everywhere.

The verifier of a record is its job's ``verifier`` param when the job has one (``bench run``
compares several verifiers, or configurations of one backend, in one store), else the label
in the folder's ``campaign.json`` (``autospec verify`` runs one verifier per folder), else the
backend's entry-point name. A job that failed or was killed at its hard timeout reads as
``error`` / ``timeout`` (:func:`autospec_cli.verifyrun.jobs.results_of`); when an instance was
run more than once by one verifier, the latest finished job wins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autospec_cli.campaign.engine import read_description
from autospec_cli.campaign.store import STORE_FILE, CampaignStore
from autospec_cli.errors import InputError
from autospec_cli.verifyrun.jobs import KINDS, instance_params, results_of
from autospec_cli.verifyrun.run import KIND as VERIFY_RUN_KIND


@dataclass(frozen=True)
class VerifyRecord:
    """One verifier's result on one instance.

    ``verdict`` and ``expected`` are verdict words (``expected`` only ``sat``/``unsat`` or
    None: a known answer); ``time`` and ``timeout`` are seconds; ``factors`` the instance's
    factor levels, if its benchmark has them; ``finished`` the job's end (Unix time);
    ``onnx``/``vnnlib`` the files as run and ``onnx_sha256``/``vnnlib_sha256`` their content
    hashes when the job recorded them (what matches instances across runs and machines, see
    :mod:`autospec_cli.verifyrun.diff`).
    """

    verifier: str
    instance: str
    verdict: str
    time: float
    timeout: float
    expected: str | None = None
    factors: Mapping[str, Any] | None = None
    category: str = ""
    message: str = ""
    finished: float = 0.0
    onnx: str = ""
    vnnlib: str = ""
    onnx_sha256: str = ""
    vnnlib_sha256: str = ""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VerifyRecord:
        """From a mapping with the field names (extra keys are ignored)."""
        try:
            return cls(str(d["verifier"]), str(d["instance"]), str(d["verdict"]),
                       float(d["time"]), float(d["timeout"]), d.get("expected"),
                       d.get("factors"), str(d.get("category") or ""),
                       str(d.get("message") or ""), float(d.get("finished") or 0.0),
                       *(str(d.get(k) or "") for k in ("onnx", "vnnlib", "onnx_sha256",
                                                        "vnnlib_sha256")))
        except KeyError as e:
            raise InputError(f"verification record lacks the field {e.args[0]!r}") from None


def _label(job: Any, desc: Mapping[str, Any]) -> str:
    return str(job.params.get("verifier") or desc.get("backend") or job.params.get("backend"))


def load_records(campaign_dir: str | os.PathLike[str]) -> list[VerifyRecord]:
    """The finished verification results stored in a campaign folder, the latest per
    (verifier, instance), sorted by verifier and instance."""
    desc = read_description(campaign_dir) or {}
    latest: dict[tuple[str, str], VerifyRecord] = {}
    with CampaignStore(campaign_dir, create=False, writable=False) as store:
        for kind in KINDS:
            for job in store.iter_results(kind, status=("done", "failed", "timeout")):
                label = _label(job, desc)
                hashes = job.inputs or {}
                for p, r in zip(instance_params(job), results_of(job), strict=True):
                    onnx, prop = str(p["onnx"]), str(p["vnnlib"])
                    rec = VerifyRecord(
                        label, str(p.get("name") or f"{onnx}::{prop}"),
                        r.verdict.value, float(r.time), float(p["timeout"]), p.get("expected"),
                        p.get("factors"), str(p.get("category", "")), r.message,
                        float(job.finished or 0.0), onnx, prop, str(hashes.get(onnx, "")),
                        str(hashes.get(prop, "")))
                    key = (rec.verifier, rec.instance)
                    old = latest.get(key)
                    if old is None or rec.finished >= old.finished:
                        latest[key] = rec
    return [latest[k] for k in sorted(latest)]


def find_verify_campaigns(folder: str | os.PathLike[str], depth: int = 2) -> list[Path]:
    """``autospec verify`` results folders at or below ``folder`` (up to ``depth`` levels),
    sorted."""
    root = Path(folder)
    found = []
    candidates = [root]
    for _ in range(depth):
        candidates += [p for c in list(candidates) if c.is_dir() for p in sorted(c.iterdir())
                       if p.is_dir() and p not in candidates]
    for c in candidates:
        if (c / STORE_FILE).is_file():
            desc = read_description(c) or {}
            if desc.get("kind", VERIFY_RUN_KIND) == VERIFY_RUN_KIND:
                found.append(c)
    return sorted(set(found))
