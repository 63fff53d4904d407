"""The black-box additions on the synthetic benchmark: the Optuna and pymoo adapters, local
search and the zero-cost warm starts of rea and nsga2 (budget through ctx, determinism, charges, checks)."""
import sys

import pytest

import strategies.local_search  # noqa: F401  (registers ls in this process)
import strategies.optuna_sampler  # noqa: F401  (imports optuna lazily: importable without it)
import strategies.pymoo_algorithm  # noqa: F401
from nasbench.errors import ConfigError
from nasbench.records import Architecture
from strategies import get_strategy
from synthetic import SyntheticEvaluator, ToySpace, search_context


class NeighbourSpace(ToySpace):
    """The toy space with one-change neighbourhoods (what local search needs)."""

    capabilities = ToySpace.capabilities | {"neighbours"}

    def neighbours(self, arch):
        return [self.make(arch.genes[:i] + (v,) + arch.genes[i + 1:])
                for i, n in enumerate(self.choices) for v in range(n) if v != arch.genes[i]]


def run(name, budget_evals=30, seed=0, k=4, unit="macs", evaluator=None, **params):
    space = NeighbourSpace()
    evaluator = evaluator or SyntheticEvaluator(space, "a")
    budget = budget_evals if unit == "queries" else budget_evals * evaluator.compute(space.reference(), evaluator.search_fidelity)
    ctx, ledger, archive = search_context(space, {"a": evaluator}, budget, unit, seed=seed, k=k)
    strategy = get_strategy(name).create(**params)
    strategy.check(space, {"a": None}, k)
    proposals = strategy.run(ctx)
    return strategy, ledger, archive, proposals


CASES = [
    ("ls", {}), ("ls", {"full_neighbourhood": True}), ("ls", {"warm_start": "params", "warm_start_pool": 20}),
    ("rea", {"warm_start": "macs", "warm_start_pool": 16}), ("nsga2", {"warm_start": "params", "warm_start_pool": 16}),
    ("pymoo", {}), ("pymoo", {"algorithm": "moead"}), ("pymoo", {"algorithm": "smsemoa"}), ("pymoo", {"algorithm": "spea2"}),
    ("optuna", {}), ("optuna", {"sampler": "random"}), ("optuna", {"sampler": "cmaes"}),
    ("optuna", {"sampler": "nsgaii", "objective": "multi"}), ("optuna", {"sampler": "tpe", "objective": "multi"}),
]


def _needs(name, params=None):
    if name == "optuna":
        pytest.importorskip("optuna")
        if (params or {}).get("sampler") == "cmaes":
            pytest.importorskip("cmaes")


@pytest.mark.parametrize("name,params", CASES)
def test_spends_only_through_ctx_within_the_ledger_and_fills_the_archive(name, params):
    _needs(name, params)
    _, ledger, archive, proposals = run(name, **params)
    assert ledger.used <= ledger.budget
    assert ledger.remaining < max(e.compute for e in archive.evaluations())  # stopped only when nothing fitted
    assert len(archive) >= 10
    assert 1 <= len(proposals) <= 4 and all(isinstance(a, Architecture) for a in proposals)


@pytest.mark.parametrize("name,params", CASES)
def test_same_seed_same_evaluations_other_seed_others(name, params):
    _needs(name, params)
    keys = [[e.arch for e in run(name, seed=seed, **params)[2].evaluations()] for seed in (5, 5, 6)]
    assert keys[0] == keys[1]
    assert keys[0] != keys[2]


def test_optuna_tells_failed_evaluations_as_fail():
    pytest.importorskip("optuna")
    from optuna.trial import TrialState

    space = NeighbourSpace()
    diverging = SyntheticEvaluator(space, "a", diverge_on=frozenset(range(8, 13)))
    strategy, _, archive, _ = run("optuna", evaluator=diverging, sampler="random")
    failed = sum(not e.ok for e in archive.evaluations())
    states = [t.state for t in strategy.study_.trials]
    assert failed > 0 and states.count(TrialState.FAIL) == failed


def test_optuna_missing_is_a_one_line_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    strategy = get_strategy("optuna").create()
    with pytest.raises(ConfigError, match=r"pip install 'nasbench\[optuna\]'") as info:
        strategy.check(NeighbourSpace(), {"a": None}, 4)
    assert "\n" not in str(info.value)


def test_warm_start_scores_are_charged_and_the_population_starts_from_their_top():
    strategy, ledger, archive, _ = run("rea", budget_evals=30, unit="queries", population=4, warm_start="macs",
                                       warm_start_pool=12)
    evaluations = archive.evaluations()
    assert ledger.spent.queries == 30 and len(evaluations) == 30 - 12  # 12 scores, each one query
    first = [e.arch for e in evaluations[:4]]
    macs = sorted((e.cost.macs for e in evaluations[:4]), reverse=True)
    # the first four trained are the four largest (the "macs" proxy's top) of a 12-member random pool
    assert [e.cost.macs for e in evaluations[:4]] == macs and len(set(first)) == 4


def test_nsga2_warm_start_is_its_first_population():
    from strategies import warm_start

    _, _, archive, _ = run("nsga2", population=6, warm_start="params", warm_start_pool=30, seed=2)
    space = NeighbourSpace()
    ctx, _, _ = search_context(space, {"a": SyntheticEvaluator(space, "a")}, 1e12, seed=2)
    top = warm_start.initial(ctx, "params", 30, 6)
    assert {e.arch for e in archive.evaluations()[:6]} == set(top)


def test_local_search_trains_each_architecture_once():
    _, ledger, archive, _ = run("ls", budget_evals=60, unit="queries", init=3)
    archs = [e.arch for e in archive.evaluations()]
    assert len(archs) == len(set(archs)) == 60 and ledger.used == 60


@pytest.mark.parametrize("name,params,message", [
    ("rea", {"warm_start": "nope"}, "warm_start='nope'"),
    ("rea", {"warm_start": "macs", "warm_start_pool": 5}, "warm_start_pool >= population"),
    ("nsga2", {"warm_start_pool": 0}, "warm_start_pool=0"),
    ("ls", {"init": 0}, "init=0"),
    ("pymoo", {"algorithm": "bogus"}, "algorithm='bogus'"),
    ("optuna", {"sampler": "bogus"}, "sampler='bogus'"),
    ("optuna", {"sampler": "cmaes", "objective": "multi"}, "objective='single' with sampler cmaes"),
])
def test_bad_parameters_are_refused_in_one_line(name, params, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")) as info:
        get_strategy(name).create(**params)
    assert "\n" not in str(info.value)


def test_a_warm_start_proxy_the_space_cannot_score_is_refused_before_any_compute():
    strategy = get_strategy("rea").create(warm_start="zen")  # zen reads a backbone the toy space lacks
    with pytest.raises(ConfigError, match="warm_start proxy 'zen' needs backbone"):
        strategy.check(NeighbourSpace(), {"a": None}, 4)


def test_local_search_needs_neighbourhoods():
    with pytest.raises(ConfigError, match="needs neighbours"):
        get_strategy("ls").create().check(ToySpace(), {"a": None}, 4)
