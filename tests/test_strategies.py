"""Every registered strategy against the synthetic benchmark: budget, proposals, determinism, checks, parameters."""
import hashlib
import inspect

import pytest

from nasbench.errors import ConfigError
from spaces import get_space
from strategies import get_strategy, load_all
from strategies.base import AskTellStrategy, Interval, Strategy, validate_parameters
from synthetic import SyntheticEvaluator, ToySpace, search_context

#: Strategies the toy space can host (zero-shot and supernet ones need networks it does not build).
STRATEGIES = sorted(name for name, cls in load_all().items() if cls.requires <= ToySpace.capabilities)


def run(name, budget_evals=30, seed=0, k=4, **params):
    space = ToySpace()
    evaluator = SyntheticEvaluator(space, "a")
    unit = evaluator.compute(space.reference(), evaluator.search_fidelity)
    ctx, ledger, archive = search_context(space, {"a": evaluator}, budget_evals * unit, seed=seed, k=k)
    proposals = get_strategy(name).create(**params).run(ctx)
    return ctx, ledger, archive, proposals


@pytest.mark.parametrize("name", STRATEGIES)
def test_no_strategy_overspends(name):
    _, ledger, archive, _ = run(name)
    largest = max(e.compute for e in archive.evaluations())
    assert ledger.used <= ledger.budget
    # spending stopped only when the next operation could not fit
    assert ledger.budget - ledger.used < largest * 10
    assert len(archive) > 3


@pytest.mark.parametrize("name", STRATEGIES)
def test_proposals_are_valid_and_at_most_k(name):
    ctx, _, _, proposals = run(name, k=4)
    assert 1 <= len(proposals) <= 4
    for arch in proposals:
        assert ctx.space.make(arch.genes) == arch


@pytest.mark.parametrize("name", STRATEGIES)
def test_same_seed_same_archive(name):
    a = run(name, seed=3)[2]
    b = run(name, seed=3)[2]
    assert [e.arch for e in a.evaluations()] == [e.arch for e in b.evaluations()]


def test_evolution_beats_random_on_the_synthetic_objective():
    def best(name):
        return sum(max(e.metric for e in run(name, budget_evals=60, seed=s)[2].evaluations()) for s in range(8))

    assert best("rea") > best("random")


#: sha1 of the evaluation sequences (arch keys, '|'-joined) on NAS-Bench-201 cifar10, 100 queries,
#: seeds 0-2, recorded with the strategies as they were before the ask/tell base (commit 0e86ff1).
SEQUENCES = {
    "random": "13c5540961f64b1f08256fe86436f37cae37ac24",
    "rea": "2c5cfc9d263cd48f54c2e7eed115872136d33fb6",
    "nsga2": "4e3b3e9ee55d11d575f4fd54fafd47227a2469d5",
}


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_black_box_strategies_make_the_same_evaluations_as_before_the_ask_tell_base(name):
    from nasbench.tasks import get_task

    space = get_space("nb201")
    keys = []
    for seed in range(3):
        ctx, _, archive = search_context(space, {"cifar10": get_task("cifar10", ("train", "val")).evaluator(space)},
                                         100, "queries", seed=seed, k=10)
        get_strategy(name).create().run(ctx)
        keys += [e.arch.key for e in archive.evaluations()]
    assert hashlib.sha1("|".join(keys).encode()).hexdigest() == SEQUENCES[name]


def test_black_box_strategies_fill_ask_tell_hooks_and_write_no_budget_loop():
    for name in ("random", "rea", "nsga2", "zen"):
        cls = get_strategy(name)
        assert issubclass(cls, AskTellStrategy) and "search" not in vars(cls)
    for cls in load_all().values():
        source = inspect.getsource(inspect.getmodule(cls))
        assert "suppress(BudgetExhausted)" not in source or "while True" not in source


def test_unknown_strategy_and_parameter_name_the_choices():
    with pytest.raises(ConfigError, match="choose from .*random"):
        get_strategy("nope")
    with pytest.raises(ConfigError, match="population"):
        get_strategy("rea").create(populaton=3)


BAD = [
    ("rea", "population", -5), ("rea", "population", 0), ("rea", "population", "abc"), ("rea", "population", [1, 2]),
    ("rea", "population", True), ("rea", "population", 1e9), ("rea", "population", 10.0), ("rea", "population", None),
    ("rea", "population", [[1]]), ("rea", "sample", 0), ("rea", "sample", float("nan")),
    ("nsga2", "population", "abc"), ("nsga2", "population", 1), ("nsga2", "eta_crossover", -1.0),
    ("nsga2", "eta_mutation", float("inf")), ("nsga2", "eta_mutation", "3"),
    ("zen", "constraints", (2.0,)), ("zen", "constraints", (0.0,)), ("zen", "constraints", 0.5),
    ("zen", "constraints", tuple([0.5] * 65)), ("zen", "proxy", "zenn"), ("zen", "proxy", 3), ("zen", "iterations", 0),
    ("zen", "population", False),
    ("fmas", "objective", "x"), ("fmas", "error", "accuracy"), ("fmas", "subset_fraction", 0.0), ("fmas", "population", 1),
    ("fmas", "parent_share", 1.5), ("fmas", "pretrained_parent", 1), ("fmas", "pretrained_parent", "yes"),
    ("relative", "population", 5), ("relative", "objective", "both"), ("relative", "weight_pool", "maybe"),
    ("relative", "train_fraction", 0), ("relative", "cost_weight", 2.0), ("relative", "cost_weight", "0.5"),
    ("dnas", "cost", "joules"), ("dnas", "lut", "fresh"), ("dnas", "betas", ()), ("dnas", "betas", (-1.0,)),
    ("dnas", "alpha", 0.0), ("dnas", "head_width", 0), ("fbnetv5", "baseline_momentum", 1.0),
    ("fbnetv5", "max_weight", 0.5), ("fbnetv5", "warmup", 20), ("random", "x" * 300, 1),
]


@pytest.mark.parametrize("strategy, param, value", BAD, ids=[f"{s}.{p[:20]}={v!r:.20}" for s, p, v in BAD])
def test_bad_hyper_parameters_are_one_line_errors_naming_strategy_parameter_and_value(strategy, param, value):
    with pytest.raises(ConfigError) as info:
        get_strategy(strategy).create(**{param: value})
    message = str(info.value)
    assert "\n" not in message and repr(strategy) in message
    assert param[:20] in message
    if param in get_strategy(strategy).param_defaults() :
        assert f"{param}=" in message and "valid:" in message


def test_cross_parameter_rules_name_every_parameter():
    with pytest.raises(ConfigError, match=r"parameters warm_start_pool=5, population=10 are invalid; valid: warm_start_pool >= population"):
        get_strategy("rea").create(population=10, warm_start_pool=5)


@pytest.mark.parametrize("name", sorted(load_all()))
def test_defaults_are_valid_and_every_parameter_is_declared(name):
    cls = get_strategy(name)
    assert set(cls.param_defaults()) == set(cls.parameter_constraints)
    cls.create().validate()


def test_the_validator_checks_types_ranges_and_plain_values():
    constraints = {"n": Interval(int, 1, 10), "x": [Interval(float, 0, 1), None]}
    validate_parameters("s", {"n": 3, "x": None}, constraints)
    validate_parameters("s", {"n": 3, "x": 1}, constraints)  # an int is a number
    for bad in ({"n": True}, {"n": 11}, {"x": "0.5"}, {"x": {"a": 1}}, {"y": "z" * 1000}):
        with pytest.raises(ConfigError, match="valid:"):
            validate_parameters("s", bad, constraints)


def test_values_set_after_construction_are_validated_when_the_search_runs():
    strategy = get_strategy("rea").create()
    strategy.population = -1
    space = ToySpace()
    ctx, _, _ = search_context(space, {"a": SyntheticEvaluator(space, "a")})
    with pytest.raises(ConfigError, match="population=-1"):
        strategy.run(ctx)


@pytest.mark.parametrize("name, space, params, message", [
    ("dnas", "nb201", {}, "mixed-op supernet"),
    ("fbnetv5", "nb201", {}, "mixed-op supernet"),
    ("zen", "toy", {}, "needs backbone"),
    ("fmas", "toy", {}, "needs slicing"),
    ("fmas", "nb201", {}, "needs slicing"),
    ("relative", "nb201", {"weight_pool": "on"}, "weight_pool='on'"),
    ("rea", "toy", {}, None),
])
def test_strategies_check_their_space_before_any_compute(name, space, params, message):
    space = ToySpace() if space == "toy" else get_space(space)
    tasks = {"a": SyntheticEvaluator(space, "a").task}
    strategy = get_strategy(name).create(**params)
    if message is None:
        strategy.check(space, tasks, 5)
        return
    with pytest.raises(ConfigError, match=message) as info:
        strategy.check(space, tasks, 5)
    assert "\n" not in str(info.value)


def test_checks_that_depend_on_hyper_parameters_and_tasks():
    from nasbench.tasks import get_task

    mobile, nb201 = get_space("mobile"), get_space("nb201")
    with pytest.raises(ConfigError, match="more than K=2"):
        get_strategy("zen").create(constraints=(0.2, 0.5, 1.0)).check(nb201, {"cifar10": get_task("cifar10", ("train", "val"))}, 2)
    from spaces.mobile import MobileSpace

    class NoTable(MobileSpace):
        capabilities = MobileSpace.capabilities - {"latency"}

    with pytest.raises(ConfigError, match="objective='latency' needs a space with a latency table"):
        get_strategy("fmas").create(objective="latency").check(NoTable(), {"cls": get_task("cls", ("train", "val"))}, 5)
    get_strategy("fmas").create(objective="latency").check(mobile, {"cls": get_task("cls", ("train", "val"))}, 5)
    with pytest.raises(ConfigError, match="input channels"):
        get_strategy("fbnetv5").create().check(mobile, {"cls": get_task("cls", ("train", "val")), "rgb": _Rgb()}, 5)


class _Rgb:
    name, input_shape, trainable = "rgb", (3, 8, 8), True


def test_a_plain_strategy_needs_only_search():
    class Minimal(Strategy):
        name = "minimal"

        def search(self, ctx):
            return [ctx.space.sample(ctx.rng)]

    space = ToySpace()
    ctx, _, _ = search_context(space, {"a": SyntheticEvaluator(space, "a")})
    assert len(Minimal.create().run(ctx)) == 1
