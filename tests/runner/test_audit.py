"""The compute audit catches what Python cannot forbid; the closed door makes the rest fail."""
import gc
import json

import pytest

from nasbench.cli import main
from nasbench.ledger import Ledger
from nasbench.registry import STRATEGIES
from nasbench.runner import audit
from strategies.base import Strategy


class OffBook(Strategy):
    """Trains networks with the framework's trainer directly: real work the ledger never sees."""

    name = "off-book"

    def search(self, ctx):
        from nasbench.training import train

        view = ctx.network_task()
        arch = ctx.space.make(ctx.space.bounds[1])
        for seed in range(3):
            train(ctx.space.build(arch, view), view, ctx.data("train"), 10, seed, ctx.recipe())
        return [arch]


class PeeksAtTest(Strategy):
    """Looks for the evaluators behind ctx to read test metrics."""

    name = "peeks"

    def search(self, ctx):
        evaluators = ctx._evaluators
        return [max(evaluators, key=lambda a: a)]


class Rewinds(Strategy):
    """Finds the ledger through the garbage collector and rewinds it after every evaluation."""

    name = "rewinds"

    def search(self, ctx):
        ledger = next(o for o in gc.get_objects() if isinstance(o, Ledger) and o.budget == ctx.budget)
        for _ in range(200):
            ctx.evaluate(ctx.space.sample(ctx.rng))
            ledger.spent.queries = ledger.spent.macs = 0
        return ctx.front()


@pytest.fixture
def cheats(toy_benchmark, monkeypatch):
    for cls in (OffBook, PeeksAtTest, Rewinds):
        STRATEGIES.register(cls)
    monkeypatch.setattr(audit, "SLACK_SECONDS", 0.5)
    yield
    for cls in (OffBook, PeeksAtTest, Rewinds):
        STRATEGIES.unregister(cls.name)


def runs(folder):
    return {r["strategy"]: r for r in map(json.loads, open(folder / "runs.jsonl"))}


def test_off_book_training_is_flagged_and_honest_runs_are_not(cheats, example_plugin, tmp_path):
    assert main(["--space", "tiny", "--tasks", "blobs", "--strategies", "off-book,random", "--budget", "30",
                 "--seeds", "1", "--k", "2", "--out", str(tmp_path), "--no-progress", "--workers", "1"]) == 0
    r = runs(tmp_path)
    assert r["off-book"]["status"] == "ok" and r["off-book"]["compute_used"] == 0
    assert r["off-book"]["audit"]["flagged"] and "CPU time beyond" in r["off-book"]["audit"]["reason"]
    assert r["off-book"]["audit"]["unaccounted_seconds"] > 0.5
    assert not r["random"]["audit"]["flagged"], r["random"]["audit"]


def test_reaching_for_private_state_fails_the_run(cheats, tmp_path):
    assert main(["--space", "toy", "--tasks", "a", "--strategies", "peeks,random", "--budget", "5", "--seeds", "1",
                 "--k", "2", "--out", str(tmp_path), "--no-progress", "--workers", "1"]) == 0
    r = runs(tmp_path)
    assert r["peeks"]["status"].startswith("failed: AttributeError") and r["random"]["status"] == "ok"


def test_a_rewound_ledger_is_flagged(cheats, tmp_path):
    assert main(["--space", "toy", "--tasks", "a", "--strategies", "rewinds,random", "--budget", "20",
                 "--budget-unit", "queries", "--seeds", "1", "--k", "2", "--out", str(tmp_path), "--no-progress", "--workers", "1"]) == 0
    r = runs(tmp_path)
    assert r["rewinds"]["audit"]["flagged"] and not r["rewinds"]["audit"]["ledger_consistent"]
    assert "ledger rewound" in r["rewinds"]["audit"]["reason"]
    assert not r["random"]["audit"]["flagged"]
    summary = (tmp_path / "summary.csv").read_text().splitlines()
    assert any(line.startswith("rewinds") and ",True," in line for line in summary)
    assert "rewinds" in (tmp_path / "report.md").read_text().split("udit")[-1]
