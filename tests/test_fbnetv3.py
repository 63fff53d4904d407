"""fbnetv3: budget, archive, determinism, free-statistics pretraining, recipes, parameter checks, the predictor."""
import numpy as np
import pytest
import torch
from scipy import stats

from nasbench.errors import ConfigError
from nasbench.records import Fidelity
from nasbench.registry import STRATEGIES
from nasbench.tasks import SEARCH_SPLITS, get_task
from nasbench.trained import TrainingEvaluator
from spaces import get_space
from strategies.fbnetv3 import Encoder, FBNetV3, Predictor, sobol_candidates
from synthetic import SyntheticEvaluator, ToySpace, search_context

FAST = {"pool_size": 256, "pretrain_samples": 128, "members": 2, "population": 16, "generations": 3, "children": 8}


def toy_ctx(budget=30, unit="queries", seed=0, k=3):
    space = ToySpace()
    evaluator = SyntheticEvaluator(space, "a")
    return search_context(space, {"a": evaluator}, budget, unit, seed, k) + (evaluator,)


def nb201_ctx(budget=30, unit="queries", seed=0, k=5):
    space = get_space("nb201")
    return search_context(space, {"cifar10": get_task("cifar10", SEARCH_SPLITS).evaluator(space)}, budget, unit, seed, k)


def run(ctx, **params):
    strategy = FBNetV3.create(**{**FAST, **params})
    return strategy, strategy.run(ctx)


def test_registered_under_its_name():
    assert STRATEGIES.get("fbnetv3") is FBNetV3


def test_spends_exactly_its_query_budget_and_archives_every_evaluation():
    ctx, ledger, archive, evaluator = toy_ctx(budget=30)
    strategy, proposals = run(ctx)
    assert ledger.spent.queries == 30 == len(archive) == evaluator.calls
    assert ledger.used <= ledger.budget
    assert 1 <= len(proposals) <= 3 and len(set(proposals)) == len(proposals)
    evaluated = {e.evaluation.arch for e in archive}
    assert set(proposals) <= evaluated  # proposals are measured, not only predicted
    assert all(e.evaluation.recipe is None for e in archive)  # a table: architectures only


def test_respects_a_macs_budget():
    ctx, ledger, archive, _ = toy_ctx(budget=3.0 * 1000 * 18 * 100 * 12.5, unit="macs")  # about 12 mid-size evaluations
    run(ctx)
    assert 0 < ledger.used <= ledger.budget and len(archive) >= 8


def test_same_seed_same_search_other_seed_other_search():
    def trace(seed):
        ctx, _, archive, _ = toy_ctx(seed=seed)
        _, proposals = run(ctx)
        return [e.evaluation.arch for e in archive], proposals

    assert trace(0) == trace(0)
    assert trace(0)[0] != trace(1)[0]


def test_torch_global_random_state_is_left_alone():
    ctx, _, _, _ = toy_ctx(budget=15)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    run(ctx)
    assert torch.equal(torch.get_rng_state(), before)


def test_pretraining_uses_free_statistics_when_proxy_scores_would_cost_queries():
    ctx, ledger, archive = nb201_ctx(budget=20)
    strategy, _ = run(ctx, proxies=("synflow",), proxy_samples=16)
    assert strategy.predictor_.pretrained and strategy.n_stats_ == 2  # log MACs, log params: no proxy column
    assert ledger.spent.queries == len(archive) == 20  # every query went to an evaluation


def test_pretraining_before_any_evaluation_charges_nothing():
    ctx, ledger, archive = nb201_ctx(budget=0.5)  # not even one query fits
    strategy, proposals = run(ctx, proxies=())
    assert strategy.predictor_.pretrained and ledger.used == 0 and len(archive) == 0 and proposals == []


def test_affordable_proxy_scores_are_charged_and_join_the_pretraining():
    ctx, ledger, archive = nb201_ctx(budget=1e16, unit="macs")
    ctx_free, ledger_free, _ = nb201_ctx(budget=1e16, unit="macs")
    with_proxy, _ = run(ctx, proxies=("synflow",), proxy_samples=8, pool_size=64, pretrain_samples=16)
    without, _ = run(ctx_free, proxies=(), pool_size=64, pretrain_samples=16)
    assert with_proxy.n_stats_ == 3 and without.n_stats_ == 2
    evaluated = sum(e.evaluation.compute for e in archive)
    assert ledger.used > evaluated  # the scores were charged on top of the evaluations
    assert ledger.spent.queries == len(archive) + 8


def test_nb201_searches_architectures_at_the_tables_fidelity():
    ctx, ledger, archive = nb201_ctx(budget=25, k=5)
    strategy, proposals = run(ctx)
    assert strategy.recipes_ is None and strategy.ladder_ == [None]
    assert {e.evaluation.fidelity for e in archive} == {Fidelity(12)} and len(archive) == 25
    assert all(e.evaluation.recipe is None for e in archive) and len(proposals) <= 5


@pytest.mark.parametrize("bad", [
    {"pool_size": 0}, {"pretrain": 1}, {"proxies": "synflow"}, {"proxy_share": 0.9}, {"batch": 0},
    {"rungs": ()}, {"rungs": (0.0, 1.0)}, {"rank_threshold": 2.0}, {"cost_range": (0.5, 0.2)},
    {"cost_range": (0.0, 1.5)}, {"members": 0}, {"local": 1.5}, {"optimism": -1.0}, {"elites": 0},
    {"pool_size": 64, "pretrain_samples": 128},
    {"batch": 2, "promote": 3},
])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ConfigError):
        FBNetV3.create(**bad)


def test_unknown_proxy_is_refused_before_the_search():
    space = get_space("nb201")
    with pytest.raises(ConfigError, match="proxy"):
        FBNetV3.create(proxies=("nope",)).check(space, {"cifar10": get_task("cifar10", SEARCH_SPLITS)}, 5)


def test_a_cost_range_keeps_every_evaluation_inside_it():
    from nasbench.nb201_table import cost_table

    ctx, _, archive = nb201_ctx(budget=20)
    strategy, proposals = run(ctx, cost_range=(0.2, 0.6))
    low, high = strategy.macs_range_
    largest = cost_table()["cifar10_macs"].max()  # the all-3x3 cell (the upper-bound genotype is the all-pooling one)
    assert high / 0.6 == pytest.approx(low / 0.2) and 0.5 * largest <= high / 0.6 <= largest
    assert len(archive) == 20 and all(low <= e.evaluation.cost.macs <= high for e in archive)
    assert all(low <= ctx.cost(a).macs <= high for a in proposals)


def test_sobol_candidates_are_distinct_and_spread():
    space = ToySpace()
    cands = sobol_candidates(space, None, 256, seed=0)
    assert len(cands) == len(set(cands)) > 200
    genes = np.array([c.arch.genes for c in cands])
    counts = np.array([np.bincount(genes[:, i], minlength=4) for i in range(space.n_genes)])
    assert counts.min() >= 0.8 * counts.max()  # every option of every gene about equally often
    assert sobol_candidates(space, None, 256, seed=0) == cands != sobol_candidates(space, None, 256, seed=1)


def test_predictor_is_deterministic_and_learns_a_ranking():
    space = ToySpace()
    cands = sobol_candidates(space, None, 512, seed=0)
    evaluator = SyntheticEvaluator(space, "a")
    encode = Encoder(space.choices, None)
    X = encode(cands)
    y = np.array([evaluator.true_metric(c.arch) for c in cands])
    S = np.log([[evaluator.cost(c.arch).macs, evaluator.cost(c.arch).params] for c in cands])

    def fitted(seed):
        p = Predictor(X.shape[1], 2, seed=seed, pretrain_steps=100)
        p.pretrain(X, S)
        p.fit(X[:40], y[:40])
        return p

    a, b = fitted(0), fitted(0)
    assert np.array_equal(a.predict(X), b.predict(X))
    assert stats.spearmanr(a.predict(X[40:]), y[40:]).statistic > 0.8
    macs = np.exp(a.predict_stats(X)[:, 0])
    assert stats.spearmanr(macs, np.exp(S[:, 0])).statistic > 0.95  # the proxy head learnt the free statistics


def cls_ctx(evals, recipes=None):
    space = get_space("mobile")
    evaluator = TrainingEvaluator(space, get_task("cls", SEARCH_SPLITS), latency=False)
    budget = evals * evaluator.compute(space.reference(), evaluator.search_fidelity)
    return search_context(space, {"cls": evaluator}, budget, "macs", 0, 3, recipes=recipes), evaluator


@pytest.mark.slow
def test_searches_recipes_on_a_trained_task_with_early_stopping_and_recommends_them():
    recipes: dict = {}
    (ctx, ledger, archive), evaluator = cls_ctx(10, recipes)
    strategy, proposals = run(ctx, pool_size=64, pretrain_samples=16, proxies=(), batch=2, promote=1, calibration_share=1.0)
    s = evaluator.search_fidelity.epochs
    assert strategy.ladder_ == [Fidelity(s), Fidelity(2 * s)]  # kept: the calibration fits in the whole budget
    assert ledger.used <= ledger.budget and len(archive) >= 5
    assert all(e.evaluation.recipe is not None for e in archive)
    assert {e.evaluation.fidelity.epochs for e in archive} == {s, 2 * s}
    assert all(e.evaluation.fidelity.epochs <= e.evaluation.recipe["epochs"] for e in archive)  # early stopping
    assert proposals and set(recipes["cls"]) == {a.key for a in proposals}
    assert all(ctx.recipe_space().contains(r) for r in recipes["cls"].values())


@pytest.mark.slow
def test_an_unaffordable_ladder_collapses_to_the_search_epochs_and_arch_only_uses_the_final_schedule():
    recipes: dict = {}
    (ctx, ledger, archive), evaluator = cls_ctx(4, recipes)
    strategy, proposals = run(ctx, pool_size=64, pretrain_samples=16, proxies=(), search_recipe=False)
    assert strategy.ladder_ == [evaluator.search_fidelity]  # 8 candidates x (1 + 2) rungs would not fit in 30% of 4
    final = ctx.recipe_space().default()
    assert len(archive) >= 2 and all(e.evaluation.recipe == final.to_dict() for e in archive)
    assert recipes == {} and ledger.used <= ledger.budget


@pytest.fixture
def long_blobs(example_plugin):
    """The plug-in's blobs task searched at 2 epochs of an 8-epoch final schedule: an early-stopping ladder of 2 and 4."""
    from nasbench.registry import TASKS
    from nasbench_plugin_example import Blobs

    class LongBlobs(Blobs):
        name, description = "longblobs", "blobs, searched at 2 of 8 epochs"
        search_epochs, final_epochs = 2, 8

    TASKS.register(LongBlobs, "longblobs")
    yield
    TASKS.unregister("longblobs")


@pytest.mark.parametrize("share, budget, rungs", [(0.3, 60, 1), (1.0, 100, 2)])
def test_runs_to_its_finalists_whether_the_ladder_is_kept_or_collapsed(long_blobs, tmp_path, share, budget, rungs):
    """The ladder is kept when its calibration fits in ``calibration_share`` of the budget, collapsed to one
    rung otherwise, and the search reaches its finalists and proposals either way."""
    import csv
    import json

    from nasbench.cli import main

    out = tmp_path / "out"
    assert main(["--space", "tiny", "--tasks", "longblobs", "--strategies", "fbnetv3", "--budget", str(budget),
                 "--seeds", "1", "--k", "2", "--executor", "inprocess", "--no-progress", "--out", str(out),
                 "--param", f"fbnetv3.calibration_share={share}", "--param", "fbnetv3.pool_size=64",
                 "--param", "fbnetv3.pretrain_samples=16", "--param", "fbnetv3.proxies=()", "--param", "fbnetv3.batch=4"]) == 0
    (row,) = csv.DictReader(open(out / "summary.csv"))
    assert row["status"] == "ok" and float(row["compute_used"]) > 0.75 * float(row["budget"]), row["stop_reason"]
    epochs = {json.loads(line)["fidelity"]["epochs"] for line in open(out / "archive.jsonl")}
    assert epochs == ({2} if rungs == 1 else {2, 4})
