"""The runner end to end on the toy benchmark: outputs, resume by fingerprint, isolation, misfits."""
import csv
import json

import pytest

from nasbench.cli import main
from nasbench.registry import STRATEGIES
from strategies.base import Strategy


def toy_args(out, *extra):
    return ["--space", "toy", "--tasks", "a", "--strategies", "random,rea", "--budget", "15", "--budget-unit", "evals",
            "--seeds", "2", "--k", "3", "--out", str(out), "--no-progress", "--workers", "1", *extra]


@pytest.fixture
def plugin(toy_benchmark):
    """Register strategy classes for one test."""
    added = []

    def add(cls):
        STRATEGIES.register(cls)
        added.append(cls.name)
        return cls

    yield add
    for name in added:
        STRATEGIES.unregister(name)


def lines(path):
    return [json.loads(line) for line in open(path)]


def test_output_contract(toy_benchmark, tmp_path, capsys):
    assert main(toy_args(tmp_path)) == 0
    summary = list(csv.DictReader(open(tmp_path / "summary.csv")))
    assert len(summary) == 4
    for row in summary:
        assert row["status"] == "ok" and row["budget_unit"] == "macs"
        assert float(row["compute_used"]) <= float(row["budget"])
        assert 0 < float(row["hypervolume"]) < 1 and 1 <= int(row["n_proposals"]) <= 3
    finals = list(csv.DictReader(open(tmp_path / "finals.csv")))
    assert {"strategy", "task", "seed", "arch", "metric", "val_metric", "macs", "on_front", "selected"} <= set(finals[0])
    archive = lines(tmp_path / "archive.jsonl")
    assert len(archive) == sum(int(r["n_evaluations"]) for r in summary)
    assert all(a["split"] == "val" and a["fingerprint"] and a["attempt"] for a in archive)
    runs = lines(tmp_path / "runs.jsonl")
    assert all("params" in r["settings"] and r["fingerprint"] for r in runs)
    assert "hypervolume" in capsys.readouterr().out
    assert (tmp_path / "report.md").exists() and (tmp_path / "stats.csv").exists()


def test_rerun_resumes_without_redoing_finished_runs(toy_benchmark, tmp_path):
    assert main(toy_args(tmp_path)) == 0
    before = {name: (tmp_path / name).read_text() for name in ("runs.jsonl", "archive.jsonl", "config.json", "searches.jsonl")}
    assert main(toy_args(tmp_path)) == 0
    assert {name: (tmp_path / name).read_text() for name in before} == before


@pytest.mark.parametrize("change, named", [
    (["--param", "rea.population=50", "--param", "rea.sample=25"], "params.population: 10 stored vs 50 now"),
    (["--budget", "16"], "budget: 15.0 stored vs 16.0 now"),
    (["--k", "4"], "k: 3 stored vs 4 now"),
    (["--time-limit", "100"], "time_limit: 21600.0 stored vs 100.0 now"),
])
def test_changed_settings_are_refused_naming_the_first_difference(toy_benchmark, tmp_path, capsys, change, named):
    assert main(toy_args(tmp_path, "--seeds", "1")) == 0
    runs_before = (tmp_path / "runs.jsonl").read_text()
    config_before = (tmp_path / "config.json").read_text()
    capsys.readouterr()
    assert main(toy_args(tmp_path, "--seeds", "1", *change)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and "--beside" in err
    assert (tmp_path / "runs.jsonl").read_text() == runs_before
    assert (tmp_path / "config.json").read_text() == config_before


def test_changed_code_is_refused(toy_benchmark, tmp_path, capsys, monkeypatch):
    from nasbench.runner import config

    assert main(toy_args(tmp_path, "--seeds", "1")) == 0
    monkeypatch.setattr(config, "code_fingerprint", lambda: "edited")
    assert main(toy_args(tmp_path, "--seeds", "1")) == 2
    assert "code: " in capsys.readouterr().err


def test_beside_starts_the_new_settings_in_a_new_folder(toy_benchmark, tmp_path, capsys):
    out = tmp_path / "res"
    assert main(toy_args(out, "--seeds", "1")) == 0
    assert main(toy_args(out, "--seeds", "1", "--budget", "20", "--beside")) == 0
    siblings = sorted(p.name for p in tmp_path.iterdir())
    assert len(siblings) == 2 and siblings[0] == "res" and siblings[1].startswith("res-")
    assert json.loads((tmp_path / siblings[1] / "config.json").read_text())["budget"] == 20.0
    assert f"results in {tmp_path / siblings[1]}/" in capsys.readouterr().out


def test_more_seeds_extend_a_folder(toy_benchmark, tmp_path):
    assert main(toy_args(tmp_path, "--seeds", "1")) == 0
    assert main(toy_args(tmp_path, "--seeds", "2")) == 0
    assert sorted((r["strategy"], r["seed"]) for r in lines(tmp_path / "runs.jsonl")) == [
        ("random", 0), ("random", 1), ("rea", 0), ("rea", 1)]


def test_failed_runs_are_retried_and_counted_apart(plugin, tmp_path):
    @plugin
    class Flaky(Strategy):
        name = "flaky"
        fail = True

        def search(self, ctx):
            ctx.evaluate(ctx.space.sample(ctx.rng))
            if Flaky.fail:
                raise RuntimeError("boom")
            return ctx.front()

    args = toy_args(tmp_path, "--strategies", "flaky,random", "--seeds", "1")
    assert main(args) == 0
    runs = {r["strategy"]: r for r in lines(tmp_path / "runs.jsonl")}
    assert runs["flaky"]["status"] == "failed: RuntimeError: boom" and runs["flaky"]["hypervolume"] is None
    report = (tmp_path / "report.md").read_text()
    assert "flaky" in report
    Flaky.fail = False
    assert main(args) == 0
    last = {r["strategy"]: r for r in lines(tmp_path / "runs.jsonl")}
    assert last["flaky"]["status"] == "ok" and len(lines(tmp_path / "runs.jsonl")) == 3


@pytest.mark.parametrize("body, status", [
    ("raise RuntimeError('boom')", "failed: RuntimeError: boom"),
    ("import sys; sys.exit(0)", "failed: SystemExit: 0"),
    ("return 42", "failed: TypeError: search returned int, expected architectures"),
    ("return ['toy:1-1-1-1-1-1']", "failed: TypeError: search returned a str among its architectures"),
    ("return [ctx.space.make((i,) * 6) for i in range(4)]", "failed: proposed 4 architectures for a, K=3"),
    ("return {'zzz': []}", "failed: TypeError: proposals for tasks ['zzz'] that were not searched"),
    ("ctx.evaluate(ctx.space.sample(ctx.rng))\n        while True: pass", "timeout: wall-clock limit of 2 s reached"),
])
def test_misbehaving_plugins_are_recorded_and_the_others_finish(plugin, tmp_path, body, status):
    namespace = {}
    exec(f"def search(self, ctx):\n        {body}", namespace)
    plugin(type("Misbehaves", (Strategy,), {"name": "bad", "search": namespace["search"]}))
    assert main(toy_args(tmp_path, "--strategies", "bad,random", "--seeds", "1", "--time-limit", "2")) == 0
    runs = {r["strategy"]: r for r in lines(tmp_path / "runs.jsonl")}
    assert runs["bad"]["status"] == status and runs["bad"]["finals"] == []
    assert runs["random"]["status"] == "ok" and runs["random"]["finals"]


def test_list_shows_strategies_spaces_and_tasks(capsys):
    assert main(["--list", "-v"]) == 0
    out = capsys.readouterr().out
    for name in ("random", "rea", "nsga2", "mobile", "nb201", "cls", "cifar10"):
        assert name in out
    assert "population = 10" in out
