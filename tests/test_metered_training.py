"""Metered training through the context: what weight-sharing strategies train with."""
import pytest

from nasbench.context import SearchContext
from nasbench.errors import BudgetExhausted, ConfigError
from nasbench.ledger import Ledger
from nasbench.tasks import get_task
from nasbench.trained import TrainingEvaluator
from spaces import get_space


def make_ctx(budget=1e15):
    space = get_space("mobile")
    return SearchContext(space, {"cls": TrainingEvaluator(space, get_task("cls"), latency=False)}, Ledger(budget), 0, 3)


def small(ctx):
    arch = ctx.space.make([0] * ctx.space.n_genes)
    return ctx.space.build(arch, ctx.network_task()), ctx.cost(arch).macs


def test_the_test_split_is_not_open_to_a_search():
    ctx = make_ctx()
    assert len(ctx.data("train")) > len(ctx.data("val")) > 0
    with pytest.raises(ConfigError, match="test"):
        ctx.data("test")
    with pytest.raises(ConfigError, match="test"):
        ctx.network_task().split("test")


def test_training_recalibration_and_validation_are_charged_as_declared():
    ctx = make_ctx()
    model, macs = small(ctx)
    data = ctx.data("train").subset(range(128))
    before = ctx.validate(model, macs, loss=True)
    ctx.train_steps(model, macs, epochs=2, data=data)
    assert ctx.ledger.used == pytest.approx(macs * len(ctx.data("val")) + 3 * macs * 128 * 2)
    used = ctx.ledger.used
    ctx.recalibrate(model, macs, samples=64)
    accuracy = ctx.validate(model, macs)
    assert ctx.ledger.used == pytest.approx(used + macs * 64 + macs * len(ctx.data("val")))
    assert ctx.validate(model, macs, loss=True) < before
    assert 0.0 <= accuracy <= 1.0


def test_training_that_does_not_fit_is_refused_before_it_runs():
    ctx = make_ctx(budget=1.0)
    model, macs = small(ctx)
    weights = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(BudgetExhausted):
        ctx.train_steps(model, macs)
    assert all((p == w).all() for p, w in zip(model.parameters(), weights))
    assert ctx.ledger.used == 0
