"""The NAS-Bench-201 comparison end to end through the CLI (also exercises worker processes)."""
import csv

from nasbench.cli import main


def test_nb201_comparison_reports_ground_truth_indicators(tmp_path):
    args = ["--benchmark", "nb201", "--dataset", "cifar10", "--strategies", "random,rea", "--seeds", "2",
            "--budget", "30", "--out", str(tmp_path), "--no-progress", "--workers", "2"]
    assert main(args) == 0
    rows = list(csv.DictReader(open(tmp_path / "summary.csv")))
    assert len(rows) == 4
    for row in rows:
        assert row["budget_unit"] == "queries" and int(row["n_evaluations"]) == 30
        assert 80 < float(row["best_test_acc"]) <= 94.3733
        assert 0 < float(row["hv_ratio"]) <= 1 and float(row["igd"]) >= 0
    finals = list(csv.DictReader(open(tmp_path / "finals.csv")))
    assert sum(r["selected"] == "True" for r in finals) == 4
    for row in rows:
        picked = [f for f in finals if f["selected"] == "True" and f["strategy"] == row["strategy"] and f["seed"] == row["seed"]]
        assert float(picked[0]["metric"]) * 100 == float(row["best_test_acc"])
