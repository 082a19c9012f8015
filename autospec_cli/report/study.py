"""Tables and plots of a training-factor study (the paper's Table 1/2 layout and figures).

:func:`build_report` reads a study folder (``campaign.json`` with ``"kind": "study"`` and the
campaign store) and writes into ``out_dir``:

- ``table.csv`` / ``table.md``: one row per model -- regulariser, initialiser, seed, test
  accuracy, robust, unknown, not robust, average time per instance (s), mean unstable ReLUs
  -- plus a total row;
- ``by_factor.csv``: the same counts summed per level of each factor;
- ``reg_init_time.csv`` / ``reg_init_time.png``: mean time per instance, regulariser x
  initialiser;
- ``per_class.csv`` / ``per_class_robustness.png``: per class and level of each factor
  (initialiser, regulariser, seed), the instances, the robust % and the counts of robust,
  unknown and not-robust instances; the figure shows the instances *not* proven robust (not
  robust, stacked under unknown), since robust % often sits near 100 and what differs
  between levels is the few that are not;
- ``time_by_factor.png``: mean time per instance by initialiser, regulariser and seed;
- ``unstable_vs_time.png``: unstable ReLUs against time per instance (Spearman's rho per
  instance and per model -- mean unstable ReLUs vs mean time -- in the returned summary);
- ``verdicts.csv``: every model x image verdict (``result``: the verifier's own word).

Verdicts are read from the verification run's job records (``results_of`` and
``instance_params`` of :mod:`autospec_cli.verifyrun.jobs`), each instance's model, image and
label from the study's ``manifest.json``, unstable-ReLU counts from its measurement jobs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.campaign.engine import read_description
from autospec_cli.campaign.store import CampaignStore
from autospec_cli.errors import InputError
from autospec_cli.io import atomic_write_text, csv_text
from autospec_cli.progress import ProgressFn
from autospec_cli.report import study_plots as rp
from autospec_cli.study.model_jobs import RELU_KIND, TRAIN_KIND
from autospec_cli.study.verify import NOT_ROBUST, ROBUST, UNKNOWN, study_verdict
from autospec_cli.verifyrun.jobs import KINDS, instance_params, results_of
from autospec_cli.vnnlib.benchmark import read_manifest

FACTORS: tuple[str, ...] = ("initialiser", "regulariser", "seed")
COLUMNS: tuple[str, ...] = ("model", "regulariser", "initialiser", "seed", "accuracy", "robust",
                            "unknown", "not_robust", "avg_time", "avg_unstable")


def load_study(campaign_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]],
                                            list[dict[str, Any]]]:
    """``(description, model rows, instance rows)`` of a study folder (finished jobs only)."""
    desc = read_description(campaign_dir)
    if not desc or desc.get("kind") != "study":
        raise InputError(f"{campaign_dir} is not a study folder (campaign.json without "
                         "\"kind\": \"study\"); run `autospec study run` first")
    with CampaignStore(campaign_dir, create=False, writable=False) as store:
        trained = [r.result for r in store.results(kind=TRAIN_KIND, status="done") if r.result]
        relus = [r.result for r in store.results(kind=RELU_KIND, status="done") if r.result]
        records = sorted((rec for kind in KINDS for rec in store.results(kind=kind)
                          if rec.status != "pending"), key=lambda rec: rec.created)
    # one result per instance name: the latest (a resumed study whose selection changed
    # leaves the jobs of the earlier properties in the store)
    verified = list({p.get("name"): (p, res, str(rec.params.get("backend", "")))
                     for rec in records
                     for p, res in zip(instance_params(rec), results_of(rec), strict=True)
                     }.values())
    models = {t["model"]: t for t in trained}
    unstable = {(r["model"], v): n for r in relus for v, n in r["unstable"].items()}
    meta = _instance_meta(campaign_dir)
    instances = []
    for p, res, backend in verified:
        m = meta.get(str(p.get("name", "")))
        t = models.get(m["model"]) if m else None
        if m is None or t is None:
            continue
        margin = res.extra.get("margin")
        instances.append({
            "model": m["model"], **{f: t[f] for f in FACTORS}, "image": m["image"],
            "label": m["label"], "verdict": study_verdict(res), "time": float(res.time),
            "unstable": unstable.get((m["model"], m["vnnlib"]), -1),
            "margin": math.nan if margin is None else float(margin),
            "decided_by": _decided_by(res, backend),
            "result": res.verdict.value, "order": m["order"]})
    instances.sort(key=lambda i: i.pop("order"))
    return desc, _model_rows(desc, models, instances), instances


def _instance_meta(campaign_dir: Path) -> dict[str, dict[str, Any]]:
    """``onnx::vnnlib`` instance name -> model, image, label and property path."""
    out = {}
    for k, e in enumerate((read_manifest(campaign_dir) or {}).get("instances", [])):
        meta = e.get("meta") or {}
        out[f"{e['onnx']}::{e['vnnlib']}"] = {"model": meta.get("model"),
                                               "image": meta.get("image"),
                                               "label": meta.get("label"), "vnnlib": e["vnnlib"],
                                               "order": k}
    return out


def _decided_by(result: Any, backend: str) -> str:
    """Who decided: a portfolio's member, else the backend; empty when undecided."""
    if not result.verdict.decided:
        return ""
    return str(result.extra.get("member") or backend)


def _order(desc: dict[str, Any]) -> dict[str, dict[Any, int]]:
    d = desc.get("config", {}).get("design", {})
    return {f: {v: i for i, v in enumerate(d.get(f + "s", []))} for f in FACTORS}


def _model_rows(desc: dict[str, Any], models: dict[str, dict[str, Any]],
                instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in instances:
        by_model[i["model"]].append(i)
    rows = []
    for m, t in models.items():
        ins = by_model.get(m, [])
        rows.append({"model": m, "regulariser": t["regulariser"],
                     "initialiser": t["initialiser"], "seed": t["seed"],
                     "accuracy": t["accuracy"], **_counts(ins)})
    order = _order(desc)
    rows.sort(key=lambda r: tuple(order[f].get(r[f], 99) for f in
                                  ("regulariser", "initialiser", "seed")))
    return rows


def _counts(ins: list[dict[str, Any]]) -> dict[str, Any]:
    times = [i["time"] for i in ins]
    unstable = [i["unstable"] for i in ins if i["unstable"] >= 0]
    return {"robust": sum(i["verdict"] == ROBUST for i in ins),
            "unknown": sum(i["verdict"] == UNKNOWN for i in ins),
            "not_robust": sum(i["verdict"] == NOT_ROBUST for i in ins),
            "avg_time": float(np.mean(times)) if times else math.nan,
            "avg_unstable": float(np.mean(unstable)) if unstable else math.nan}


def _total(rows: list[dict[str, Any]], instances: list[dict[str, Any]], label: str,
           **keys: Any) -> dict[str, Any]:
    acc = [r["accuracy"] for r in rows]
    return {"model": label, "regulariser": keys.get("regulariser", ""),
            "initialiser": keys.get("initialiser", ""), "seed": keys.get("seed", ""),
            "accuracy": float(np.mean(acc)) if acc else math.nan, **_counts(instances)}


def by_factor(rows: list[dict[str, Any]], instances: list[dict[str, Any]]
              ) -> list[dict[str, Any]]:
    """Counts and mean times per level of each factor."""
    out = []
    for f in FACTORS:
        for level in dict.fromkeys(r[f] for r in rows):
            rs = [r for r in rows if r[f] == level]
            ins = [i for i in instances if i[f] == level]
            out.append({"factor": f, "level": level, **_total(rs, ins, str(level))})
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        return f"{v:.4f}" if abs(v) < 1 else f"{v:.2f}"
    return str(v)


def markdown_table(rows: Iterable[dict[str, Any]], columns: Iterable[str] = COLUMNS) -> str:
    cols = list(columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


PER_CLASS_COLUMNS = ("factor", "level", "class", "n", "robust_pct", "robust", "unknown",
                     "not_robust")


def per_class(instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per class, for every level of every factor: instances, robust % and the counts of
    robust, unknown and not-robust instances."""
    out = []
    for f in FACTORS:
        for level in dict.fromkeys(i[f] for i in instances):
            ins = [i for i in instances if i[f] == level]
            for c in sorted({i["label"] for i in ins}):
                ic = [i for i in ins if i["label"] == c]
                counts = {v: sum(i["verdict"] == v for i in ic)
                          for v in (ROBUST, UNKNOWN, NOT_ROBUST)}
                out.append({"factor": f, "level": level, "class": c, "n": len(ic),
                            "robust_pct": 100.0 * counts[ROBUST] / len(ic),
                            "robust": counts[ROBUST], "unknown": counts[UNKNOWN],
                            "not_robust": counts[NOT_ROBUST]})
    return out


def reg_init_time(instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cells: dict[tuple[str, str], list[float]] = defaultdict(list)
    for i in instances:
        cells[(i["regulariser"], i["initialiser"])].append(i["time"])
    return [{"regulariser": r, "initialiser": n, "n": len(t), "mean_time": float(np.mean(t)),
             "median_time": float(np.median(t))} for (r, n), t in cells.items()]


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties); nan for fewer than 3 points."""
    if len(x) < 3:
        return math.nan
    from scipy.stats import rankdata

    rx, ry = rankdata(x), rankdata(y)
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def build_report(campaign_dir: Path, out_dir: Path, *,
                 progress: ProgressFn | None = None) -> dict[str, Any]:
    """Write the study's tables and plots into ``out_dir``; returns a summary with paths."""
    campaign_dir, out_dir = Path(campaign_dir), Path(out_dir)
    desc, rows, instances = load_study(campaign_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = _total(rows, instances, "total")
    factor_rows = by_factor(rows, instances)
    classes, cells = per_class(instances), reg_init_time(instances)
    files: dict[str, str] = {}

    def text(name: str, content: str) -> None:
        files[name] = str(atomic_write_text(out_dir / name, content, force=True))

    steps = 9
    tick = progress or (lambda d, c, t: None)
    text("table.csv", csv_text([*rows, total], COLUMNS))
    table_md = markdown_table([*rows, total])
    text("table.md", f"# {desc.get('name', 'study')}\n\n" + table_md + "\n## By factor\n\n"
         + markdown_table(factor_rows, ("factor", "level", *COLUMNS[4:])))
    text("by_factor.csv", csv_text(factor_rows, ("factor", "level", *COLUMNS[4:])))
    text("per_class.csv", csv_text(classes, PER_CLASS_COLUMNS))
    text("reg_init_time.csv", csv_text(cells, ("regulariser", "initialiser", "n", "mean_time",
                                               "median_time")))
    text("verdicts.csv", csv_text(instances, ("model", *FACTORS, "image", "label", "verdict",
                                              "time", "unstable", "margin", "decided_by",
                                              "result")))
    tick("report", 6, steps)
    if instances:
        files["per_class_robustness.png"] = str(rp.per_class_plot(classes, out_dir))
        files["time_by_factor.png"] = str(rp.time_by_factor_plot(factor_rows, out_dir))
        files["reg_init_time.png"] = str(rp.reg_init_plot(cells, out_dir))
        files["unstable_vs_time.png"] = str(rp.unstable_time_plot(instances, out_dir))
    tick("report", steps, steps)
    ok = [i for i in instances if i["unstable"] >= 0]
    return {"out_dir": str(out_dir), "files": files, "models": rows, "total": total,
            "by_factor": factor_rows, "reg_init_time": cells, "table_markdown": table_md,
            "spearman_unstable_time": spearman([i["unstable"] for i in ok],
                                               [i["time"] for i in ok]),
            "spearman_unstable_time_models": spearman([r["avg_unstable"] for r in rows],
                                                      [r["avg_time"] for r in rows]),
            "instances": len(instances)}


__all__ = ["COLUMNS", "PER_CLASS_COLUMNS", "build_report", "by_factor", "load_study",
           "markdown_table", "per_class", "reg_init_time", "spearman"]
