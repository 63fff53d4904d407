"""The same comparison gives identical summaries and finals in-process, in a process pool and on Ray."""
import csv

import pytest

from nasbench.cli import main

#: Columns that measure time on this machine, not results.
TIMING = {"wall_seconds", "cpu_seconds", "audit_ratio", "audit_flagged"}



def table(path):
    with open(path) as f:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(f)]


def outputs(folder):
    return table(folder / "summary.csv"), table(folder / "finals.csv")


def run(tmp_path, name, common, *layout):
    out = tmp_path / name
    assert main([*common, "--out", str(out), "--no-progress", *layout]) == 0
    return outputs(out)


EMBEDDED = ["--space", "tiny", "--tasks", "blobs", "--strategies", "random,rea,nsga2", "--budget", "30", "--seeds", "2", "--k", "3"]
NB201 = ["--benchmark", "nb201", "--strategies", "random,rea,nsga2", "--seeds", "3", "--budget", "40", "--k", "5"]


def test_workers_1_and_2_give_identical_results_on_trained_tasks(example_plugin, tmp_path):
    one = run(tmp_path, "one", EMBEDDED, "--workers", "1")
    assert all(row["status"] == "ok" for row in one[0]) and len(one[0]) == 6
    assert run(tmp_path, "two", EMBEDDED, "--workers", "2") == one


def test_ray_gives_the_in_process_results(example_plugin, tmp_path):
    pytest.importorskip("ray")
    for name, common in (("embedded", EMBEDDED), ("nb201", NB201)):
        here = run(tmp_path, f"{name}-inprocess", common, "--executor", "inprocess")
        assert run(tmp_path, f"{name}-ray", common, "--executor", "ray", "--workers", "2") == here


@pytest.mark.slow
def test_workers_1_and_2_give_identical_results_on_digit_classification(tmp_path):
    common = ["--tasks", "cls", "--strategies", "random,rea", "--budget", "3", "--seeds", "1", "--k", "2"]
    assert run(tmp_path, "one", common, "--workers", "1") == run(tmp_path, "two", common, "--workers", "2")
