"""The fmas strategy: a charged parent, at most K fine-tuned finalists, graceful when the budget runs out."""
import pytest

from nasbench.errors import ConfigError
from nasbench.runner.config import Settings, validate
from nasbench.tasks import SEARCH_SPLITS, get_task
from nasbench.trained import TrainingEvaluator
from spaces.mobile import MobileSpace
from strategies import get_strategy
from synthetic import search_context

#: A narrow, shallow space: its largest network (the parent) trains an epoch in well under a second.
SPACE = MobileSpace(widths=((4, 8), (8, 12), (8, 16), (12, 16)), depths=(1, 2), expansions=(1, 3))
TINY = dict(population=4, generations=2, parent_epochs=1, finetune_epochs=1, subset_fraction=0.2, recalibration_batches=1)


def search(budget=1e15, **params):
    """``(ctx, ledger, archive, proposals)`` of one fmas search on cls."""
    ctx, ledger, archive = search_context(
        SPACE, {"cls": TrainingEvaluator(SPACE, get_task("cls", SEARCH_SPLITS), latency=False)}, budget, k=2
    )
    return ctx, ledger, archive, get_strategy("fmas").create(**{**TINY, **params}).run(ctx)


def parent_charge(ctx):
    """One epoch of parent training and its BatchNorm recalibration."""
    macs = ctx.cost(SPACE.make(SPACE.bounds[1])).macs
    return macs * (3 * len(ctx.data("train")) + ctx.recipe().bn_recalibration_samples)


@pytest.fixture(scope="module")
def charged():
    return search()


def test_proposes_at_most_k_finalists_each_fine_tuned_and_recorded(charged):
    ctx, ledger, archive, proposals = charged
    assert 1 <= len(proposals) <= ctx.k and all(SPACE.make(a.genes) == a for a in proposals)
    finetuned = [e for e in archive.evaluations("cls") if e.fidelity.epochs > 0]
    assert {e.arch for e in finetuned} == set(proposals)
    assert all(e.ok and e.split == "val" and e.extra["parent_charged"] == 1.0 and e.compute > 0 for e in finetuned)
    assert ledger.used >= parent_charge(ctx) and ledger.given == []


def test_every_scored_candidate_is_recorded_with_its_subset_metric(charged):
    ctx, _, archive, proposals = charged
    subset = [e for e in archive.evaluations("cls") if e.fidelity.epochs == 0]
    assert len(subset) == len({e.arch for e in subset}) >= len(proposals)
    assert set(proposals) <= {e.arch for e in subset}
    assert all(e.ok and e.extra["val_subset"] == pytest.approx(0.2, abs=0.01) and e.compute > 0 for e in subset)


def test_a_given_parent_is_recorded_as_given_not_charged_and_changes_nothing_else(charged):
    ctx, ledger, archive, proposals = charged
    given_ctx, given_ledger, given_archive, same = search(pretrained_parent=True)
    assert same == proposals
    assert [e.metric for e in given_archive.evaluations()] == [e.metric for e in archive.evaluations()]
    assert ledger.used - given_ledger.used == pytest.approx(parent_charge(ctx))
    assert all(e.extra["parent_charged"] == 0.0 for e in given_archive.evaluations())
    assert [(g.name, g.what) for g in given_ledger.given] == [
        ("pretrained parent", "FMAS parent training"), ("pretrained parent", "BatchNorm recalibration")
    ]
    assert sum(g.macs for g in given_ledger.given) == pytest.approx(parent_charge(ctx))


def test_running_out_of_budget_while_scoring_still_proposes_what_was_scored(charged):
    budget = 1.05 * parent_charge(charged[0])
    _, ledger, archive, proposals = search(budget=budget)
    assert 1 <= len(proposals) <= 2 and ledger.used <= budget
    assert all(e.fidelity.epochs == 0 for e in archive.evaluations())  # no budget left to fine-tune


def test_by_default_generations_run_until_the_finalists_fine_tuning_is_what_is_left():
    budget = 2 * search()[1].used  # about twice what two generations and the fine-tuning cost
    ctx, ledger, archive, proposals = search(budget=budget, generations=None)
    assert 0.9 * budget <= ledger.used <= budget
    finetuned = [e for e in archive.evaluations() if e.fidelity.epochs > 0]
    assert {e.arch for e in finetuned} == set(proposals) and len(proposals) >= 1


def test_a_budget_too_small_for_the_parent_proposes_nothing_and_spends_nothing():
    _, ledger, _, proposals = search(budget=1.0)
    assert proposals == [] and ledger.used == 0


def test_bad_settings_are_refused():
    fmas = get_strategy("fmas")
    for params in ({"objective": "flops"}, {"error": "accuracy"}, {"subset_fraction": 0.0}, {"population": 1}, {"parent_share": 1.5}):
        with pytest.raises(ConfigError):
            fmas.create(**params)


def test_runner_refuses_fmas_on_a_space_without_slicing(toy_benchmark):
    with pytest.raises(ConfigError, match="slicing"):
        validate(Settings(strategies=("fmas",), tasks=("a",), space="toy", budget=10))
