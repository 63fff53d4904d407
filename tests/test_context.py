"""The search context: what it charges, what it records, and that nothing else is reachable from it."""
import collections
import copy
import functools
import pickle
import types

import numpy as np
import pytest
import torch

from nasbench.archive import Archive, ArchiveEntry
from nasbench.errors import BudgetExhausted, ConfigError, InvalidArchitecture, SearchTimeout
from nasbench.evaluator import Evaluator
from nasbench.ledger import Ledger
from nasbench.records import Architecture, Evaluation, Fidelity, Status
from nasbench.tasks.base import Split, Task
from strategies.base import Strategy
from synthetic import SyntheticEvaluator, ToySpace, search_context


def make_ctx(budget=1e9, k=3, seed=0, unit="macs", **kwargs):
    space = ToySpace()
    return search_context(space, {"a": SyntheticEvaluator(space, "a")}, budget, unit, seed, k, **kwargs)


def test_every_evaluation_is_charged_and_archived():
    ctx, ledger, archive = make_ctx()
    arch = ctx.space.sample(ctx.rng)
    first = ctx.evaluate(arch)
    ctx.evaluate(arch)
    assert ledger.used == ctx.used == 2 * first.compute
    assert len(archive) == 2 and len(ctx.evaluations()) == 2 and isinstance(ctx.evaluations(), tuple)
    assert [e.budget_used for e in archive] == [first.compute, 2 * first.compute]
    assert ctx.budget == 1e9 and ctx.unit == "macs" and ctx.remaining == 1e9 - 2 * first.compute


def test_evaluations_are_on_the_validation_split_only():
    ctx, _, _ = make_ctx()
    assert ctx.evaluate(ctx.space.sample(ctx.rng)).split == "val"
    assert not any("test" in name for name in dir(ctx) if not name.startswith("__"))


def test_budget_exhaustion_happens_before_the_evaluation_runs():
    space = ToySpace()
    evaluator = SyntheticEvaluator(space, "a")
    ctx, _, archive = search_context(space, {"a": evaluator}, 1.0)
    with pytest.raises(BudgetExhausted):
        ctx.evaluate(ctx.space.sample(ctx.rng))
    assert evaluator.calls == 0 and len(archive) == 0


def test_foreign_and_invalid_architectures_are_refused():
    ctx, _, _ = make_ctx()
    with pytest.raises(InvalidArchitecture):
        ctx.evaluate(Architecture("other", (0,) * 6))
    with pytest.raises(InvalidArchitecture):
        ctx.evaluate(Architecture("toy", (9,) * 6))
    with pytest.raises(ConfigError):
        ctx.evaluate(ctx.space.sample(ctx.rng), task="zzz")


def test_front_is_non_dominated_and_at_most_k():
    ctx, _, _ = make_ctx(k=3)
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
    (a, _, _), (b, _, _) = make_ctx(seed=7), make_ctx(seed=7)
    assert [a.space.sample(a.rng) for _ in range(5)] == [b.space.sample(b.rng) for _ in range(5)]


def test_records_handed_out_are_read_only():
    ctx, _, archive = make_ctx()
    evaluation = ctx.evaluate(ctx.space.sample(ctx.rng))
    with pytest.raises(AttributeError):
        evaluation.metric = 1.0
    with pytest.raises(TypeError):
        evaluation.extra["cheat"] = 1.0
    assert pickle.loads(pickle.dumps(evaluation)).arch == evaluation.arch


# -- the closed door -----------------------------------------------------------------------
LEAVES = (str, bytes, int, float, complex, bool, type(None), torch.Tensor, np.ndarray, np.generic, range)


def reachable(root, name="ctx"):
    """Every object reachable from ``root`` with one path to it, breadth first.

    Follows instance ``__dict__`` and ``__slots__`` values, container items (dict keys and values,
    lists, tuples, sets, deques, mapping proxies), bound methods' ``__self__`` and ``__func__``,
    functions' closures and defaults, ``functools.partial`` parts, and the value of every property
    (and cached property) of an object's class. Out of scope, because Python cannot close them:
    modules, classes (and what their namespaces hold) and functions' ``__globals__``; those are
    what the runner's compute audit covers.
    """
    seen, keep = set(), []
    queue = collections.deque([(name, root)])
    while queue:
        path, obj = queue.popleft()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        keep.append(obj)
        yield path, obj
        if isinstance(obj, (types.ModuleType, type)) or isinstance(obj, LEAVES):
            continue
        if isinstance(obj, types.MethodType):
            queue += [(f"{path}.__self__", obj.__self__), (f"{path}.__func__", obj.__func__)]
            continue
        if isinstance(obj, types.FunctionType):
            queue += [(f"{path}.__closure__[{i}]", c.cell_contents) for i, c in enumerate(obj.__closure__ or ())]
            queue += [(f"{path}.__defaults__", obj.__defaults__), (f"{path}.__kwdefaults__", obj.__kwdefaults__)]
            continue
        if isinstance(obj, functools.partial):
            queue += [(f"{path}.func", obj.func), (f"{path}.args", obj.args), (f"{path}.keywords", obj.keywords)]
            continue
        if isinstance(obj, (dict, types.MappingProxyType)):
            for i, (key, value) in enumerate(obj.items()):
                queue += [(f"{path}<key {i}>", key), (f"{path}[{key!r:.30}]", value)]
            continue
        if isinstance(obj, (list, tuple, set, frozenset, collections.deque)):
            queue += [(f"{path}[{i}]", item) for i, item in enumerate(obj)]
            continue
        for key, value in getattr(obj, "__dict__", {}).items():
            queue.append((f"{path}.{key}", value))
        for cls in type(obj).__mro__:
            for slot in cls.__dict__.get("__slots__", ()):
                if slot not in ("__weakref__", "__dict__") and hasattr(obj, slot):
                    queue.append((f"{path}.{slot}", getattr(obj, slot)))
            for attr, descriptor in cls.__dict__.items():
                if isinstance(descriptor, (property, functools.cached_property)):
                    try:
                        queue.append((f"{path}.{attr}", getattr(obj, attr)))
                    except Exception:  # e.g. ctx.task of a multitask search
                        pass


FORBIDDEN = (Ledger, Archive, ArchiveEntry, Evaluator, Task, Split, torch.Tensor)


def assert_closed(ctx, test_columns=()):
    paths = []
    for path, obj in reachable(ctx, "ctx"):
        paths.append(path)
        assert not isinstance(obj, FORBIDDEN), f"{path} reaches a {type(obj).__name__}"
        if isinstance(obj, np.ndarray):
            assert not any(obj.shape == c.shape and np.array_equal(obj, c) for c in test_columns), f"{path} is a test column"
    assert {"ctx._space", "ctx._rng", "ctx.budget", "ctx.used", "ctx._space.bounds"} <= set(paths)  # the walk did look around
    return paths


def test_the_walk_finds_what_hides_behind_slots_properties_closures_and_bound_methods():
    class Leaky:
        __slots__ = ("__weakref__", "_space", "_rng", "hook")

        def __init__(self, ledger):
            self._space, self._rng = ToySpace(), np.random.default_rng(0)
            self.hook = {"cb": [functools.partial(lambda: ledger)]}

        @property
        def budget(self):
            return 1.0

        @property
        def used(self):
            return 0.0

    for leaky in (Leaky(Ledger(1.0)), Leaky(Archive().add), Leaky(SyntheticEvaluator(ToySpace(), "a").cost)):
        with pytest.raises(AssertionError, match="reaches a"):
            assert_closed(leaky)


def test_no_ledger_archive_evaluator_or_test_data_is_reachable_from_a_trained_task_context():
    from nasbench.tasks import SEARCH_SPLITS, get_task
    from spaces import get_space

    space = get_space("mobile")
    task = get_task("cls", SEARCH_SPLITS)
    evaluator = task.evaluator(space)
    evaluator.latency = False
    ctx, _, _ = search_context(space, {"cls": evaluator}, 1e15, k=3)
    ctx.cost(space.reference())
    view = ctx.network_task()
    assert len(ctx.data("train")) and len(ctx.data("val")) and view.input_shape == task.input_shape
    assert_closed(ctx)
    assert task.splits == ("train", "val") and "test" not in task._built
    with pytest.raises(ConfigError, match="test"):
        task.split("test")


def test_no_test_accuracy_column_is_loaded_or_reachable_in_an_nb201_search(monkeypatch):
    from nasbench import nb201_table
    from nasbench.tasks import SEARCH_SPLITS, get_task
    from spaces import get_space

    monkeypatch.setattr(nb201_table, "_columns", {})
    space = get_space("nb201")
    ctx, _, archive = search_context(space, {"cifar10": get_task("cifar10", SEARCH_SPLITS).evaluator(space)}, 20, "queries")
    get_strategy_run("rea", ctx)
    assert len(archive) == 20
    assert all("test" not in column for column in nb201_table.loaded_columns())
    assert nb201_table.loaded_columns() == ("cifar10_val_12ep",)
    test_columns = [nb201_table.accuracy_column(f"{d}_test_{e}") for d in ("cifar10", "cifar100", "imagenet16")
                    for e in ("12ep", "200ep")]
    assert_closed(ctx, test_columns)
    with pytest.raises(ConfigError, match="test"):
        get_task("cifar10", SEARCH_SPLITS).true_front()
    with pytest.raises(ConfigError, match="not open"):
        get_task("cifar10", SEARCH_SPLITS).evaluator(space).evaluate(space.reference(), Fidelity(200), 0, split="test")


def get_strategy_run(name, ctx):
    from strategies import get_strategy

    return get_strategy(name).create().run(ctx)


def test_a_plug_in_reaching_for_what_is_hidden_gets_attribute_errors():
    ctx, _, _ = make_ctx()
    for name in ("_evaluators", "ledger", "archive", "__dict__", "_state", "evaluators"):
        with pytest.raises(AttributeError):
            getattr(ctx, name)
    with pytest.raises(AttributeError):
        ctx.k = 100
    with pytest.raises(AttributeError):
        del ctx.seed
    for clone in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError):
            clone(ctx)

    class Cheat(Strategy):
        name = "cheat"

        def search(self, ctx):
            return ctx.ledger.budget

    with pytest.raises(AttributeError):
        Cheat.create().run(ctx)


def test_the_task_view_lists_what_it_offers_and_hides_the_task():
    from nasbench.tasks import SEARCH_SPLITS, get_task
    from nasbench.tasks.base import SearchView
    from spaces import get_space

    space = get_space("mobile")
    ctx, _, _ = search_context(space, {"det": get_task("det", SEARCH_SPLITS).evaluator(space)}, 1e15)
    view = ctx.network_task()
    assert isinstance(view, SearchView) and view is ctx.network_task()
    assert (view.name, view.metric_name, view.search_epochs, view.final_epochs) == ("det", "mAP", 6, 12)
    assert not hasattr(SearchView, "__getattr__")
    for hidden in ("_task", "evaluate_details", "detect", "__dict__", "task"):
        with pytest.raises(AttributeError):
            getattr(view, hidden)
    with pytest.raises(AttributeError):
        view.name = "cls"
    with pytest.raises(ConfigError, match="not open to a search"):
        view.split("test")
    with pytest.raises(ConfigError, match="not open to a search"):
        ctx.data("test")
    model = space.build(space.reference(), view)
    assert isinstance(view.loss(model(ctx.data("val").inputs[:2]), {k: v[:2] for k, v in ctx.data("val").targets.items()}),
                      torch.Tensor)


# -- work a strategy runs itself is priced by ctx ------------------------------------------------
@pytest.fixture(scope="module")
def cls_space():
    from spaces.mobile import MobileSpace

    return MobileSpace(widths=((4, 8), (8, 12), (8, 16), (12, 16)), depths=(1, 2), expansions=(1, 3))


def cls_ctx(space, budget=1e15, **kwargs):
    from nasbench.tasks import SEARCH_SPLITS, get_task
    from nasbench.trained import TrainingEvaluator

    return search_context(space, {"cls": TrainingEvaluator(space, get_task("cls", SEARCH_SPLITS), latency=False)}, budget,
                          **kwargs)


def test_train_charges_what_the_model_costs_not_what_a_caller_would_declare(cls_space):
    from nasbench.costs import count_macs

    ctx, ledger, _ = cls_ctx(cls_space)
    small, large = cls_space.make(cls_space.bounds[0]), cls_space.make(cls_space.bounds[1])
    model = cls_space.build(large, ctx.network_task())
    part = ctx.data("train").subset(range(64))
    with pytest.raises(TypeError):
        ctx.train(model, ctx.cost(small).macs, data=part)  # no way to declare MACs: they are counted
    with pytest.raises(TypeError):
        ctx.train(model, macs_per_sample=ctx.cost(small).macs, data=part)
    assert ledger.used == 0
    ctx.train(model, data=part, epochs=2)
    macs = count_macs(model, ctx.network_task().input_shape)
    assert macs == ctx.cost(large).macs > ctx.cost(small).macs
    assert ledger.spent.macs == 3 * macs * 64 * 2
    ctx.recalibrate(model, samples=32)
    assert ledger.spent.macs == 3 * macs * 64 * 2 + macs * 32
    ctx.validate(model, data=part)
    assert ledger.spent.macs == 3 * macs * 64 * 2 + macs * 32 + macs * 64


def test_training_that_does_not_fit_is_refused_before_it_runs(cls_space):
    ctx, ledger, _ = cls_ctx(cls_space, budget=1.0)
    model = cls_space.build(cls_space.reference(), ctx.network_task())
    weights = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(BudgetExhausted):
        ctx.train(model)
    assert all((p == w).all() for p, w in zip(model.parameters(), weights)) and ledger.used == 0


def test_costs_and_model_macs_are_counted_once(cls_space, monkeypatch):
    from nasbench import costs

    ctx, _, _ = cls_ctx(cls_space)
    calls = []
    real = costs.count_macs
    monkeypatch.setattr(costs, "count_macs", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr("nasbench.context.count_macs", costs.count_macs)
    builds = []
    build = cls_space.build
    monkeypatch.setattr(cls_space, "build", lambda *a: builds.append(1) or build(*a))
    arch = cls_space.reference()
    first = ctx.cost(arch)
    assert len(calls) == 0 and len(builds) == 0  # the mobile space sums cached part counts: no network built
    assert ctx.cost(arch) is first  # cached
    model = build(arch, ctx.network_task())
    ctx.validate(model)
    ctx.validate(build(arch, ctx.network_task()))  # same structure: counted once
    assert len(calls) == 1


def test_estimates_are_recorded_by_ctx_with_the_compute_charged_inside(cls_space):
    ctx, ledger, archive = cls_ctx(cls_space)
    arch = cls_space.reference()
    model = cls_space.build(arch, ctx.network_task())
    ctx.validate(model)  # outside the block: not part of the estimate
    before = ledger.spent.macs
    with ctx.estimate(arch, Fidelity(1)) as estimate:
        ctx.recalibrate(model, samples=64)
        estimate.metric = ctx.validate(model)
        estimate.extra = {"note": 1.0}
    (recorded,) = archive.evaluations()
    assert recorded.metric == estimate.metric and recorded.compute == ledger.spent.macs - before > 0
    assert recorded.extra == {"note": 1.0} and recorded.split == "val" and recorded.cost == ctx.cost(arch)
    with pytest.raises(RuntimeError):
        with ctx.estimate(arch) as estimate:
            raise RuntimeError("boom")
    with ctx.estimate(arch):
        pass  # no metric: recorded as failed
    assert len(archive) == 2 and archive.evaluations()[-1].status is Status.FAILED


def test_given_work_is_metered_not_charged_and_nothing_else_can_be_given(cls_space):
    ctx, ledger, archive = cls_ctx(cls_space)
    arch = cls_space.reference()
    model = cls_space.build(arch, ctx.network_task())
    with ctx.given("pretrained parent"):
        ctx.train(model, data=ctx.data("train").subset(range(32)), what="parent training")
        with pytest.raises(ConfigError, match="given"):
            ctx.evaluate(arch)
        with pytest.raises(ConfigError, match="given"):
            with ctx.charge(1.0, "supernet step"):
                pass
    assert ledger.used == 0 and len(archive) == 0
    (given,) = ledger.given
    assert (given.name, given.what, given.macs) == ("pretrained parent", "parent training", 3 * ctx.cost(arch).macs * 32)
    assert dict(given)["macs"] == given.macs and ledger.to_dict()["given"][0]["name"] == "pretrained parent"


# -- deadline and the seconds unit ------------------------------------------------------------
def test_a_passed_deadline_raises_search_timeout_that_except_exception_cannot_swallow():
    import time

    ctx, _, archive = make_ctx(deadline=time.monotonic() - 1.0)
    assert not issubclass(SearchTimeout, Exception)

    class Stubborn(Strategy):
        name = "stubborn"

        def search(self, ctx):
            while True:
                try:
                    ctx.evaluate(ctx.space.sample(ctx.rng))
                except Exception:
                    continue

    with pytest.raises(SearchTimeout):
        Stubborn.create().run(ctx)
    for call in (lambda: ctx.front(), lambda: ctx.rng, lambda: ctx.remaining, lambda: ctx.data("train")):
        with pytest.raises(SearchTimeout):
            call()
    assert len(archive) == 0


class Timed(SyntheticEvaluator):
    """A synthetic evaluator whose evaluations report 2 s of (pretend) training, memoised like the real one."""

    def __init__(self, space, task):
        super().__init__(space, task)
        self.memo = {}

    def evaluate(self, arch, fidelity, seed, split="val"):
        key = (arch, fidelity, seed, split)
        if key not in self.memo:
            e = super().evaluate(arch, fidelity, seed, split)
            self.memo[key] = Evaluation(e.arch, e.task, e.fidelity, e.metric, e.cost, e.compute, 2.0, e.status, split, seed)
        return self.memo[key]


def test_seconds_unit_charges_a_repeat_the_first_evaluations_recorded_time_refused_up_front():
    space = ToySpace()
    ctx, ledger, archive = search_context(space, {"a": Timed(space, "a")}, 3.0, "seconds")
    arch = space.reference()
    ctx.evaluate(arch)
    first = ledger.spent.seconds
    assert first < 1.0  # the first evaluation is charged its measured time (instant here)
    ctx.evaluate(arch)  # a memo hit: charged the 2 s the evaluation took
    assert ledger.spent.seconds == pytest.approx(first + 2.0) and ledger.used == ledger.spent.seconds
    with pytest.raises(BudgetExhausted):
        ctx.evaluate(arch)  # another 2 s would not fit in 3
    assert len(archive) == 2


def test_seconds_unit_on_nb201_charges_the_simulated_training_time_of_a_lookup():
    from nasbench.nb201_table import cost_table
    from nasbench.tasks import SEARCH_SPLITS, get_task
    from nasbench.tasks.nb201 import seconds_per_mac
    from spaces import get_space

    space = get_space("nb201")
    evaluator = get_task("cifar10", SEARCH_SPLITS).evaluator(space)
    mean_query = 3 * float(cost_table()["cifar10_macs"].mean()) * 25_000 * 12
    assert mean_query * seconds_per_mac() == pytest.approx(120.0)  # 12,000 s ~ 100 queries of the mean cell
    ctx, ledger, archive = search_context(space, {"cifar10": evaluator}, 12_000, "seconds")
    arch = space.make((3,) * 6)
    simulated = evaluator.compute(arch, Fidelity(12)) * seconds_per_mac()
    ctx.evaluate(arch)
    ctx.evaluate(arch)
    assert ledger.spent.seconds == pytest.approx(2 * simulated) and ledger.spent.wall_seconds < 1.0
    get_strategy_run("random", ctx)
    assert 60 <= len(archive) <= 160 and ledger.used <= 12_000
