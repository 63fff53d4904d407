"""Paper-column figures of a comparison: Pareto fronts, anytime curves, attainment surfaces and
a critical-difference diagram, each written atomically as PNG (dpi 200) and PDF.

Conventions: y is the test (or validation) error 1 - metric, minimised, with the metric named
in the label; x is MACs on a log axis; limits come from robust quantiles (Tukey's far-out
fences), so one outlier does not squash the rest, and points left outside are counted on the
plot; one colour and marker per strategy across every figure; the legend sits above the axes.
Nothing here imports ``spaces`` or ``strategies``.
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from numpy.typing import ArrayLike  # noqa: E402

from nasbench.runner import stats  # noqa: E402
from nasbench.files import atomic_write  # noqa: E402

FIGSIZE = (3.5, 2.6)
DPI = 200
FORMATS = ("png", "pdf")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))

#: Name of each task's test metric, for axis labels ("metric" when unknown).
METRIC_NAMES: dict[str, str] = {
    "cls": "accuracy", "det": "mAP@[.5:.95]", "seg": "mIoU",
    "cifar10": "accuracy", "cifar100": "accuracy", "imagenet16": "accuracy",
}

STYLE = {
    "font.size": 7, "axes.labelsize": 7, "xtick.labelsize": 6, "ytick.labelsize": 6, "legend.fontsize": 6,
    "axes.linewidth": 0.6, "lines.linewidth": 1.0, "grid.linewidth": 0.4, "pdf.fonttype": 42, "ps.fonttype": 42,
}


def metric_name(task: str, names: Mapping[str, str] | None = None) -> str:
    """The test metric's name of ``task`` (``names`` overrides the defaults)."""
    return {**METRIC_NAMES, **(names or {})}.get(task, "metric")


def error_label(task: str, split: str = "test", names: Mapping[str, str] | None = None) -> str:
    """Axis label of the minimised error, e.g. 'test error (1 - accuracy)'."""
    return f"{split} error (1 - {metric_name(task, names)})"


def strategy_styles(strategies: Sequence[str]) -> dict[str, dict]:
    """A fixed colour, marker and line style per strategy (sorted names), shared by every figure, so
    overlapping fronts and grey-scale prints stay distinguishable. Past ten strategies the colours
    repeat with the markers shifted, so no two strategies share a (colour, marker) pair."""
    return {s: {"color": f"C{i % 10}", "marker": MARKERS[(i + i // 10) % len(MARKERS)], "ls": LINESTYLES[i % len(LINESTYLES)]}
            for i, s in enumerate(sorted(strategies))}


def robust_limits(values: ArrayLike, *, log: bool = False, pad: float = 0.06, fence: float = 3.0,
                  floor: float | None = None) -> tuple[float, float]:
    """Axis limits covering every value inside Tukey's far-out fences (quartiles -/+ ``fence`` x IQR),
    padded by ``pad`` of the range; computed in log10 space when ``log``."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if log:
        x = np.log10(x[x > 0])
    if len(x) == 0:
        return (1.0, 10.0) if log else (0.0, 1.0)
    q25, q75 = np.quantile(x, [0.25, 0.75])
    iqr = q75 - q25
    inside = x[(x >= q25 - fence * iqr) & (x <= q75 + fence * iqr)] if iqr > 0 else x
    low, high = float(inside.min()), float(inside.max())
    span = high - low
    if span <= 0:
        span = 0.5 if log else max(abs(high) * 0.1, 0.02)
    low, high = low - pad * span, high + pad * span
    if floor is not None and not log:
        low = max(low, floor)
    return (10 ** low, 10 ** high) if log else (low, high)


def _outside(x: np.ndarray, y: np.ndarray, xlim: tuple[float, float], ylim: tuple[float, float]) -> int:
    return int(np.sum((x < xlim[0]) | (x > xlim[1]) | (y < ylim[0]) | (y > ylim[1])))


def save(fig: plt.Figure, folder: Path | str, name: str, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``folder/name.<fmt>`` for each format, atomically and never through a symlink; close it."""
    folder = Path(folder)
    paths = []
    try:
        for fmt in formats:
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, dpi=DPI, bbox_inches="tight", pad_inches=0.02,
                        metadata={"CreationDate": None} if fmt == "pdf" else None)
            paths.append(atomic_write(folder.parent, f"{folder.name}/{name}.{fmt}", buffer.getvalue()))
    finally:
        plt.close(fig)
    return paths



def _figure() -> tuple[plt.Figure, plt.Axes]:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.grid(alpha=0.3, which="major")
    ax.tick_params(width=0.6, length=2.5)
    return fig, ax


def _legend(ax: plt.Axes, n: int, title: str | None = None) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        per_row = 4 if max(len(label) for label in labels) <= 10 else 3  # keep the legend within the column
        ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(max(n, 1), per_row),
                  frameon=False, fontsize=6, handlelength=2.2, columnspacing=1.0, borderaxespad=0.2,
                  title=title, title_fontsize=5.5)


def _note_outside(ax: plt.Axes, count: int) -> None:
    if count:
        ax.text(0.99, 0.98, f"{count} point{'s' if count > 1 else ''} beyond axes", transform=ax.transAxes,
                ha="right", va="top", fontsize=5, color="0.35")


def _front(points: np.ndarray) -> np.ndarray:
    """Non-dominated (macs, error) points, both minimised, sorted by MACs."""
    if len(points) == 0:
        return points
    import moocore

    front = points[moocore.is_nondominated(points, keep_weakly=False)]
    return front[np.argsort(front[:, 0], kind="stable")]


def _staircase(ax: plt.Axes, front: np.ndarray, xmax: float, **kw) -> None:
    """Draw a minimisation attainment staircase through (macs, error) points, extended to ``xmax``."""
    if len(front) == 0:
        return
    x = np.append(front[:, 0], max(xmax, front[-1, 0]))
    y = np.append(front[:, 1], front[-1, 1])
    ax.step(x, y, where="post", **kw)


def _finals_points(finals: pd.DataFrame, task: str, strategy: str, runs: pd.DataFrame | None) -> np.ndarray:
    rows = finals[(finals["task"] == task) & (finals["strategy"] == strategy)
                  & (finals["status"].astype(str) == "ok") & finals["metric"].notna() & finals["macs"].notna()]
    if runs is not None and len(rows):
        ok = stats.ok_runs(stats.flatten_runs(runs))[["strategy", "task", "seed"]]
        rows = rows.merge(ok, on=["strategy", "task", "seed"], how="inner")
    return np.column_stack([rows["macs"].to_numpy(dtype=float), 1.0 - rows["metric"].to_numpy(dtype=float)])


def pareto_plot(finals: pd.DataFrame, task: str, folder: Path | str, *, runs: pd.DataFrame | None = None,
                styles: Mapping[str, dict] | None = None, metric_names: Mapping[str, str] | None = None) -> list[Path]:
    """``pareto_<task>``: every strategy's final candidates (all seeds, faint) and its front
    pooled over seeds (staircase); finals of failed runs are left out when ``runs`` is given."""
    strategies = sorted(finals.loc[finals["task"] == task, "strategy"].unique())
    styles = styles or strategy_styles(strategies)
    fig, ax = _figure()
    pts = {s: _finals_points(finals, task, s, runs) for s in strategies}
    allp = np.vstack([p for p in pts.values() if len(p)] or [np.zeros((0, 2))])
    xlim = robust_limits(allp[:, 0], log=True)
    ylim = robust_limits(allp[:, 1], floor=0.0)
    for s in strategies:
        p, st = pts[s], styles[s]
        if not len(p):
            continue
        ax.scatter(p[:, 0], p[:, 1], s=6, alpha=0.25, color=st["color"], marker=st["marker"], linewidths=0)
        front = _front(p)
        _staircase(ax, front, xlim[1], color=st["color"], lw=1.0, ls=st["ls"])
        ax.plot(front[:, 0], front[:, 1], ls="none", marker=st["marker"], ms=3, color=st["color"],
                markeredgewidth=0.4, markeredgecolor="white")
        ax.plot([], [], color=st["color"], ls=st["ls"], marker=st["marker"], ms=3, label=s)
    ax.set_xscale("log")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(f"MACs (log scale) — {task}")
    ax.set_ylabel(error_label(task, names=metric_names))
    _note_outside(ax, _outside(allp[:, 0], allp[:, 1], xlim, ylim))
    _legend(ax, len(strategies), "front pooled over seeds (faint: every final candidate)")
    return save(fig, folder, f"pareto_{task}")


def anytime_plot(curves: pd.DataFrame, task: str, folder: Path | str, *, value: str = "hv",
                 styles: Mapping[str, dict] | None = None) -> list[Path]:
    """``anytime_<task>``: per strategy the median (line) and IQR band across seeds of the
    validation-front hypervolume (or ``value``) against the budget used, in % of the budget."""
    summary = stats.anytime_summary(curves[curves["task"] == task], value)
    strategies = sorted(summary["strategy"].unique())
    styles = styles or strategy_styles(strategies)
    fig, ax = _figure()
    for s in strategies:
        d = summary[summary["strategy"] == s].sort_values("fraction")
        x = 100.0 * d["fraction"].to_numpy(dtype=float)
        st = styles[s]
        ax.fill_between(x, d["q25"].to_numpy(dtype=float), d["q75"].to_numpy(dtype=float), color=st["color"],
                        alpha=0.18, linewidth=0, step="post")
        ax.step(x, d["median"].to_numpy(dtype=float), where="post", color=st["color"], ls=st["ls"])
        ax.plot([], [], color=st["color"], ls=st["ls"], marker=st["marker"], ms=2.5, label=s)  # legend: line + marker
        marks = np.isin(np.round(d["fraction"].to_numpy(dtype=float), 6), [0.25, 0.5, 0.75, 1.0])
        ax.plot(x[marks], d["median"].to_numpy(dtype=float)[marks], ls="none", marker=st["marker"], ms=2.5,
                color=st["color"], clip_on=False, zorder=3)
    vals = summary[summary["fraction"] > 0][["q25", "q75"]].to_numpy(dtype=float).ravel()
    if len(vals):
        ax.set_ylim(*robust_limits(vals, floor=0.0))
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"budget used (% of budget) — {task}")
    if value == "hv":
        ax.set_ylabel("validation hypervolume")
    elif value == "hv_ratio_test":
        ax.set_ylabel("test HV ratio to true front")
    else:
        ax.set_ylabel(value)
    _legend(ax, len(strategies), "median across seeds, band: interquartile range")
    return save(fig, folder, f"anytime_{task}" if value == "hv" else f"anytime_{value}_{task}")


def _surface_fn(surface: np.ndarray, xs: np.ndarray, top: float) -> np.ndarray:
    """Best error attained with MACs <= x for each x of ``xs`` (``top`` where nothing is attained)."""
    out = np.full(len(xs), top)
    if len(surface):
        order = np.argsort(surface[:, 0])
        mx, me = surface[order, 0], np.minimum.accumulate(surface[order, 1])
        idx = np.searchsorted(mx, xs, side="right") - 1
        out[idx >= 0] = me[idx[idx >= 0]]
    return out


def attainment_plot(surfaces: pd.DataFrame, task: str, folder: Path | str, *, true_front: ArrayLike | None = None,
                    styles: Mapping[str, dict] | None = None, metric_names: Mapping[str, str] | None = None,
                    band: tuple[float, float] = (25, 75), median: float = 50) -> list[Path]:
    """``attainment_<task>``: per strategy the median (50 %) attainment surface of its final
    fronts across seeds, the 25-75 % band shaded, and the true front (black, dashed) when given
    as (1 - test metric, MACs) rows."""
    d = surfaces[surfaces["task"] == task]
    strategies = sorted(d["strategy"].unique())
    styles = styles or strategy_styles(strategies)
    fig, ax = _figure()
    xs_all = d["macs"].to_numpy(dtype=float)
    ys_all = d["error"].to_numpy(dtype=float)
    tf = None
    if true_front is not None and len(true_front):
        tf = np.asarray(true_front, dtype=float)
        xs_all, ys_all = np.append(xs_all, tf[:, 1]), np.append(ys_all, tf[:, 0])
    xlim = robust_limits(xs_all, log=True)
    ylim = robust_limits(ys_all, floor=0.0)
    grid = np.unique(np.concatenate([np.geomspace(*xlim, 400), xs_all[(xs_all >= xlim[0]) & (xs_all <= xlim[1])]]))
    for s in strategies:
        st = styles[s]
        surf = {p: g[["macs", "error"]].to_numpy(dtype=float) for p, g in d[d["strategy"] == s].groupby("percentile")}
        lo, hi = surf.get(float(band[0])), surf.get(float(band[1]))
        if lo is not None:
            y_lo = _surface_fn(lo, grid, ylim[1])
            y_hi = _surface_fn(hi if hi is not None else np.zeros((0, 2)), grid, ylim[1])
            ax.fill_between(grid, y_lo, y_hi, step="post", color=st["color"], alpha=0.18, linewidth=0)
        med = surf.get(float(median))
        if med is not None and len(med):
            front = med[np.argsort(med[:, 0])]
            n_sets = int(d.loc[d["strategy"] == s, "n_sets"].max())
            _staircase(ax, front, xlim[1], color=st["color"], lw=1.0, ls=st["ls"])
            ax.plot(front[:, 0], front[:, 1], ls="none", marker=st["marker"], ms=2.5, color=st["color"],
                    markeredgewidth=0.3, markeredgecolor="white")
            ax.plot([], [], color=st["color"], ls=st["ls"], marker=st["marker"], ms=2.5, label=f"{s} (n={n_sets})")
    if tf is not None:
        front = _front(np.column_stack([tf[:, 1], tf[:, 0]]))
        _staircase(ax, front, xlim[1], color="black", lw=0.8, ls="--", label="true front")
    ax.set_xscale("log")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(f"MACs (log scale) — {task}")
    ax.set_ylabel(error_label(task, names=metric_names))
    _legend(ax, len(strategies) + (tf is not None),
            f"{median:g}% attainment surface over seeds, band: {band[0]:g}-{band[1]:g}%")
    return save(fig, folder, f"attainment_{task}")


def _cliques(names: list[str], ranks: np.ndarray, cd: float) -> list[tuple[int, int]]:
    """Maximal runs [i, j] of rank-sorted strategies whose rank spread is below the CD."""
    groups: list[tuple[int, int]] = []
    for i in range(len(ranks)):
        j = i
        while j + 1 < len(ranks) and ranks[j + 1] - ranks[i] < cd:
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in groups):
            groups.append((i, j))
    return groups


def cd_diagram(result: stats.FriedmanResult, folder: Path | str, name: str = "cd") -> list[Path]:
    """Critical-difference diagram (Demšar 2006): average ranks on an axis (1 = best, left), the
    Nemenyi CD bar, and thick bars joining strategies whose ranks differ by less than the CD."""
    table = result.ranks.dropna().sort_values("mean_rank")
    names, ranks = list(table["strategy"]), table["mean_rank"].to_numpy(dtype=float)
    k = max(len(names), 2)
    half = math.ceil(len(names) / 2)
    step = 0.16
    cliques = _cliques(names, ranks, result.cd) if math.isfinite(result.cd) else []
    first = -0.12 - 0.09 * len(cliques)
    bottom = first - step * (half - 1) - 0.26
    height = 0.35 + 0.5 * (0.75 - bottom)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(FIGSIZE[0], height))
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(bottom, 0.75)
    ax.axis("off")
    ax.hlines(0, 1, k, color="black", lw=0.8)
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.07, color="black", lw=0.8)
        ax.text(r, 0.1, str(r), ha="center", va="bottom", fontsize=6)
    for r in np.arange(1.5, k, 1.0):
        ax.vlines(r, 0, 0.035, color="black", lw=0.5)
    if math.isfinite(result.cd):
        ax.hlines(0.5, 1, 1 + result.cd, color="black", lw=1.0)
        ax.vlines([1, 1 + result.cd], 0.46, 0.54, color="black", lw=0.8)
        ax.text(1 + result.cd / 2, 0.57, f"CD = {result.cd:.2f}", ha="center", va="bottom", fontsize=6)
    for i, (s, r) in enumerate(zip(names, ranks)):
        left = i < half
        level = first - step * (i if left else len(names) - 1 - i)
        x_text = 0.75 if left else k + 0.25
        ax.plot([r, r, x_text], [0, level, level], color="0.2", lw=0.6)
        ax.text(x_text + (-0.04 if left else 0.04), level, f"{s} ({r:.2f})", ha="right" if left else "left",
                va="center", fontsize=6)
    for g, (i, j) in enumerate(cliques):
        y = -0.08 - 0.09 * g
        ax.hlines(y, ranks[i] - 0.04, ranks[j] + 0.04, color="black", lw=1.8, zorder=3)
    if result.tested:
        caption = (f"mean rank (1 = best) of {result.metric}; Friedman p = {result.p_value:.2g}, "
                   f"N = {result.n_blocks} ({result.blocks.replace('_', ' x ')})")
    else:
        caption = f"mean rank (1 = best) of {result.metric}; {result.note or 'no test'}"
    ax.text((k + 1) / 2, bottom, caption, ha="center", va="bottom", fontsize=5, color="0.35")
    return save(fig, folder, name)


def plot_all(runs: pd.DataFrame, finals: pd.DataFrame, archive: pd.DataFrame | None, folder: Path | str, *,
             true_fronts: Mapping[str, ArrayLike] | None = None, metric_names: Mapping[str, str] | None = None,
             friedman_result: stats.FriedmanResult | None = None) -> list[Path]:
    """Every figure of a comparison into ``folder``: pareto_, anytime_ (when there is an archive),
    attainment_ per task and the CD diagram (when there are >= 2 strategies); returns the paths."""
    runs = stats.flatten_runs(runs)
    styles = strategy_styles(sorted(runs["strategy"].unique()))
    true_fronts = true_fronts or {}
    paths: list[Path] = []
    surfaces = stats.attainment(finals, runs) if len(finals) else pd.DataFrame()
    curves = stats.anytime_curves(archive, runs, true_fronts=true_fronts) if archive is not None and len(archive) else None
    for task in sorted(runs["task"].unique()):
        if len(finals) and (finals["task"] == task).any():
            paths += pareto_plot(finals, task, folder, runs=runs, styles=styles, metric_names=metric_names)
        if curves is not None and (curves["task"] == task).any():
            paths += anytime_plot(curves, task, folder, styles=styles)
            if "hv_ratio_test" in curves.columns and curves.loc[curves["task"] == task, "hv_ratio_test"].notna().any():
                paths += anytime_plot(curves, task, folder, value="hv_ratio_test", styles=styles)
        if len(surfaces) and (surfaces["task"] == task).any():
            paths += attainment_plot(surfaces, task, folder, true_front=true_fronts.get(task), styles=styles,
                                     metric_names=metric_names)
    result = friedman_result or stats.friedman(runs)
    if len(result.ranks.dropna()) >= 2:
        paths += cd_diagram(result, folder)
    return paths
