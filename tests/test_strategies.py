"""Every registered strategy against the synthetic benchmark: budget, proposals, determinism."""
import pytest

from nasbench.context import SearchContext
from nasbench.errors import BudgetExhausted, ConfigError
from nasbench.ledger import Ledger
from strategies import get_strategy, load_all
from synthetic import SyntheticEvaluator, ToySpace

#: Strategies the toy space can host (zero-shot and supernet ones need networks it does not build).
STRATEGIES = sorted(name for name, cls in load_all().items() if cls.requires <= ToySpace.capabilities)


def run(name, budget_evals=30, seed=0, k=4, **params):
    space = ToySpace()
    evaluator = SyntheticEvaluator(space, "a")
    unit = evaluator.compute(space.reference(), evaluator.search_fidelity)
    ctx = SearchContext(space, {"a": evaluator}, Ledger(budget_evals * unit), seed, k)
    try:
        proposals = get_strategy(name).create(**params).search(ctx)
    except BudgetExhausted:
        proposals = ctx.front()
    return ctx, proposals


@pytest.mark.parametrize("name", STRATEGIES)
def test_no_strategy_overspends(name):
    ctx, _ = run(name)
    largest = max(e.compute for e in ctx.archive.evaluations())
    assert ctx.ledger.used <= ctx.ledger.budget
    # spending stopped only when the next operation could not fit
    assert ctx.ledger.budget - ctx.ledger.used < largest * 10
    assert len(ctx.archive) > 3


@pytest.mark.parametrize("name", STRATEGIES)
def test_proposals_are_valid_and_at_most_k(name):
    ctx, proposals = run(name, k=4)
    assert 1 <= len(proposals) <= 4
    for arch in proposals:
        assert ctx.space.make(arch.genes) == arch


@pytest.mark.parametrize("name", STRATEGIES)
def test_same_seed_same_archive(name):
    a, _ = run(name, seed=3)
    b, _ = run(name, seed=3)
    assert [e.arch for e in a.archive.evaluations()] == [e.arch for e in b.archive.evaluations()]


def test_evolution_beats_random_on_the_synthetic_objective():
    def best(name):
        return sum(max(e.metric for e in run(name, budget_evals=60, seed=s)[0].archive.evaluations()) for s in range(8))

    assert best("rea") > best("random")


def test_unknown_strategy_and_parameter_name_the_choices():
    with pytest.raises(ConfigError, match="choose from .*random"):
        get_strategy("nope")
    with pytest.raises(ConfigError, match="population"):
        get_strategy("rea").create(populaton=3)
