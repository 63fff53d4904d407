"""The zen strategy: evolution that spends its budget, at most K valid proposals under their limits, scores kept per machine."""
import csv

import numpy as np
import pytest

from nasbench.cli import main
from nasbench.errors import ConfigError
from nasbench.nb201_table import cost_table
from nasbench.proxies import get_proxy
from nasbench.runner.config import Settings, mean_query_compute, validate
from nasbench.tasks import SEARCH_SPLITS, get_task
from nasbench.tasks.nb201 import NB201Evaluator
from spaces.nb201 import NB201Space
from strategies import get_strategy
from strategies import zen
from synthetic import search_context

DATASET = "imagenet16"  # 16 px inputs: the cheapest networks to score
MEAN_MACS = float(cost_table()[f"{DATASET}_macs"].mean())
SYNFLOW_SCORE = 3 * MEAN_MACS  # a synflow score of an average cell


@pytest.fixture(autouse=True)
def score_cache(tmp_path, monkeypatch):
    """Every test starts from an empty per-machine score table of its own."""
    monkeypatch.setenv("NASBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(zen.ScoreTable, "_open", {})


def search(seed=0, k=3, budget=40 * SYNFLOW_SCORE, unit="macs", **params):
    """``(ctx, ledger, strategy, proposals)`` of a zen search on NAS-Bench-201 imagenet16."""
    space = NB201Space()
    ctx, ledger, _ = search_context(space, {DATASET: get_task(DATASET, SEARCH_SPLITS).evaluator(space)}, budget, unit,
                                    seed=seed, k=k)
    params = {"proxy": "synflow", "range_samples": 16, **params}
    strategy = get_strategy("zen").create(**params)
    strategy.check(space, {DATASET: get_task(DATASET, SEARCH_SPLITS)}, k)
    return ctx, ledger, strategy, strategy.run(ctx)


def test_at_most_one_valid_proposal_per_constraint_each_under_its_limit():
    ctx, _, _, proposals = search(k=3, constraints=(0.3, 0.7))
    assert 1 <= len(proposals) <= 2 and len(set(proposals)) == len(proposals)
    assert all(ctx.space.make(a.genes) == a for a in proposals)
    pool_rng = np.random.default_rng(0)  # the strategy's first draws: the architectures placing the limits
    pool = [ctx.space.sample(pool_rng) for _ in range(16)]
    limits = np.quantile([ctx.cost(a).macs for a in pool], (0.3, 0.7))
    assert all(m <= limit for m, limit in zip(sorted(ctx.cost(a).macs for a in proposals), limits))


def test_default_levels_give_k_proposals_at_most_best_first():
    _, _, strategy, proposals = search(k=4)
    assert 1 <= len(proposals) <= 4
    scores = [strategy.scores_[a] for a in proposals]
    assert scores == sorted(scores, reverse=True)


def test_spends_the_budget_and_stops_only_when_the_next_score_does_not_fit():
    ctx, ledger, strategy, proposals = search(budget=60 * SYNFLOW_SCORE)
    largest = 3 * max(cost_table()[f"{DATASET}_macs"])
    assert proposals and ledger.used <= ledger.budget
    assert ledger.budget - ledger.used < largest
    assert ledger.spent.queries == len(strategy.scores_) >= 30  # every score paid once


def test_the_iteration_cap_is_only_a_safety_bound():
    _, ledger, strategy, _ = search(budget=1e18, iterations=50)
    assert strategy.iteration_ == 50 and ledger.spent.queries <= 50


def test_a_query_budget_counts_each_score():
    _, ledger, _, proposals = search(budget=7, unit="queries")
    assert proposals and ledger.spent.queries == 7


def test_same_seed_same_proposals():
    assert search(seed=4)[3] == search(seed=4)[3]


def test_population_is_the_papers_scaled_to_the_budget():
    assert zen.paper_population(480_000) == 512 and zen.paper_population(10**7) == 512
    assert zen.paper_population(35_000) == 138
    assert zen.paper_population(100) == zen.MIN_POPULATION
    _, ledger, strategy, _ = search(budget=60 * SYNFLOW_SCORE, k=2)
    expected = zen.paper_population(len(strategy.scores_) / 2)  # about what the budget pays per level
    assert zen.MIN_POPULATION <= strategy.size_ <= max(expected, zen.MIN_POPULATION) * 2


def test_each_level_keeps_the_best_scored_networks_under_its_limit():
    ctx, _, strategy, _ = search(budget=80 * SYNFLOW_SCORE, k=2, population=5)
    for level in strategy.levels_:
        fitting = sorted((s for a, s in strategy.scores_.items() if ctx.cost(a).macs <= level.limit), reverse=True)
        assert len(level) == min(5, len(fitting))
        assert sorted(level.scores.values(), reverse=True) == fitting[: len(level)]


def test_a_network_scored_before_is_read_from_the_machines_table_and_charged_the_same(monkeypatch):
    first_ctx, first, _, found = search(seed=1)
    calls = []
    synflow = type(get_proxy("synflow"))
    original = synflow.score
    monkeypatch.setattr(synflow, "score", lambda self, subject, seed: calls.append(1) or original(self, subject, seed))
    zen.ScoreTable._open.clear()  # a new process: the table is read from disk
    _, again, _, found_again = search(seed=1)
    assert found_again == found and again.spent.macs == first.spent.macs and again.spent.queries == first.spent.queries
    assert calls == []


def test_score_seed_fixes_the_draw_and_none_takes_the_search_seed():
    space = NB201Space()
    evaluator = get_task(DATASET, SEARCH_SPLITS).evaluator(space)
    subject = zen.Subject(space, space.make((3, 3, 2, 3, 1, 3)), evaluator.network_task(), evaluator.cost)
    fixed, per_search = zen.Drawn(get_proxy("synflow"), 0), zen.Drawn(get_proxy("synflow"), None, cached=False)
    assert fixed.score(subject, 1) == fixed.score(subject, 2) == per_search.score(subject, 0)
    assert per_search.score(subject, 1) != per_search.score(subject, 0)
    assert fixed.compute(evaluator.cost(subject.arch)) == get_proxy("synflow").compute(evaluator.cost(subject.arch))


def test_proxy_defaults_to_zendet_on_detection_and_zen_elsewhere():
    strategy = get_strategy("zen").create()
    assert [strategy.proxy_for(t) for t in ("det", "cls", "seg", "cifar10")] == ["zendet", "zen", "zen", "zen"]
    assert get_strategy("zen").create(proxy="zen+params").proxy_for("det") == "zen+params"


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="proxy='zenn' is invalid; valid: one of 'auto' or a proxy"):
        get_strategy("zen").create(proxy="zenn")
    with pytest.raises(ConfigError, match=r"constraints=\(0.5, 1.5\) is invalid; valid: a tuple of 0-64 items, each a number in \(0, 1\]"):
        get_strategy("zen").create(constraints=(0.5, 1.5))
    with pytest.raises(ConfigError, match="population='big' is invalid"):
        get_strategy("zen").create(population="big")
    with pytest.raises(ConfigError, match="more than K=2"):
        search(k=2, constraints=(0.2, 0.5, 1.0))


def test_runner_refuses_zen_on_a_space_without_backbone(toy_benchmark):
    with pytest.raises(ConfigError, match="backbone"):
        validate(Settings(strategies=("zen",), tasks=("a",), space="toy", budget=10))


def test_a_query_budget_becomes_the_same_compute_in_macs_for_zen():
    plan = validate(Settings(strategies=("zen", "random"), tasks=(DATASET,), space="nb201", budget=5, budget_unit="queries"))
    evaluator = NB201Evaluator(NB201Space(), get_task(DATASET, SEARCH_SPLITS))
    rng = np.random.default_rng(0)  # the mean compute of a query over 200 seeded random cells
    query = np.mean([evaluator.compute(NB201Space().sample(rng), evaluator.search_fidelity) for _ in range(200)])
    units = {s.strategy: (s.unit, s.budgets[DATASET]) for s in plan.searches}
    assert units["zen"] == ("macs", pytest.approx(5 * query)) and units["random"] == ("queries", 5)


def test_zen_runs_through_the_cli_on_nb201_beside_random_with_a_query_budget(tmp_path):
    code = main([
        "--benchmark", "nb201", "--dataset", DATASET, "--strategies", "zen,random", "--seeds", "2",
        "--budget-unit", "queries", "--budget", "2", "--k", "3", "--out", str(tmp_path / "out"), "--no-progress",
        "--param", "zen.proxy=synflow", "--param", "zen.range_samples=16", "--param", "zen.iterations=120",
    ])
    assert code == 0
    rows = list(csv.DictReader(open(tmp_path / "out" / "summary.csv")))
    zen_rows = [r for r in rows if r["strategy"] == "zen"]
    assert len(zen_rows) == 2 and {r["status"] for r in zen_rows} == {"ok"}
    assert all(1 <= int(r["n_proposals"]) <= 3 for r in zen_rows)
    evaluator = NB201Evaluator(NB201Space(), get_task(DATASET, SEARCH_SPLITS))
    budget = 2 * mean_query_compute(NB201Space(), evaluator)  # two mean queries, in MACs
    assert all(float(r["budget"]) == pytest.approx(budget) and 0 < float(r["compute_used"]) <= budget for r in zen_rows)
    assert {float(r["budget"]) for r in rows if r["strategy"] == "random"} == {2.0}
