"""Matplotlib (Agg) figures of a training-factor study report; each returns the PNG's path."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.io import atomic_path

FACTORS: tuple[str, ...] = ("initialiser", "regulariser", "seed")
VERDICT_COLOURS = {"robust": "tab:green", "unknown": "tab:orange", "not_robust": "tab:red"}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    with atomic_path(path, force=True) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return path


def per_class_plot(rows: list[dict[str, Any]], out_dir: Path) -> Path:
    """Per factor a panel: per class, one bar per level of the instances *not* proven robust
    (not robust at the bottom, unknown hatched on top), so the few that differ between levels
    are visible; the axis is fitted to the largest bar; legends sit right of the panels."""
    plt = _plt()
    from matplotlib.patches import Patch

    fig, axes = plt.subplots(len(FACTORS), 1, figsize=(10, 3.0 * len(FACTORS)), squeeze=False)
    for ax, f in zip(axes[:, 0], FACTORS, strict=True):
        rs = [r for r in rows if r["factor"] == f]
        levels = list(dict.fromkeys(r["level"] for r in rs))
        classes = sorted({r["class"] for r in rs})
        width = 0.8 / max(1, len(levels))
        top = 0
        for k, lv in enumerate(levels):
            by = {r["class"]: r for r in rs if r["level"] == lv}
            bad = [int(by[c]["not_robust"]) if c in by else 0 for c in classes]
            unk = [int(by[c]["unknown"]) if c in by else 0 for c in classes]
            xs = np.arange(len(classes)) + (k - (len(levels) - 1) / 2) * width
            colour = f"C{k % 10}"
            ax.bar(xs, bad, width, color=colour, label=str(lv))
            ax.bar(xs, unk, width, bottom=bad, color=colour, alpha=0.45, hatch="///",
                   edgecolor="white", linewidth=0)
            top = max(top, *(b + u for b, u in zip(bad, unk, strict=True)))
        ax.set_xticks(np.arange(len(classes)), [str(c) for c in classes])
        ax.set_xlabel("class")
        ax.set_ylabel("not proven robust")
        ax.set_ylim(0, max(1, top) * 1.12)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="y", alpha=0.3)
        ns = sorted({int(r["n"]) for r in rs})
        of = f"of {ns[0]} per bar" if len(ns) == 1 else f"of {ns[0]}-{ns[-1]} per bar"
        ax.set_title(f"instances not proven robust, per class and {f} ({of})")
        if top == 0:
            ax.text(0.5, 0.5, "every instance proven robust", transform=ax.transAxes,
                    ha="center", va="center", color="0.4")
        handles, labels = ax.get_legend_handles_labels()  # the levels, then the verdicts
        handles += [Patch(facecolor="0.35", label="not robust"),
                    Patch(facecolor="0.35", alpha=0.45, hatch="///", edgecolor="white",
                          label="unknown")]
        ax.legend(handles=handles, labels=[*labels, "not robust", "unknown"], title=f,
                  fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False)
    fig.tight_layout()
    return _save(fig, out_dir / "per_class_robustness.png")


def time_by_factor_plot(rows: list[dict[str, Any]], out_dir: Path) -> Path:
    """Bars of mean time per instance for every level of every factor."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(FACTORS), figsize=(4 * len(FACTORS), 3.4), squeeze=False)
    for ax, f in zip(axes[0], FACTORS, strict=True):
        rs = [r for r in rows if r["factor"] == f]
        ax.bar([str(r["level"]) for r in rs], [1000 * r["avg_time"] for r in rs],
               color="tab:blue")
        ax.set_title(f"time by {f}")
        ax.set_ylabel("mean time per instance (ms)")
        ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return _save(fig, out_dir / "time_by_factor.png")


def reg_init_plot(cells: list[dict[str, Any]], out_dir: Path) -> Path:
    """Heat map of mean time per instance, regulariser (rows) x initialiser (columns)."""
    plt = _plt()
    regs = list(dict.fromkeys(c["regulariser"] for c in cells))
    inits = list(dict.fromkeys(c["initialiser"] for c in cells))
    M = np.full((len(regs), len(inits)), np.nan)
    for c in cells:
        M[regs.index(c["regulariser"]), inits.index(c["initialiser"])] = 1000 * c["mean_time"]
    fig, ax = plt.subplots(figsize=(1.8 * len(inits) + 2, 1.0 * len(regs) + 1.5))
    im = ax.imshow(M, cmap="viridis")
    ax.set_xticks(range(len(inits)), inits)
    ax.set_yticks(range(len(regs)), regs)
    for (i, j), v in np.ndenumerate(M):
        if np.isfinite(v):  # dark text on the light end of the colour map
            r, g, b, _ = im.cmap(im.norm(v))
            light = 0.299 * r + 0.587 * g + 0.114 * b > 0.5
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", color="k" if light else "w")
    fig.colorbar(im, ax=ax, label="mean time per instance (ms)")
    ax.set_title("time: regulariser x initialiser")
    return _save(fig, out_dir / "reg_init_time.png")


def unstable_time_plot(instances: list[dict[str, Any]], out_dir: Path) -> Path:
    """Scatter of unstable ReLUs against time per instance, coloured by verdict."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    groups: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for i in instances:
        if i["unstable"] >= 0:
            groups[i["verdict"]].append((i["unstable"], 1000 * i["time"]))
    for verdict, pts in groups.items():
        a = np.array(pts, dtype=float)
        ax.scatter(a[:, 0], a[:, 1], s=8, alpha=0.5, label=verdict,
                   color=VERDICT_COLOURS.get(verdict))
    ax.set_xlabel("unstable ReLUs")
    ax.set_ylabel("time per instance (ms)")
    ax.set_yscale("log")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("unstable ReLUs vs verification time")
    return _save(fig, out_dir / "unstable_vs_time.png")


__all__ = ["per_class_plot", "reg_init_plot", "time_by_factor_plot", "unstable_time_plot"]
