"""Turn run records into the output contract: summary.csv, finals.csv, Pareto plots, report.md."""
from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np

from nasbench import indicators
from nasbench.comparison import RunResult

SUMMARY_FIELDS = [
    "strategy", "task", "seed", "hypervolume", "best_metric", "selected_metric", "n_proposals", "n_evaluations",
    "compute_used", "budget", "budget_unit", "wall_seconds", "status",
]
FINALS_FIELDS = ["strategy", "task", "seed", "arch", "metric", "macs", "params", "latency_ms", "status", "on_front", "selected"]


def summary_rows(runs: Sequence[RunResult]) -> list[dict]:
    """One row per (strategy, task, seed), with any benchmark-specific indicators appended."""
    return [
        {
            "strategy": r.strategy, "task": r.task, "seed": r.seed, "hypervolume": r.hypervolume,
            "best_metric": r.best_metric, "selected_metric": r.selected_metric, "n_proposals": len(r.finals), "n_evaluations": r.n_evaluations,
            "compute_used": r.compute_used, "budget": r.budget, "budget_unit": r.budget_unit,
            "wall_seconds": r.wall_seconds, "status": r.status, **r.indicators,
        }
        for r in runs
    ]


def write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    extra = sorted({k for row in rows for k in row} - set(fields))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields + extra)
        writer.writeheader()
        writer.writerows(rows)


def mean_std(values: Sequence[float]) -> str:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}"


def _grouped(runs: Sequence[RunResult]) -> dict[tuple[str, str], list[RunResult]]:
    groups: dict[tuple[str, str], list[RunResult]] = defaultdict(list)
    for r in runs:
        groups[(r.strategy, r.task)].append(r)
    return groups


def results_table(runs: Sequence[RunResult]) -> str:
    """Markdown table strategy x task: HV mean ± std, best metric, compute, time, failures."""
    extra = sorted({k for r in runs for k in r.indicators})
    head = ["strategy", "task", "seeds", "hypervolume", "best metric", *extra, "compute (MACs)", "search s", "failed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (strategy, task), group in sorted(_grouped(runs).items(), key=lambda kv: (kv[0][1], kv[0][0])):
        cells = [
            strategy, task, str(len(group)),
            mean_std([r.hypervolume for r in group]),
            mean_std([r.best_metric for r in group]),
            *[mean_std([r.indicators.get(k, math.nan) for r in group]) for k in extra],
            f"{np.mean([r.compute_used for r in group]):.3g}",
            f"{np.mean([r.wall_seconds for r in group]):.1f}",
            str(sum(r.status != "ok" for r in group)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_fronts(runs: Sequence[RunResult], folder: Path) -> list[Path]:
    """One chart per task: every strategy's final candidates and its front pooled over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for task in sorted({r.task for r in runs}):
        fig, ax = plt.subplots(figsize=(6, 4.2))
        for i, strategy in enumerate(sorted({r.strategy for r in runs if r.task == task})):
            pts = np.array([
                (f["macs"], f["metric"]) for r in runs if r.task == task and r.strategy == strategy
                for f in r.finals if f["status"] == "ok"
            ]).reshape(-1, 2)
            color = f"C{i}"
            if not len(pts):
                continue
            ax.scatter(pts[:, 0], pts[:, 1], s=14, alpha=0.35, color=color)
            front = pts[indicators.non_dominated(np.column_stack([-pts[:, 1], pts[:, 0]]))]
            front = front[np.argsort(front[:, 0])]
            ax.step(front[:, 0], front[:, 1], where="post", marker="o", color=color, label=strategy)
        ax.set_xscale("log")
        ax.set_xlabel("MACs (forward, batch 1)")
        ax.set_ylabel("test metric")
        ax.set_title(f"Pareto fronts on {task} (pooled over seeds)")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = folder / f"pareto_{task}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


def write_outputs(runs: Sequence[RunResult], out: Path, title: str = "NAS strategy comparison") -> str:
    """Write summary.csv, finals.csv, plots/ and report.md into ``out``; return the results table."""
    write_csv(out / "summary.csv", summary_rows(runs), SUMMARY_FIELDS)
    finals = [{"strategy": r.strategy, "task": r.task, "seed": r.seed, **f} for r in runs for f in r.finals]
    write_csv(out / "finals.csv", finals, FINALS_FIELDS)
    plots = plot_fronts(runs, out / "plots")
    table = results_table(runs)
    body = [
        f"# {title}", "",
        "Hypervolume: of (1 - test metric, MACs / MACs of the largest network) with the reference point (1, 1), "
        "from the final (test-split) evaluation of each run's proposals; mean ± std over seeds.", "",
        table, "",
        *[f"![{p.stem}](plots/{p.name})" for p in plots], "",
    ]
    (out / "report.md").write_text("\n".join(body))
    return table
