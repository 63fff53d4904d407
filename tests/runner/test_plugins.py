"""An out-of-tree package (task over its own tensors, space, strategy) installed through entry points."""
import csv
import json

import pytest

from nasbench.cli import main




def args(out, *extra):
    return ["--space", "tiny", "--tasks", "blobs", "--budget", "30", "--seeds", "1", "--k", "2",
            "--out", str(out), "--no-progress", *extra]


def test_plugins_appear_in_the_list(example_plugin, capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in ("blobs", "tiny", "exits-worker", "three-class blob position"):
        assert name in out


def test_a_users_task_and_space_run_in_a_comparison_with_worker_processes(example_plugin, tmp_path):
    assert main(args(tmp_path, "--strategies", "random,rea", "--workers", "2")) == 0
    rows = list(csv.DictReader(open(tmp_path / "summary.csv")))
    assert [(r["strategy"], r["status"]) for r in rows] == [("random", "ok"), ("rea", "ok")]
    assert all(0 < float(r["hypervolume"]) < 1 for r in rows)
    finals = [json.loads(line) for line in open(tmp_path / "finals_cache.jsonl")]
    assert all(f["evaluation"]["split"] == "test" and f["evaluation"]["status"] == "ok" for f in finals)


def test_a_plugin_that_kills_its_worker_is_recorded_and_the_others_finish(example_plugin, tmp_path):
    assert main(args(tmp_path, "--strategies", "exits-worker,random", "--workers", "2")) == 0
    runs = {r["strategy"]: r for r in map(json.loads, open(tmp_path / "runs.jsonl"))}
    assert runs["exits-worker"]["status"] == "failed: worker process died 3 times"
    assert runs["random"]["status"] == "ok" and runs["random"]["finals"]
