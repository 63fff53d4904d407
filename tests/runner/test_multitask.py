"""A multitask strategy: one search per seed over all tasks, one run record per task, resume per task."""
import json

import pytest

from nasbench.registry import STRATEGIES
from nasbench.runner.config import Settings, validate
from nasbench.runner.executors import InProcess
from nasbench.runner.compare import run_comparison
from nasbench.runner.store import ResultStore
from strategies.base import Strategy


class Shared(Strategy):
    """Evaluates random architectures on every task of one search; counts its searches and budgets."""

    name = "shared"
    multitask = True
    searches: list = []

    def search(self, ctx):
        Shared.searches.append((ctx.tasks, ctx.budget))
        for _ in range(4):
            for task in ctx.tasks:
                ctx.evaluate(ctx.space.sample(ctx.rng), task)
        return {task: ctx.front(task) for task in ctx.tasks}


@pytest.fixture
def shared(toy_benchmark, monkeypatch):
    STRATEGIES.register(Shared)
    monkeypatch.setattr(Shared, "searches", [])
    yield Shared
    STRATEGIES.unregister("shared")


def compare(folder, tasks=("a", "b")):
    the_plan = validate(Settings(strategies=("random", "shared"), tasks=tasks, space="toy", budget=10, seeds=2, k=3))
    with ResultStore(folder) as store:
        store.open(the_plan.identity)
        return the_plan, run_comparison(the_plan, store, InProcess(), InProcess())


def test_one_search_per_seed_with_the_summed_budget_and_a_record_per_task(shared, tmp_path):
    the_plan, runs = compare(tmp_path)
    assert sorted((r["strategy"], r["task"], r["seed"]) for r in runs) == [
        (n, t, s) for n in ("random", "shared") for t in ("a", "b") for s in (0, 1)]
    budgets = {spec.tasks[0]: spec.budgets[spec.tasks[0]] for spec in the_plan.searches if spec.strategy == "random"}
    assert shared.searches == [(("a", "b"), sum(budgets.values()))] * 2
    for run in runs:
        assert run["status"] == "ok" and run["budget"] == budgets[run["task"]] and 0 < run["compute_used"] <= run["budget"]
        assert 1 <= len(run["finals"]) <= 3
    assert all(r["n_evaluations"] == 4 for r in runs if r["strategy"] == "shared")
    archive = [json.loads(line) for line in open(tmp_path / "archive.jsonl")]
    assert len(archive) == sum(r["n_evaluations"] for r in runs)


def test_resume_reruns_a_multitask_search_once_for_a_missing_task(shared, tmp_path):
    compare(tmp_path)
    compare(tmp_path)
    assert len(shared.searches) == 2
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    kept = [line for line in lines if not (json.loads(line)["strategy"] == "shared" and json.loads(line)["task"] == "b"
                                           and json.loads(line)["seed"] == 1)]
    (tmp_path / "runs.jsonl").write_text("\n".join(kept) + "\n")
    (tmp_path / "searches.jsonl").unlink()
    _, runs = compare(tmp_path)
    assert len(shared.searches) == 3 and len(runs) == 8


def test_a_stored_search_is_reused_when_only_its_run_records_are_missing(shared, tmp_path):
    compare(tmp_path)
    (tmp_path / "runs.jsonl").unlink()
    _, runs = compare(tmp_path)
    assert len(shared.searches) == 2 and len(runs) == 8
