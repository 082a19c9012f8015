"""Counterexamples of a verified spec benchmark, shown as AutoSpec's Figure 6 shows them.

For a benchmark exported from a spec set (``autospec export``) and verified (``autospec
verify``), :func:`counterexample_report` takes the first ``limit`` ``sat`` results and, for
each, the features the spec constrains most (its box narrowest next to the data domain the
manifest records; features constant in the data or pinned to one value are left out): the
box bounds, the witness value and, when the witness is not an input that can occur
(discrete features, :mod:`autospec_cli.verify.discrete`), the repaired value.
Each counterexample also names the spec's label and the model's prediction at the witness
(replayed in onnxruntime). :func:`plot_counterexamples` draws one panel per counterexample:
per feature the box as a bar (its bounds at the ends) and the witness as a dot inside it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.errors import InputError
from autospec_cli.report.plots import PathLike, _save
from autospec_cli.report.tables import ReportTable
from autospec_cli.verify.cex import parse_vnncomp_counterexample
from autospec_cli.verify.loading import onnx_runner
from autospec_cli.vnnlib.benchmark import confine, read_manifest
from autospec_cli.vnnlib.reader import read_vnnlib


def find_results(bench: Path, results: Path | None) -> Path:
    """The results folder: ``results`` itself, else the only ``BENCH/results-*`` folder."""
    if results is not None:
        if not (results / "summary.json").is_file():
            raise InputError(f"{results}: no summary.json; give an `autospec verify` results "
                             "folder")
        return results
    found = sorted(p for p in bench.glob("results-*") if (p / "summary.json").is_file())
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise InputError(f"{bench}: {what} results folders (results-*/summary.json); run "
                         "`autospec verify` on it or name one with --results")
    return found[0]


def _class_name(classes: list[str] | None, k: int | None) -> str:
    if k is None:
        return "?"
    return str(classes[k]) if classes and 0 <= k < len(classes) else str(k)


def counterexample_report(bench: str | os.PathLike[str], results: str | os.PathLike[str] | None
                          = None, *, limit: int = 3, n_features: int = 6) -> dict[str, Any]:
    """The counterexamples (see the module doc) as JSON-ready dicts, plus totals."""
    root = Path(bench)
    manifest = read_manifest(root)
    if not manifest or "instances" not in manifest:
        raise InputError(f"{root}: no manifest.json of an `autospec export` benchmark")
    res_dir = find_results(root, Path(results) if results is not None else None)
    summary = json.loads((res_dir / "summary.json").read_text(encoding="utf-8"))
    spec_set = manifest.get("spec_set") or {}
    features = [str(f) for f in spec_set.get("features", [])]
    classes = spec_set.get("classes")
    dom = manifest.get("domain") or {}
    by_file = {Path(str(e["vnnlib"])).name: e for e in manifest["instances"]}
    rows: list[dict[str, Any]] = []
    sats = [r for r in summary.get("results", []) if r.get("result") == "sat"]
    for rec in sats[:limit]:
        entry = by_file.get(Path(str(rec["vnnlib"])).name)
        if entry is None or not rec.get("counterexample"):
            continue
        model = confine(root, root / entry["onnx"], "model")
        runner = onnx_runner(model, threads=1)
        cex = parse_vnncomp_counterexample(
            (res_dir / rec["counterexample"]).read_text(encoding="utf-8"),
            n_inputs=runner.n_inputs)
        x = cex.x
        prop = read_vnnlib(confine(root, root / entry["vnnlib"], "property"),
                           n_inputs=runner.n_inputs, n_outputs=runner.n_outputs)
        inside = [c for c in prop.cases if c.contains(x, 1e-4)[0]] or prop.cases
        case = inside[0]
        y = np.asarray(runner.run(x.reshape(1, -1)), dtype=np.float64).reshape(-1)
        names = features if len(features) == x.size else [f"X_{i}" for i in range(x.size)]
        d_lo = np.asarray(dom.get("lo", case.lo), dtype=np.float64)
        d_hi = np.asarray(dom.get("hi", case.hi), dtype=np.float64)
        width = np.where(d_hi > d_lo, d_hi - d_lo, 1.0)
        share = (case.hi - case.lo) / width  # the share of the domain the box keeps
        # constant in the data, or pinned to one value by the box (a one-hot category
        # enumerated by export): no news; the rest from the narrowest box up
        order = [int(j) for j in np.argsort(share, kind="stable")
                 if 0.0 < share[j] < 1.0 and d_hi[j] > d_lo[j]][:n_features]
        extra = rec.get("extra") or {}
        repaired = (extra.get("repaired") or {}).get("x")
        label = (entry.get("meta") or {}).get("label")
        rows.append({
            "id": entry["id"], "vnnlib": entry["vnnlib"],
            "label": label, "label_name": _class_name(classes, label),
            "predicted": int(np.argmax(y)) if y.size > 1 else None,
            "predicted_name": _class_name(classes, int(np.argmax(y))) if y.size > 1 else "?",
            "y": y.tolist(), "discrete_ok": extra.get("discrete_ok"),
            "discrete_issues": list(extra.get("discrete_issues") or []),
            "repaired": repaired is not None,
            "features": [{"feature": names[j], "index": j, "lo": float(case.lo[j]),
                          "hi": float(case.hi[j]), "witness": float(x[j]),
                          "repaired": None if repaired is None else float(repaired[j]),
                          "domain": [float(d_lo[j]), float(d_hi[j])]} for j in order],
        })
    return {"benchmark": str(root), "results": str(res_dir), "sat": len(sats),
            "counts": summary.get("counts", {}), "counterexamples": rows}


def counterexample_table(doc: dict[str, Any]) -> ReportTable:
    """One row per (counterexample, feature): the Figure 6 table."""
    t = ReportTable("counterexamples", "counterexamples (spec box, witness, prediction)",
                    ["spec", "label", "predicted", "discrete", "feature", "lo", "hi",
                     "witness", "repaired"], digits=4)
    for row in doc["counterexamples"]:
        disc = {True: "yes", False: "no (repaired)" if row["repaired"] else "no",
                None: "-"}[row["discrete_ok"]]
        for k, f in enumerate(row["features"]):
            first = k == 0
            t.add(row["id"] if first else "", row["label_name"] if first else "",
                  row["predicted_name"] if first else "", disc if first else "",
                  f["feature"], f["lo"], f["hi"], f["witness"], f["repaired"])
    return t


def plot_counterexamples(doc: dict[str, Any], path: PathLike, *, force: bool = True) -> Path:
    """One panel per counterexample: per feature the box as a bar, the witness as a dot."""
    rows = doc["counterexamples"]
    if not rows:
        raise InputError("no counterexample to draw")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n_feat = max(len(r["features"]) for r in rows) or 1
    fig = Figure(figsize=(7.5, 0.9 + 0.42 * n_feat * len(rows) + 0.5 * len(rows)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, row in zip(axes, rows, strict=True):
        feats = row["features"]
        for k, f in enumerate(feats):
            span = f["hi"] - f["lo"] if f["hi"] > f["lo"] else 1.0

            def at(v: float, lo: float = f["lo"], span: float = span) -> float:
                return 0.1 + 0.8 * (v - lo) / span

            ax.barh(k, 0.8, left=0.1, height=0.5, color="#9ecae1", edgecolor="#3182bd")
            ax.text(0.09, k, f"{f['lo']:.6g}", ha="right", va="center", fontsize=7)
            ax.text(0.91, k, f"{f['hi']:.6g}", ha="left", va="center", fontsize=7)
            ax.plot(at(f["witness"]), k, "o", color="#d62728", ms=6,
                    label="witness" if k == 0 else None)
            ax.text(at(f["witness"]), k - 0.32, f"{f['witness']:.6g}", ha="center",
                    fontsize=6, color="#d62728")
            if f["repaired"] is not None and f["repaired"] != f["witness"]:
                ax.plot(at(f["repaired"]), k, "x", color="black", ms=6,
                        label="repaired" if k == 0 else None)
        ax.set_yticks(range(len(feats)))
        ax.set_yticklabels([f["feature"] for f in feats], fontsize=8)
        ax.set_xlim(-0.12, 1.12)
        ax.set_xticks([])
        ax.invert_yaxis()
        disc = {True: "discrete", False: "not discrete" + (", repaired" if row["repaired"]
                                                            else ""), None: ""}[row["discrete_ok"]]
        ax.set_title(f"{row['id']}: spec says {row['label_name']}, model predicts "
                     f"{row['predicted_name']}" + (f" ({disc})" if disc else ""), fontsize=9)
    axes[-1].set_xlabel("the spec's box per feature (bounds at the ends); dot: the witness",
                        fontsize=8)
    handles, _ = axes[0].get_legend_handles_labels()
    if handles:
        axes[0].legend(fontsize=7, loc="upper right")
    return _save(fig, path, force)


__all__ = ["counterexample_report", "counterexample_table", "find_results",
           "plot_counterexamples"]
