"""Metered training through the context on the real mobile space and cls task: what weight-sharing strategies train with."""
import pytest

from nasbench.costs import count_macs
from nasbench.errors import BudgetExhausted, ConfigError
from nasbench.tasks import SEARCH_SPLITS, get_task
from nasbench.trained import TrainingEvaluator
from spaces import get_space
from synthetic import search_context


def make_ctx(budget=1e15):
    space = get_space("mobile")
    return search_context(space, {"cls": TrainingEvaluator(space, get_task("cls", SEARCH_SPLITS), latency=False)}, budget)


def small(ctx):
    arch = ctx.space.make([0] * ctx.space.n_genes)
    return ctx.space.build(arch, ctx.network_task()), ctx.cost(arch).macs


def test_the_test_split_is_not_open_to_a_search():
    ctx, _, _ = make_ctx()
    assert len(ctx.data("train")) > len(ctx.data("val")) > 0
    with pytest.raises(ConfigError, match="test"):
        ctx.data("test")
    with pytest.raises(ConfigError, match="test"):
        ctx.network_task().split("test")


def test_training_recalibration_and_validation_are_charged_by_the_model_cost():
    ctx, ledger, _ = make_ctx()
    model, macs = small(ctx)
    assert count_macs(model, ctx.network_task().input_shape) == macs
    data = ctx.data("train").subset(range(1024))  # enough to learn from on the warped digits
    before = ctx.validate(model, loss=True)
    ctx.train(model, epochs=2, data=data)
    assert ledger.used == pytest.approx(macs * len(ctx.data("val")) + 3 * macs * 1024 * 2)
    used = ledger.used
    ctx.recalibrate(model, samples=64)
    accuracy = ctx.validate(model)
    assert ledger.used == pytest.approx(used + macs * 64 + macs * len(ctx.data("val")))
    assert ctx.validate(model, loss=True) < before
    assert 0.0 <= accuracy <= 1.0


def test_training_that_does_not_fit_is_refused_before_it_runs():
    ctx, ledger, _ = make_ctx(budget=1.0)
    model, _ = small(ctx)
    weights = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(BudgetExhausted):
        ctx.train(model)
    assert all((p == w).all() for p, w in zip(model.parameters(), weights))
    assert ledger.used == 0
