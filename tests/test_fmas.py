"""The fmas strategy: a charged parent, at most K fine-tuned finalists, graceful when the budget runs out."""
import pytest

from nasbench.comparison import Comparison, ComparisonConfig
from nasbench.context import SearchContext
from nasbench.errors import ConfigError
from nasbench.ledger import Ledger
from nasbench.tasks import get_task
from nasbench.trained import TrainingEvaluator
from spaces.mobile import MobileSpace
from strategies import get_strategy

#: A narrow, shallow space: its largest network (the parent) trains an epoch in well under a second.
SPACE = MobileSpace(widths=((4, 8), (8, 12), (8, 16), (12, 16)), depths=(1, 2), expansions=(1, 3))
TINY = dict(population=4, generations=2, parent_epochs=1, finetune_epochs=1, subset_fraction=0.2, recalibration_batches=1)


def search(budget=1e15, **params):
    ctx = SearchContext(SPACE, {"cls": TrainingEvaluator(SPACE, get_task("cls"), latency=False)}, Ledger(budget), 0, 2)
    return ctx, get_strategy("fmas").create(**{**TINY, **params}).search(ctx)


def parent_charge(ctx):
    """One epoch of parent training and its BatchNorm recalibration."""
    macs = ctx.cost(SPACE.make(SPACE.bounds[1])).macs
    return macs * (3 * len(ctx.data("train")) + ctx.recipe().bn_recalibration_samples)


@pytest.fixture(scope="module")
def charged():
    return search()


def test_proposes_at_most_k_finalists_each_fine_tuned_and_recorded(charged):
    ctx, proposals = charged
    assert 1 <= len(proposals) <= ctx.k and all(SPACE.make(a.genes) == a for a in proposals)
    finetuned = ctx.archive.evaluations("cls")
    assert {e.arch for e in finetuned} == set(proposals)
    assert all(e.ok and e.split == "val" and e.extra["parent_charged"] == 1.0 for e in finetuned)
    assert set(ctx.front()) <= set(proposals)
    assert ctx.ledger.used >= parent_charge(ctx)


def test_a_given_parent_is_not_charged_and_changes_nothing_else(charged):
    ctx, proposals = charged
    given, same = search(pretrained_parent=True)
    assert same == proposals
    assert [e.metric for e in given.archive.evaluations()] == [e.metric for e in ctx.archive.evaluations()]
    assert ctx.ledger.used - given.ledger.used == pytest.approx(parent_charge(ctx))
    assert all(e.extra["parent_charged"] == 0.0 for e in given.archive.evaluations())


def test_running_out_of_budget_while_scoring_still_proposes_what_was_scored(charged):
    budget = 1.05 * parent_charge(charged[0])
    ctx, proposals = search(budget=budget)
    assert 1 <= len(proposals) <= ctx.k and ctx.ledger.used <= budget
    assert len(ctx.archive) == 0  # no budget left to fine-tune


def test_a_budget_too_small_for_the_parent_proposes_nothing_and_spends_nothing():
    ctx, proposals = search(budget=1.0)
    assert proposals == [] and ctx.ledger.used == 0


def test_bad_settings_are_refused():
    fmas = get_strategy("fmas")
    for params in ({"objective": "flops"}, {"error": "accuracy"}, {"subset_fraction": 0.0}, {"population": 1}, {"parent_share": 1.5}):
        with pytest.raises(ConfigError):
            fmas.create(**params)


def test_runner_refuses_fmas_on_a_space_without_slicing(toy_benchmark):
    with pytest.raises(ConfigError, match="slicing"):
        Comparison(ComparisonConfig(strategies=("fmas",), tasks=("a",), benchmark="toy")).run()
