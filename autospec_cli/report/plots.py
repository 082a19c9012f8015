"""Report figures as PNG files: box plots, radar charts, parallel coordinates and bar charts.

The figures of the papers this tool reproduces:

- :func:`scr_boxplot` -- one box per verifier of a score's distribution (e.g. the solution
  count ranking, SCR, of each verifier over benchmarks or seeds);
- :func:`radar_chart` -- per verifier, the maximum (or median) factor level it solved on each
  factor axis (as GDVB's Figures 4-5);
- :func:`parallel_coordinates` -- one line per generated problem through its factor levels
  (as GDVB's Figure 6), optionally coloured by a column such as the verdict or solve count;
- :func:`class_bars` -- grouped bars of a value per class, one bar per group (per-class
  robustness % of each configuration, as the training-factor study's Figures 2-7);
- :func:`time_bars` -- verification time per group (optionally per class, side by side or
  stacked), on a linear axis from 0 unless asked for a log one;
- :func:`cactus_plot` -- instances solved against the time each took, one line per verifier
  (the figure of VNN-COMP reports and most verification papers).

Radar charts become small multiples (one polar panel per verifier, shared radial axis and
factor order, as GDVB draws them) when two verifiers' polygons share an edge, since one
line would then hide the other; legends sit outside the data.

Every function draws on matplotlib's Agg canvas (no display, no pyplot global state), writes
the PNG atomically (:func:`autospec_cli.io.atomic_path`) and returns its path. Reports
regenerate their figures, so an existing file is replaced unless ``force=False``. Empty input
raises :class:`~autospec_cli.errors.InputError`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autospec_cli.errors import InputError
from autospec_cli.io import atomic_path

DPI = 120
PathLike = str | os.PathLike[str]


def _figure(width: float = 7.5, height: float = 5.0, polar: bool = False) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(projection="polar" if polar else None)
    return fig, ax


def _save(fig: Any, path: PathLike, force: bool) -> Path:
    fig.tight_layout()
    with atomic_path(path, force=force) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    return Path(path)


def _finite(values: Sequence[Any]) -> list[float]:
    out = []
    for v in values:
        if v is None:
            continue
        f = float(v)
        if math.isfinite(f):
            out.append(f)
    return out


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def scr_boxplot(data: Mapping[str, Sequence[float]], path: PathLike, *,
                title: str = "Solution count ranking per verifier", ylabel: str = "SCR",
                force: bool = True) -> Path:
    """Box plot per verifier of ``data[verifier]`` (NaN/None dropped); points overlaid."""
    names = [k for k in data if _finite(list(data[k]))]
    if not names:
        raise InputError("scr_boxplot: no finite values to plot")
    series = [_finite(list(data[k])) for k in names]
    fig, ax = _figure(max(5.0, 1.2 * len(names) + 2.5), 5.0)
    ax.boxplot(series, showmeans=True)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=30 if len(names) > 4 else 0,
                  ha="right" if len(names) > 4 else "center")
    for i, s in enumerate(series, start=1):  # the raw values, slightly jittered
        xs = [i + 0.08 * ((k % 5) - 2) / 2 for k in range(len(s))]
        ax.scatter(xs, s, s=10, alpha=0.5, color="tab:gray", zorder=3)
    if all(float(v).is_integer() for v in (x for s in series for x in s)):  # counts
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path, force)


def radar_overlaps(values: Mapping[str, Mapping[str, float]], factors: Sequence[str]) -> bool:
    """Whether two verifiers' polygons share an edge: equal values on two neighbouring factor
    axes (on the only axis or two), where one line hides the other."""
    n = len(factors)
    radii = [[round(_radius(per, f), 9) for f in factors] for per in values.values()]
    for i, a in enumerate(radii):
        for b in radii[i + 1:]:
            same = [x == y for x, y in zip(a, b, strict=True)]
            if n < 3 and any(same):
                return True
            if any(same[k] and same[(k + 1) % n] for k in range(n)):
                return True
    return False


def _radius(per: Mapping[str, float], factor: str) -> float:
    v = float(per.get(factor, 0.0) or 0.0)
    return v if math.isfinite(v) else 0.0


def radar_chart(values: Mapping[str, Mapping[str, float]], path: PathLike, *,
                title: str = "Factor level solved per verifier",
                factors: Sequence[str] | None = None, rmax: float | None = None,
                small_multiples: bool | None = None, force: bool = True) -> Path:
    """A radar (spider) chart: one polygon per verifier over factor axes.

    ``values``: verifier -> factor -> level (e.g. the largest level solved, as an index or
    normalised to [0, 1]). ``factors`` fixes the axis order (default: first-seen order); a
    factor a verifier lacks is drawn at 0. ``rmax`` fixes the radial limit (default: the
    largest value). ``small_multiples``: one panel per verifier (shared axes; the best value
    any verifier reached is a dashed grey outline in every panel) instead of one chart;
    ``None`` (default) chooses them when :func:`radar_overlaps`.
    """
    axes = list(factors) if factors is not None else list(
        dict.fromkeys(f for per in values.values() for f in per))
    if not values or len(axes) < 1:
        raise InputError("radar_chart: need at least one verifier and one factor")
    n = len(axes)
    angles = [2 * math.pi * k / n for k in range(n)]
    radii = {name: [_radius(per, f) for f in axes] for name, per in values.items()}
    top = max(max(r) for r in radii.values())
    limit = rmax if rmax is not None else (top * 1.05 if top > 0 else 1.0)
    colors = dict(zip(values, _colors(len(values)), strict=True))
    if small_multiples is None:
        small_multiples = len(values) > 1 and radar_overlaps(values, axes)
    if not small_multiples:
        fig, ax = _figure(6.5, 6.5, polar=True)
        for name, r in radii.items():
            _polygon(ax, angles, r, colors[name], name)
        _polar_axes(ax, angles, axes, limit)
        ax.set_title(title, pad=18)
        ax.legend(loc="upper left", bbox_to_anchor=(1.08, 1.05), fontsize="small",
                  frameon=False)
        return _save(fig, path, force)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = min(3, len(values))
    rows = math.ceil(len(values) / cols)
    fig = Figure(figsize=(3.6 * cols, 3.7 * rows + 0.6))
    FigureCanvasAgg(fig)
    best = [max(r[k] for r in radii.values()) for k in range(n)]
    for k, (name, r) in enumerate(radii.items()):
        ax = fig.add_subplot(rows, cols, k + 1, projection="polar")
        ax.plot([*angles, angles[0]], [*best, best[0]], color="0.6", linewidth=1,
                linestyle="--")
        _polygon(ax, angles, r, colors[name], name)
        _polar_axes(ax, angles, axes, limit, small=True)
        ax.set_title(name, pad=14, fontsize="medium", color=colors[name])
    fig.suptitle(f"{title}\n(dashed: the best of all verifiers)", fontsize="medium")
    return _save(fig, path, force)


def _polygon(ax: Any, angles: list[float], r: list[float], color: Any, name: str) -> None:
    ax.plot([*angles, angles[0]], [*r, r[0]], color=color, linewidth=2, label=name)
    ax.fill([*angles, angles[0]], [*r, r[0]], color=color, alpha=0.15)


def _polar_axes(ax: Any, angles: list[float], names: list[str], limit: float,
                small: bool = False) -> None:
    ax.set_xticks(angles, names, fontsize="small" if small else None)
    ax.set_ylim(0, limit)
    if len(angles) > 1:  # radial labels between the first two axes, readable over lines
        ax.set_rlabel_position(math.degrees(angles[1]) / 2)
    ticks = [limit * k / 4 for k in range(1, 5)]
    ax.set_yticks(ticks, [f"{t:.3g}" for t in ticks])
    ax.yaxis.set_zorder(5)  # labels over the polygons
    for label in ax.get_yticklabels():
        label.set_bbox({"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 0.6})
    if small:
        ax.tick_params(axis="y", labelsize="x-small")


#: A numeric parallel-coordinate axis labels every value when it has at most this many.
LABEL_EVERY = 8


def _axis_scale(rows: Sequence[Mapping[str, Any]],
                factor: str) -> tuple[Any, list[tuple[float, str]]]:
    """Map a factor's values to [0, 1]; also the labels ``(position, text)`` of the axis:
    every value of a numeric axis with few values (else its min and max), every category."""
    raw = [r.get(factor) for r in rows]
    nums = [v for v in raw if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(nums) == len([v for v in raw if v is not None]) and nums:
        lo, hi = min(nums), max(nums)
        span = hi - lo

        def scale(v: Any) -> float:
            return 0.5 if span == 0 else (float(v) - lo) / span

        shown = sorted(set(nums)) if len(set(nums)) <= LABEL_EVERY else [lo, hi]
        return scale, [(scale(v), f"{v:g}") for v in shown]
    cats = sorted({str(v) for v in raw if v is not None})
    pos = {c: (0.5 if len(cats) == 1 else i / (len(cats) - 1)) for i, c in enumerate(cats)}
    return (lambda v: pos[str(v)]), [(pos[c], c) for c in cats]


def parallel_coordinates(rows: Sequence[Mapping[str, Any]], factors: Sequence[str],
                         path: PathLike, color_by: str | None = None, *,
                         title: str = "Factor levels covered", force: bool = True) -> Path:
    """One line per row through its value on each factor axis (each axis scaled to [0, 1]).

    Numeric axes are labelled with their minimum and maximum, categorical axes with their
    categories. ``color_by`` colours lines by a numeric column (colour bar) or a categorical
    one (legend); rows lacking a factor are skipped.
    """
    factors = list(factors)
    if not factors:
        raise InputError("parallel_coordinates: no factors given")
    rows = [r for r in rows if all(r.get(f) is not None for f in factors)]
    if not rows:
        raise InputError("parallel_coordinates: no row has a value for every factor")
    scales = [_axis_scale(rows, f) for f in factors]
    fig, ax = _figure(max(6.0, 1.4 * len(factors) + 2.0), 5.0)
    colour = _line_colours(fig, ax, rows, color_by)
    xs = list(range(len(factors)))
    for r in rows:
        ys = [scale(r[f]) for (scale, _), f in zip(scales, factors, strict=True)]
        ax.plot(xs, ys, color=colour(r), alpha=0.5, linewidth=1.2)
    for x, (_, labels) in zip(xs, scales, strict=True):
        ax.axvline(x, color="black", linewidth=0.8)
        for y, text in labels:
            ax.text(x + 0.03, y, text, fontsize="x-small", va="center")
    ax.set_xticks(xs, factors)
    ax.set_yticks([])
    ax.set_xlim(-0.2, len(factors) - 0.6 if len(factors) > 1 else 0.8)
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(title)
    return _save(fig, path, force)


def _line_colours(fig: Any, ax: Any, rows: Sequence[Mapping[str, Any]],
                  color_by: str | None) -> Any:
    if color_by is None:
        return lambda r: "tab:blue"
    values = [r.get(color_by) for r in rows]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    counts = numeric and all(float(v).is_integer() for v in values if v is not None) and len(
        set(values)) <= LABEL_EVERY
    if counts:  # a few whole numbers (e.g. how many verifiers solved it): a legend, in order
        from matplotlib import colormaps
        from matplotlib.lines import Line2D

        levels = sorted({int(v) for v in values if v is not None})
        cmap = colormaps["viridis"]
        shade = {v: cmap(0.5 if len(levels) == 1 else 0.9 * k / (len(levels) - 1))
                 for k, v in enumerate(levels)}
        ax.legend([Line2D([0], [0], color=shade[v], linewidth=2) for v in levels],
                  [str(v) for v in levels], title=color_by, fontsize="small",
                  loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return lambda r: shade[int(r[color_by])]
    if numeric:
        from matplotlib import colormaps
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        nums = [v for v in values if isinstance(v, (int, float))]  # all of them (numeric)
        lo, hi = min(nums), max(nums)
        norm = Normalize(lo, hi if hi > lo else lo + 1)
        cmap = colormaps["viridis"]
        fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=color_by)
        return lambda r: cmap(norm(r[color_by]))
    from matplotlib.lines import Line2D

    cats = sorted({str(v) for v in values})
    table = dict(zip(cats, _colors(len(cats)), strict=True))
    ax.legend([Line2D([0], [0], color=table[c]) for c in cats], cats, title=color_by,
              fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return lambda r: table[str(r.get(color_by))]


def _grouped_bars(ax: Any, values: Mapping[str, Mapping[str, float]]) -> None:
    """Bars per class (x) with one bar per group, side by side; a legend of groups."""
    classes = list(dict.fromkeys(c for per in values.values() for c in per))
    groups = list(values)
    width = 0.8 / max(1, len(groups))
    for g, (name, color) in enumerate(zip(groups, _colors(len(groups)), strict=True)):
        xs = [k + (g - (len(groups) - 1) / 2) * width for k in range(len(classes))]
        ys = [float(values[name].get(c, math.nan)) for c in classes]
        ax.bar(xs, [0.0 if math.isnan(y) else y for y in ys], width, label=name, color=color)
    ax.set_xticks(range(len(classes)), classes)
    if len(groups) > 1:
        ax.legend(fontsize="small", ncols=2 if len(groups) > 12 else 1, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="y", alpha=0.3)


def class_bars(values: Mapping[str, Mapping[str, float]], path: PathLike, *,
               ylabel: str = "robust (%)", xlabel: str = "class",
               title: str = "Per-class result", ylim: tuple[float, float] | None = None,
               force: bool = True) -> Path:
    """Grouped bar chart: ``values[group][class]``; classes on x, one bar per group."""
    if not values or not any(values.values()):
        raise InputError("class_bars: no values to plot")
    n_classes = len({c for per in values.values() for c in per})
    fig, ax = _figure(max(6.0, 0.6 * n_classes * max(1, len(values)) ** 0.5 + 3.0), 4.8)
    _grouped_bars(ax, values)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_title(title)
    return _save(fig, path, force)


#: Colours of verdict words, shared by every figure that splits by verdict.
VERDICT_COLOURS = {"unsat": "tab:green", "sat": "tab:red", "timeout": "tab:orange",
                   "unknown": "tab:gray", "error": "black"}


def time_bars(values: Mapping[str, float] | Mapping[str, Mapping[str, float]], path: PathLike,
              *, ylabel: str = "time (s)", xlabel: str = "", title: str = "Verification time",
              log: bool = False, stacked: bool = False, force: bool = True) -> Path:
    """Bars of time: ``{group: seconds}`` (one bar each) or ``{group: {part: seconds}}``.

    Nested values are side by side per part, or with ``stacked`` one bar per group made of
    its parts (coloured by :data:`VERDICT_COLOURS` when the parts are verdict words), so a
    bar's height is the group's total. The axis is linear from 0; ``log`` makes it
    logarithmic (bars then have no common base, so use it only for values spanning orders
    of magnitude, side by side).
    """
    if not values:
        raise InputError("time_bars: no values to plot")
    nested = all(isinstance(v, Mapping) for v in values.values())
    fig, ax = _figure(max(5.5, 0.7 * len(values) + 3.0), 4.8)
    if nested and stacked:
        _stacked_bars(ax, values)  # type: ignore[arg-type]
    elif nested:
        _grouped_bars(ax, values)  # type: ignore[arg-type]
    else:
        names = list(values)
        ys = [float(values[k]) for k in names]  # type: ignore[arg-type]
        ax.bar(range(len(names)), ys, color=_colors(len(names)))
        _group_ticks(ax, names)
        ax.grid(axis="y", alpha=0.3)
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return _save(fig, path, force)


def _group_ticks(ax: Any, names: list[str]) -> None:
    ax.set_xticks(range(len(names)), names, rotation=30 if len(names) > 4 else 0,
                  ha="right" if len(names) > 4 else "center")


def _stacked_bars(ax: Any, values: Mapping[str, Mapping[str, float]]) -> None:
    groups = list(values)
    parts = list(dict.fromkeys(p for per in values.values() for p in per))
    spare = iter(_colors(len(parts)))
    bottom = [0.0] * len(groups)
    for part in parts:
        color = VERDICT_COLOURS.get(part) or next(spare)
        hs = [float(values[g].get(part, 0.0) or 0.0) for g in groups]
        ax.bar(range(len(groups)), hs, 0.6, bottom=bottom, label=part, color=color)
        bottom = [b + h for b, h in zip(bottom, hs, strict=True)]
    _group_ticks(ax, groups)
    handles, labels = ax.get_legend_handles_labels()  # top of the stack first, as drawn
    ax.legend(handles[::-1], labels[::-1], fontsize="small", loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="y", alpha=0.3)


#: :func:`cactus_plot` uses a log time axis when solved times span more than this ratio.
CACTUS_LOG_SPAN = 100.0


def cactus_points(times: Sequence[float]) -> tuple[list[float], list[int]]:
    """The steps of one cactus line: the sorted times and, at each, the instances solved
    within it (1, 2, ...); non-finite times are dropped."""
    ts = sorted(_finite(list(times)))
    return ts, list(range(1, len(ts) + 1))


def cactus_plot(series: Mapping[str, Sequence[float]], path: PathLike, *,
                instances: int | None = None, title: str = "Instances solved within a time",
                force: bool = True) -> Path:
    """A cactus plot: per verifier (one line each), how many instances it solved within each
    time -- the times of its solved instances, sorted (:func:`cactus_points`).

    A line further left and higher is better; its last step is the verifier's solved count.
    The time axis is logarithmic when the positive solved times span more than
    :data:`CACTUS_LOG_SPAN`, else linear from 0. ``instances`` draws the number of instances
    as a dashed line. A verifier that solved nothing stays in the legend with 0.
    """
    if not series:
        raise InputError("cactus_plot: no verifiers to plot")
    fig, ax = _figure(7.5, 4.8)
    every = [t for ts in series.values() for t in _finite(list(ts))]
    positive = [t for t in every if t > 0]
    log = bool(positive) and max(positive) / min(positive) > CACTUS_LOG_SPAN
    floor = min(positive) if log else 0.0
    if log:
        ax.set_xscale("log")
    for (name, ts), color in zip(series.items(), _colors(len(series)), strict=True):
        xs, ys = cactus_points(ts)
        xs = [max(x, floor) for x in xs]
        ax.step([floor, *xs], [0, *ys], where="post", color=color, linewidth=2,
                label=f"{name} ({len(ys)})")
        if xs:
            ax.plot(xs[-1:], ys[-1:], "o", color=color, markersize=4)
    if not log:
        ax.set_xlim(left=0)
    if instances is not None:
        ax.axhline(instances, color="0.5", linestyle="--", linewidth=1)
        ax.text(ax.get_xlim()[0], instances, f" {instances} instances", va="bottom",
                fontsize="x-small", color="0.4")
    ax.set_ylim(bottom=0, top=max(instances or 0, max((len(cactus_points(t)[1])
                                                     for t in series.values()), default=0),
                                  1) * 1.08)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("time per instance (s)" + (", log scale" if log else ""))
    ax.set_ylabel("instances solved")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(title="verifier (solved)", fontsize="small", loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _save(fig, path, force)
