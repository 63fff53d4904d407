import numpy as np
import pytest

from nasbench.context import SearchContext
from nasbench.errors import BudgetExhausted, ConfigError, InvalidArchitecture
from nasbench.ledger import Ledger
from nasbench.records import Architecture
from synthetic import SyntheticEvaluator, ToySpace


def make_ctx(budget=1e9, k=3, seed=0):
    space = ToySpace()
    return SearchContext(space, {"a": SyntheticEvaluator(space, "a")}, Ledger(budget), seed, k)


def test_every_evaluation_is_charged_and_archived():
    ctx = make_ctx()
    arch = ctx.space.sample(ctx.rng)
    first = ctx.evaluate(arch)
    ctx.evaluate(arch)
    assert ctx.ledger.used == 2 * first.compute
    assert len(ctx.archive) == 2
    assert [e.budget_used for e in ctx.archive] == [first.compute, 2 * first.compute]


def test_evaluations_are_on_the_validation_split_only():
    ctx = make_ctx()
    assert ctx.evaluate(ctx.space.sample(ctx.rng)).split == "val"
    assert not any("test" in name for name in dir(ctx) if not name.startswith("__"))


def test_budget_exhaustion_happens_before_the_evaluation_runs():
    ctx = make_ctx(budget=1.0)
    evaluator = ctx._evaluators["a"]
    with pytest.raises(BudgetExhausted):
        ctx.evaluate(ctx.space.sample(ctx.rng))
    assert evaluator.calls == 0 and len(ctx.archive) == 0


def test_foreign_and_invalid_architectures_are_refused():
    ctx = make_ctx()
    with pytest.raises(InvalidArchitecture):
        ctx.evaluate(Architecture("other", (0,) * 6))
    with pytest.raises(InvalidArchitecture):
        ctx.evaluate(Architecture("toy", (9,) * 6))
    with pytest.raises(ConfigError):
        ctx.evaluate(ctx.space.sample(ctx.rng), task="zzz")


def test_front_is_non_dominated_and_at_most_k():
    ctx = make_ctx(k=3)
    evals = [ctx.evaluate(ctx.space.sample(ctx.rng)) for _ in range(40)]
    front = ctx.front()
    assert 1 <= len(front) <= 3
    by_arch = {e.arch: e for e in evals}
    for a in front:
        ea = by_arch[a]
        assert not any(
            e.metric >= ea.metric and e.cost.macs <= ea.cost.macs and (e.metric > ea.metric or e.cost.macs < ea.cost.macs)
            for e in evals
        )
    best = max(evals, key=lambda e: e.metric)
    assert best.metric == max(by_arch[a].metric for a in front)  # the extreme survives trimming


def test_same_seed_same_draws():
    a, b = make_ctx(seed=7), make_ctx(seed=7)
    assert [a.space.sample(a.rng) for _ in range(5)] == [b.space.sample(b.rng) for _ in range(5)]
