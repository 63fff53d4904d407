"""The runner with a multitask strategy: one search per seed over all tasks, one run record per task."""
import json

import pytest

from nasbench import comparison
from nasbench.comparison import Comparison, ComparisonConfig
from strategies.base import REGISTRY, Strategy


class Shared(Strategy):
    """Evaluates random architectures on every task of one search; counts its searches and budgets."""

    name = "shared"
    multitask = True
    searches: list[tuple[tuple[str, ...], float]] = []

    def search(self, ctx):
        Shared.searches.append((ctx.tasks, ctx.ledger.budget))
        for _ in range(4):
            for task in ctx.tasks:
                ctx.evaluate(ctx.space.sample(ctx.rng), task)
        return {task: ctx.front(task) for task in ctx.tasks}


@pytest.fixture
def shared(toy_benchmark, monkeypatch):
    monkeypatch.setitem(REGISTRY, "shared", Shared)
    monkeypatch.setattr(Shared, "searches", [])
    return Shared


def config(tasks=("a", "b")):
    return ComparisonConfig(strategies=("random", "shared"), tasks=tasks, benchmark="toy", budget=10, seeds=2, k=3)


def test_one_search_per_seed_with_the_summed_budget_and_a_record_per_task(shared, tmp_path):
    runs = Comparison(config(), tmp_path).run()
    assert [(r.strategy, r.task, r.seed) for r in runs] == [
        (n, t, s) for n in ("random", "shared") for t in ("a", "b") for s in (0, 1)
    ]
    cmp = Comparison(config())
    budgets = {t: cmp.budget_for(t)[0] for t in ("a", "b")}
    assert shared.searches == [(("a", "b"), sum(budgets.values()))] * 2
    for run in runs:
        assert run.status == "ok" and run.budget == budgets[run.task] and 0 < run.compute_used <= run.budget
        assert 1 <= len(run.finals) <= 3
    assert all(r.n_evaluations == 4 for r in runs if r.strategy == "shared")
    archive = [json.loads(line) for line in open(tmp_path / "archive.jsonl")]
    assert len(archive) == sum(r.n_evaluations for r in runs)
    assert {(row["strategy"], row["task"]) for row in archive} >= {("shared", "a"), ("shared", "b")}


def test_resume_skips_finished_multitask_runs_and_reruns_a_missing_task_once(shared, tmp_path):
    Comparison(config(), tmp_path).run()
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    Comparison(config(), tmp_path).run()
    assert len(shared.searches) == 2
    kept = [line for line in lines if not (json.loads(line)["strategy"] == "shared" and json.loads(line)["task"] == "b"
                                           and json.loads(line)["seed"] == 1)]
    (tmp_path / "runs.jsonl").write_text("\n".join(kept) + "\n")
    runs = Comparison(config(), tmp_path).run()
    assert len(shared.searches) == 3 and len(runs) == 8
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 8


def test_worker_jobs_return_every_task_of_a_multitask_search(shared):
    comparison._init_worker(config())
    runs = comparison._run_in_worker(("shared", ("a", "b"), 0))
    assert [r.task for r, _ in runs] == ["a", "b"]
    assert all(row["task"] == r.task for r, rows in runs for row in rows)
    single = comparison._run_in_worker(("random", ("a",), 0))
    assert [r.task for r, _ in single] == ["a"]


def test_a_multitask_strategy_on_one_task_is_an_ordinary_run(shared):
    runs = Comparison(config(("a",))).run()
    assert shared.searches == [(("a",), Comparison(config(("a",))).budget_for("a")[0])] * 2
    assert all(r.status == "ok" for r in runs)
