"""The zen strategy: at most K valid proposals under their MACs constraints, within budget, seeded, CLI-runnable."""
import csv

import numpy as np
import pytest

from nasbench.cli import main
from nasbench.errors import ConfigError
from nasbench.nb201_table import cost_table
from nasbench.runner.config import Settings, validate
from nasbench.tasks import SEARCH_SPLITS, get_task
from nasbench.tasks.nb201 import NB201Evaluator
from spaces.nb201 import NB201Space
from strategies import get_strategy
from synthetic import search_context

DATASET = "imagenet16"  # 16 px inputs: the cheapest networks to score
MEAN_MACS = float(cost_table()[f"{DATASET}_macs"].mean())
SYNFLOW_SCORE = 3 * MEAN_MACS  # a synflow score of an average cell


def search(seed=0, k=3, budget=40 * SYNFLOW_SCORE, unit="macs", **params):
    """``(ctx, ledger, proposals)`` of a zen search on NAS-Bench-201 imagenet16."""
    space = NB201Space()
    ctx, ledger, _ = search_context(space, {DATASET: get_task(DATASET, SEARCH_SPLITS).evaluator(space)}, budget, unit,
                                    seed=seed, k=k)
    params = {"proxy": "synflow", "population": 6, "iterations": 60, "range_samples": 16, **params}
    strategy = get_strategy("zen").create(**params)
    strategy.check(space, {DATASET: get_task(DATASET, SEARCH_SPLITS)}, k)
    return ctx, ledger, strategy.run(ctx)


def test_at_most_one_valid_proposal_per_constraint_each_under_its_limit():
    ctx, _, proposals = search(k=3, constraints=(0.3, 0.7))
    assert 1 <= len(proposals) <= 2 and len(set(proposals)) == len(proposals)
    assert all(ctx.space.make(a.genes) == a for a in proposals)
    pool_rng = np.random.default_rng(0)  # the strategy's first draws: the architectures placing the limits
    pool = [ctx.space.sample(pool_rng) for _ in range(16)]
    limits = np.quantile([ctx.cost(a).macs for a in pool], (0.3, 0.7))
    assert all(m <= limit for m, limit in zip(sorted(ctx.cost(a).macs for a in proposals), limits))


def test_default_levels_give_k_proposals_at_most_best_first():
    ctx, _, proposals = search(k=4)
    assert 1 <= len(proposals) <= 4
    scores = [ctx.score(a, "synflow") for a in proposals]
    assert scores == sorted(scores, reverse=True)


def test_never_overspends_and_stops_only_when_the_next_score_does_not_fit():
    ctx, ledger, proposals = search(budget=25 * SYNFLOW_SCORE, iterations=10_000)
    largest = 3 * max(cost_table()[f"{DATASET}_macs"])
    assert proposals and ledger.used <= ledger.budget
    assert ledger.budget - ledger.used < largest
    assert ledger.spent.queries >= 10


def test_a_query_budget_counts_each_score():
    _, ledger, proposals = search(budget=7, unit="queries", iterations=10_000)
    assert proposals and ledger.spent.queries == 7


def test_same_seed_same_proposals():
    assert search(seed=4)[2] == search(seed=4)[2]


def test_proxy_defaults_to_zendet_on_detection_and_zen_elsewhere():
    strategy = get_strategy("zen").create()
    assert [strategy.proxy_for(t) for t in ("det", "cls", "seg", "cifar10")] == ["zendet", "zen", "zen", "zen"]
    assert get_strategy("zen").create(proxy="zen+params").proxy_for("det") == "zen+params"


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="proxy='zenn' is invalid; valid: one of 'auto' or a proxy"):
        get_strategy("zen").create(proxy="zenn")
    with pytest.raises(ConfigError, match=r"constraints=\(0.5, 1.5\) is invalid; valid: a tuple of 0-64 items, each a number in \(0, 1\]"):
        get_strategy("zen").create(constraints=(0.5, 1.5))
    with pytest.raises(ConfigError, match="more than K=2"):
        search(k=2, constraints=(0.2, 0.5, 1.0))


def test_runner_refuses_zen_on_a_space_without_backbone(toy_benchmark):
    with pytest.raises(ConfigError, match="backbone"):
        validate(Settings(strategies=("zen",), tasks=("a",), space="toy", budget=10))


def test_zen_runs_through_the_cli_on_nb201_beside_random(tmp_path):
    evaluator = NB201Evaluator(NB201Space(), get_task(DATASET, SEARCH_SPLITS))
    budget = 5 * evaluator.compute(NB201Space().reference(), evaluator.search_fidelity)  # five queries
    code = main([
        "--benchmark", "nb201", "--dataset", DATASET, "--strategies", "zen,random", "--seeds", "2",
        "--budget-unit", "macs", "--budget", str(budget), "--k", "3", "--out", str(tmp_path), "--no-progress",
        "--param", "zen.proxy=synflow", "--param", "zen.iterations=30", "--param", "zen.population=5",
        "--param", "zen.range_samples=16",
    ])
    assert code == 0
    rows = list(csv.DictReader(open(tmp_path / "summary.csv")))
    zen = [r for r in rows if r["strategy"] == "zen"]
    assert len(zen) == 2 and {r["status"] for r in zen} == {"ok"}
    assert all(1 <= int(r["n_proposals"]) <= 3 and float(r["compute_used"]) <= budget for r in zen)
