"""The demo's verification part: AutoSpec §5.3 on the throughput data, end to end.

Split 9:1, train the 4-10-5-1 ReLU predictor (stopping when the epoch loss changes by at
most 1e-3, capped at :data:`EPOCH_CAP` epochs), mine decision-tree specifications from the
generation fold, export the ``max_properties`` best-supported ones with the model as a
VNN-COMP benchmark, verify them with the chosen backend, write the results in the VNN-COMP
layout, and show every counterexample as the paper's Figure 6 does: the four past
throughput values, the model's prediction and the specification's output range.

Layout under ``cfg.out_dir``: ``models/throughput.onnx`` (+ ``.json`` sidecar),
``throughput-bench/`` (onnx/, vnnlib/, instances.csv, manifest.json),
``throughput-results/`` (results.csv, counterexamples/, summary.json) and
``plots/throughput-counterexamples.png``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.data.dataset import Dataset
from autospec_cli.data.split import split_dataset
from autospec_cli.demo.params import DEMO_PARAMS
from autospec_cli.errors import ConfigError, VerifierError
from autospec_cli.models.runtime import OnnxRunner
from autospec_cli.models.train_export import THROUGHPUT_ARCH, TrainConfig, train_to_onnx
from autospec_cli.progress import ProgressFn, null_progress
from autospec_cli.specs.generators.registry import generate_specs
from autospec_cli.specs.model import Spec, SpecSet
from autospec_cli.verify.registry import backend_names, get_backend_class, make_backend
from autospec_cli.verify.runner import run_instances
from autospec_cli.verifyrun.results import summarize, write_results
from autospec_cli.vnnlib.benchmark import read_benchmark
from autospec_cli.vnnlib.benchmark_export import export_specset

EPOCH_CAP = 60  # the stop rule usually fires first (~15 epochs on the built-in series)
VERIFY_BUDGET = 45.0  # seconds for all instances; the rest are reported as not run
CHUNK = 8  # instances per backend call (batching backends share work inside a chunk)
PLOT_PANELS = 8


def check_backend(name: str) -> Any:
    """The verifier for ``name``, or a ConfigError saying which backends can be used."""
    try:
        cls = get_backend_class(name)
        ok, reason = cls.available()
        if not ok:
            raise VerifierError(reason or "not available")
        return make_backend(name)
    except VerifierError as e:
        usable = [n for n in backend_names() if n != "external"]
        raise ConfigError(f"verifier backend {name!r} cannot be used here ({e}); "
                          f"choose a backend from {', '.join(usable)} or skip verification",
                          param="backend") from None


def select_specs(specs: SpecSet, k: int) -> SpecSet:
    """The ``k`` specifications with the largest support (ties: original order)."""
    order = sorted(range(len(specs.specs)), key=lambda i: (-specs.specs[i].support, i))
    chosen = [specs.specs[i] for i in sorted(order[:max(0, k)])]
    return SpecSet(task=specs.task, features=specs.features, algorithm=specs.algorithm,
                   specs=chosen, params=specs.params, dataset=specs.dataset,
                   domain=specs.domain, classes=specs.classes,
                   feature_kinds=specs.feature_kinds)


def _tree_params() -> dict[str, Any]:
    """The demo's decision-tree hyperparameters (the same specs the demo scores)."""
    return dict(DEMO_PARAMS["throughput"]["tree"])


def _run_within_budget(verifier: Any, instances: list, budget: float,
                       progress: ProgressFn) -> list:
    """Results for a prefix of ``instances``, in chunks, until ``budget`` seconds are spent."""
    results: list = []
    t0 = time.perf_counter()
    for i in range(0, len(instances), CHUNK):
        if time.perf_counter() - t0 > budget:
            break
        results += run_instances(verifier, instances[i:i + CHUNK])
        progress("verify throughput properties", len(results), len(instances))
    return results


def _closed_box(spec: Spec, domain: tuple[np.ndarray, np.ndarray]) -> tuple[list, list]:
    lo = np.where(np.isfinite(spec.lo), spec.lo, domain[0])
    hi = np.where(np.isfinite(spec.hi), spec.hi, domain[1])
    return lo.tolist(), hi.tolist()


def counterexample_records(specs: SpecSet, instances: list, results: list,
                           domain: tuple[np.ndarray, np.ndarray]) -> list[dict[str, Any]]:
    """One record per ``sat`` result: spec, inputs, model output, spec range, input box."""
    out = []
    for spec, inst, res in zip(specs.specs, instances, results, strict=False):
        if res.verdict.value != "sat" or res.counterexample is None:
            continue
        y = float(np.ravel(res.counterexample.y)[0])
        lo, hi = _closed_box(spec, domain)
        out.append({"spec": spec.id, "vnnlib": Path(inst.vnnlib).name,
                    "x": [float(v) for v in np.ravel(res.counterexample.x)], "y": y,
                    "y_lo": float(spec.y_lo), "y_hi": float(spec.y_hi),  # type: ignore[arg-type]
                    "box_lo": lo, "box_hi": hi, "support": spec.support})
    return out


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4g}"


def counterexample_markdown(cexs: list[dict[str, Any]], features: list[str]) -> str:
    """Figure 6 as a table: inputs, the model's output and the violated output range."""
    if not cexs:
        return "No counterexamples: no property was violated.\n"
    head = ["#", "spec", *features, "model output", "spec output range"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for i, c in enumerate(cexs, 1):
        row = [str(i), c["spec"], *(_fmt(v) for v in c["x"]), f"**{_fmt(c['y'])}**",
               f"[{_fmt(c['y_lo'])}, {_fmt(c['y_hi'])}]"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def plot_counterexamples(cexs: list[dict[str, Any]], features: list[str],
                         path: Path) -> Path | None:
    """One panel per counterexample (up to :data:`PLOT_PANELS`): the input box per feature
    (grey bars), the counterexample's inputs (blue), the spec's output range (green interval)
    and the model's output (red cross) at the next time step. None when there is nothing."""
    if not cexs:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = cexs[:PLOT_PANELS]
    cols = min(4, len(shown))
    rows = -(-len(shown) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), squeeze=False)
    d = len(features)
    for ax, c in zip(axes.flat, shown, strict=False):
        xs = np.arange(d)
        lo, hi = np.asarray(c["box_lo"]), np.asarray(c["box_hi"])
        ax.bar(xs, hi - lo, bottom=lo, width=0.5, color="0.85", label="input box")
        ax.plot(xs, c["x"], "o-", color="tab:blue", label="counterexample input")
        ax.vlines(d, c["y_lo"], c["y_hi"], color="tab:green", lw=6, alpha=0.6,
                  label="spec output range")
        ax.plot([d], [c["y"]], "x", color="tab:red", ms=10, mew=2.5, label="model output")
        ax.set_xticks(list(xs) + [d], [_short(f) for f in features] + ["output"],
                      fontsize=7, rotation=30)
        ax.set_title(c["spec"], fontsize=9)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4))
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    fig.suptitle("Throughput counterexamples (AutoSpec Fig. 6): "
                 "model output outside the spec range")
    fig.tight_layout()
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="upper center", ncols=4,
               bbox_to_anchor=(0.5, 0.0), fontsize=8, frameon=False)  # below, off the data
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path


def _short(name: str) -> str:
    return name.split("[", 1)[1].rstrip("]") if "[" in name else name[:10]


def _check_cexs_are_real(model_path: Path, cexs: list[dict[str, Any]]) -> None:
    """Replay every counterexample in onnxruntime (the runner already did; this guards the
    records built here from the spec ranges)."""
    if not cexs:
        return

    y = OnnxRunner(model_path).run(np.array([c["x"] for c in cexs]))[:, 0]
    for c, yi in zip(cexs, y, strict=True):
        c["y_onnxruntime"] = float(yi)


def verify_throughput(cfg: Any, ds: Dataset, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Train, export and verify the throughput model (see the module doc); return a JSON-able
    summary with ``counts``, ``times``, ``counterexamples``, ``paths``, ``markdown``, ``text``."""
    progress = progress or null_progress
    out = Path(cfg.out_dir)
    verifier = check_backend(cfg.backend)  # fail before spending time on training
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    gen, _ev = split_dataset(ds, ratio=getattr(cfg, "ratio", 0.9), seed=cfg.seed)
    model_path = out / "models" / "throughput.onnx"
    trained = train_to_onnx(gen, model_path, TrainConfig(arch=THROUGHPUT_ARCH, epochs=EPOCH_CAP,
                                                         tol=1e-3, seed=cfg.seed),
                            force=True, progress=progress)
    times["train"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    all_specs = generate_specs(gen, "tree", seed=cfg.seed, **_tree_params())
    specs = select_specs(all_specs, int(cfg.max_properties))
    domain = (gen.X.min(axis=0), gen.X.max(axis=0))
    bench = out / "throughput-bench"
    export_specset(specs, model_path, bench, timeout=float(cfg.timeout), domain=domain,
                   domain_source="generation fold min/max", category="throughput", force=True)
    instances = read_benchmark(bench)
    times["export"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    budget = float(getattr(cfg, "verify_budget", VERIFY_BUDGET))
    results = _run_within_budget(verifier, instances, budget, progress)
    times["verify"] = time.perf_counter() - t2
    run = instances[:len(results)]
    paths = write_results(out / "throughput-results", run, results, backend=cfg.backend,
                          root=bench, force=True)
    cexs = counterexample_records(specs, run, results, domain)
    _check_cexs_are_real(model_path, cexs)
    plot = plot_counterexamples(cexs, gen.features,
                                out / "plots" / "throughput-counterexamples.png")
    times["total"] = time.perf_counter() - t0
    summ = summarize(results)
    record = {
        "backend": cfg.backend, "timeout": float(cfg.timeout), "arch": trained["arch"],
        "model_metrics": trained["metrics"], "epochs_run": trained["epochs_run"],
        "stopped": trained["stopped"], "specs_mined": len(all_specs), "properties": len(specs),
        "verified": len(results), "not_run": len(instances) - len(results),
        "counts": summ["counts"], "times": {k: round(v, 3) for k, v in times.items()},
        "counterexamples": cexs,
        "paths": {"model": str(model_path), "sidecar": trained["sidecar"], "benchmark": str(bench),
                  "results": str(paths.folder), "results_csv": str(paths.csv),
                  "plot": None if plot is None else str(plot)},
    }
    record["markdown"] = _markdown(record, gen.features)
    record["text"] = _text(record)
    return record


def _counts_line(r: dict[str, Any]) -> str:
    c = r["counts"]
    parts = [f"{c[k]} {k}" for k in ("unsat", "sat", "unknown", "timeout", "error") if c.get(k)]
    if r["not_run"]:
        parts.append(f"{r['not_run']} not run (time budget)")
    return ", ".join(parts) or "nothing verified"


def _markdown(r: dict[str, Any], features: list[str]) -> str:
    head = (f"## Verification of the throughput model (AutoSpec §5.3)\n\n"
            f"Model {r['arch']} ({r['epochs_run']} epochs, {r['stopped']}); "
            f"{r['properties']} of {r['specs_mined']} tree specifications (largest support) "
            f"verified with `{r['backend']}` ({r['timeout']:g} s each): {_counts_line(r)}. "
            f"Verification took {r['times']['verify']:.1f} s.\n\n"
            "### Counterexamples (Figure 6)\n\n")
    plot = r["paths"].get("plot")
    tail = f"\n![counterexamples](plots/{Path(plot).name})\n" if plot else ""
    return head + counterexample_markdown(r["counterexamples"], features) + tail


def _text(r: dict[str, Any]) -> str:
    return (f"Throughput model {r['arch']}: {r['properties']} properties with {r['backend']}: "
            f"{_counts_line(r)}; {len(r['counterexamples'])} counterexample(s) "
            f"({r['times']['verify']:.1f} s).")
