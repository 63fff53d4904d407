"""nasbench.runner.plots: every figure written as PNG and PDF, atomically, with robust axis limits."""
from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from nasbench.runner import plots, stats


def comparison(strategies=("random", "rea", "nsga2"), tasks=("cls",), seeds=range(5), seed=0):
    """Synthetic runs, finals and archive rows of a small comparison (rea fails on seed 3)."""
    rng = np.random.default_rng(seed)
    runs, finals, archive = [], [], []
    for i, s in enumerate(strategies):
        for t in tasks:
            for sd in seeds:
                status = "failed: boom" if (s == "rea" and sd == 3) else "ok"
                runs.append({"strategy": s, "task": t, "seed": sd, "status": status, "reference_macs": 1e7,
                             "hypervolume": 0.5 + 0.05 * i + rng.normal(0, 0.01), "selected_metric": 0.8})
                for j in range(4):
                    macs = 10 ** rng.uniform(5, 7)
                    finals.append({"strategy": s, "task": t, "seed": sd, "metric": 0.6 + 0.05 * i + 0.1 * np.log10(macs / 1e5)
                                   + rng.normal(0, 0.02), "macs": macs, "status": "ok"})
                for k in range(20):
                    macs = 10 ** rng.uniform(5, 7)
                    archive.append({"strategy": s, "task": t, "seed": sd, "index": k, "budget_used": 5.0 * (k + 1),
                                    "budget": 100.0, "metric": 0.5 + 0.02 * k + 0.05 * i, "macs": macs, "status": "ok"})
    return pd.DataFrame(runs), pd.DataFrame(finals), pd.DataFrame(archive)


def test_plot_all_writes_png_and_pdf(tmp_path):
    runs, finals, archive = comparison(tasks=("cls", "det"))
    true_front = np.array([[0.05, 1e7], [0.2, 1e6], [0.35, 1e5]])
    paths = plots.plot_all(runs, finals, archive, tmp_path, true_fronts={"cls": true_front})
    names = {p.name for p in paths}
    for stem in ("pareto_cls", "pareto_det", "anytime_cls", "anytime_det", "attainment_cls", "attainment_det", "cd"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names, stem
    for p in paths:
        assert p.exists() and p.stat().st_size > 1000
        head = p.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if p.suffix == ".png" else head.startswith(b"%PDF")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left behind
    height, width = matplotlib.image.imread(tmp_path / "pareto_cls.png").shape[:2]
    assert 500 < width < 900 and 350 < height < 750  # about 3.5 x 2.6 in at dpi 200


def test_save_is_atomic(tmp_path):
    import matplotlib.pyplot as plt

    old = tmp_path / "fig.png"
    old.write_bytes(b"old")
    fig, ax = plt.subplots()
    ax.plot([1, 2], [1, 2])
    with pytest.raises(ValueError):
        plots.save(fig, tmp_path, "fig", formats=("png", "no-such-format"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]  # the temp file is gone
    assert old.read_bytes() != b"old"  # the png itself was replaced whole, before the failing format
    fig, ax = plt.subplots()
    with pytest.raises(ValueError):
        plots.save(fig, tmp_path, "other", formats=("no-such-format",))
    assert not (tmp_path / "other.no-such-format").exists()


def test_robust_limits_ignore_one_outlier():
    values = np.append(np.linspace(0.1, 0.3, 30), 5.0)
    low, high = plots.robust_limits(values)
    assert high < 0.4 and low < 0.1
    lo, hi = plots.robust_limits(np.append(np.geomspace(1e5, 1e7, 30), 1e13), log=True)
    assert hi < 1e8 and lo < 1e5
    low, high = plots.robust_limits([0.2, 0.2])
    assert low < 0.2 < high  # no zero-width axis


def test_labels_name_the_metric():
    assert plots.error_label("cls") == "test error (1 - accuracy)"
    assert plots.error_label("seg", split="validation") == "validation error (1 - mIoU)"
    assert plots.error_label("new", names={"new": "F1"}) == "test error (1 - F1)"
    styles = plots.strategy_styles(["b", "a"])
    assert styles["a"]["color"] == "C0" and styles["a"]["marker"] != styles["b"]["marker"]
    many = plots.strategy_styles([f"s{i:02d}" for i in range(25)])
    assert len({(st["color"], st["marker"]) for st in many.values()}) == 25  # colours repeat, pairs never do


def test_cd_diagram_without_test(tmp_path):
    runs, _, _ = comparison(strategies=("a", "b"))
    result = stats.friedman(runs)
    assert not result.tested
    paths = plots.cd_diagram(result, tmp_path, "cd_two")
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(Path(p).exists() for p in paths)


def test_failed_runs_finals_not_plotted(tmp_path):
    runs, finals, _ = comparison()
    points = plots._finals_points(finals, "cls", "rea", runs)
    assert len(points) == 4 * 4  # 5 seeds x 4 finals, minus the failed seed's 4
