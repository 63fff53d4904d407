"""RelativeNAS: the continuous encoding, the slow-fast update, the pair judgement and both estimators."""
import numpy as np
import pytest

from nasbench.errors import ConfigError, InvalidArchitecture
from spaces import get_space
from spaces.continuous import ContinuousBox
from strategies.relative import RelativeNAS, faster, generation, learn_from
from synthetic import SyntheticEvaluator, ToySpace, search_context


@pytest.mark.parametrize("name", ["mobile", "nb201"])
def test_box_decodes_integer_parts_and_maps_the_upper_bound_to_the_last_choice(name):
    space = get_space(name)
    box = ContinuousBox(space)
    assert box.decode(box.upper) == space.make(np.asarray(space.choices) - 1)
    assert box.decode(box.lower) == space.make([0] * space.n_genes)
    rng = np.random.default_rng(0)
    for x in box.sample(rng, 50):
        arch = box.decode(x)
        assert box.decode(box.encode(arch)) == arch
    with pytest.raises(InvalidArchitecture):
        box.decode(box.upper + 0.5)


def test_slow_learner_moves_toward_the_fast_one_and_stays_in_the_box():
    box = ContinuousBox(ToySpace())
    rng = np.random.default_rng(1)
    slow, fast = np.zeros(box.dim), np.full(box.dim, 3.0)
    x, v = learn_from(slow, np.zeros(box.dim), fast, box, rng)
    assert np.all(x >= slow) and np.all(x <= fast) and np.any(x > 0)
    x, v = learn_from(x, np.full(box.dim, 100.0), fast, box, rng)
    assert np.all(x <= box.upper)


def test_pairs_are_judged_by_loss_or_by_dominance_with_a_scalarised_tie_break():
    assert faster((0.1, 9.0), (0.2, 1.0), None)
    assert faster((0.1, 1.0), (0.2, 2.0), 0.5) and not faster((0.2, 2.0), (0.1, 1.0), 0.5)
    # neither dominates: the weight and the objectives' spreads decide
    assert faster((0.20, 1.0), (0.19, 10.0), 0.5, span=(0.1, 10.0))
    assert not faster((0.20, 1.0), (0.19, 10.0), 0.0, span=(0.1, 10.0))
    assert not faster((0.20, 1.0), (0.19, 10.0), 0.5, span=(0.01, 100.0))


def test_slow_fast_learning_beats_random_sampling_of_the_same_evaluations():
    """A 10-d quadratic bowl in the box [0, 8]^10: 20 members, 30 generations (600 evaluations)."""
    dim, high = 10, 8.0
    optimum = np.linspace(1.0, 7.0, dim)

    def f(x):
        return float(np.sum((x - optimum) ** 2))

    class Box:
        lower, upper = np.zeros(dim), np.full(dim, high)

        def clip(self, x):
            return np.clip(x, self.lower, self.upper)

    Box.dim = dim
    for seed in range(3):
        rng = np.random.default_rng(seed)
        X, V = rng.uniform(0, high, (20, dim)), np.zeros((20, dim))
        evaluations = 0

        def compare(i, j):
            nonlocal evaluations
            evaluations += 2
            return f(X[i]) <= f(X[j])

        means = [np.mean([f(x) for x in X])]
        for _ in range(30):
            generation(X, V, Box(), rng, compare)
            means.append(np.mean([f(x) for x in X]))
        random_best = min(f(x) for x in rng.uniform(0, high, (evaluations, dim)))
        assert means[10] < 0.5 * means[0] and means[30] < means[10]
        assert means[30] < 0.5 * random_best  # the whole population, not its best, beats random's best


def make_ctx(budget_evals=40, seed=0, k=4):
    """``(ctx, archive, evaluator)`` on the synthetic benchmark."""
    space = ToySpace()
    evaluator = SyntheticEvaluator(space, "a")
    unit = evaluator.compute(space.reference(), evaluator.search_fidelity)
    ctx, _, archive = search_context(space, {"a": evaluator}, budget_evals * unit, seed=seed, k=k)
    return ctx, archive, evaluator


def test_low_fidelity_estimates_are_memoised_and_proposals_are_the_estimated_front():
    ctx, archive, evaluator = make_ctx()
    proposals = RelativeNAS.create(population=6, objective="multi").run(ctx)
    archs = [e.arch for e in archive.evaluations()]
    assert len(archs) == len(set(archs)) == evaluator.calls
    assert 1 <= len(proposals) <= ctx.k and set(proposals) <= set(archs)
    single = RelativeNAS.create(population=6).run(make_ctx()[0])
    assert len(single) == 1


def test_the_default_is_the_papers_single_objective_and_multi_is_labelled_an_extension():
    assert RelativeNAS.create().objective == "single"
    assert "objective=multi" in RelativeNAS.description and "extension" in RelativeNAS.description
    assert "this project's extension" in RelativeNAS.__doc__


def test_relative_learning_improves_the_population_on_the_synthetic_benchmark():
    ctx, archive, evaluator = make_ctx(budget_evals=10_000)
    RelativeNAS.create(population=10, generations=15, objective="single").run(ctx)
    true = [evaluator.true_metric(e.arch) for e in archive.evaluations()]
    assert np.mean(true[-10:]) > np.mean(true[:10]) + 0.05  # late moves against the random start


def test_bad_settings_are_refused():
    for bad in [dict(population=5), dict(objective="both"), dict(weight_pool="maybe"), dict(train_fraction=0), dict(cost_weight=2.0)]:
        with pytest.raises(ConfigError):
            RelativeNAS.create(**bad)


def test_weight_pool_pairs_train_from_the_pool_charge_every_pass_and_write_back():
    import torch

    from nasbench.tasks import SEARCH_SPLITS, get_task
    from nasbench.trained import TrainingEvaluator
    from strategies.relative import WeightPoolPair

    space = get_space("mobile")
    ctx, ledger, archive = search_context(space, {"cls": TrainingEvaluator(space, get_task("cls", SEARCH_SPLITS), latency=False)}, 1e15)
    judged = []
    pair = WeightPoolPair(ctx, lambda a, b: judged.append((a, b)) or a[0] <= b[0], 0.1, recalibration_samples=64)
    absorbed = []
    absorb = pair.pool.absorb
    pair.pool.absorb = lambda arch, model: absorbed.append((arch, model)) or absorb(arch, model)
    a, b = space.make([0] * space.n_genes), space.sample(np.random.default_rng(0))
    estimate_a, estimate_b, a_is_fast = pair(a, b)
    assert judged == [(estimate_a, estimate_b)] and a_is_fast == (estimate_a[0] <= estimate_b[0])
    n_part, n_val = round(0.1 * len(ctx.data("train"))), len(ctx.data("val"))
    per_sample = sum(ctx.cost(x).macs for x in (a, b))
    assert ledger.used == pytest.approx(per_sample * (3 * n_part + 64 + 2 * n_val))  # loss and metric passes
    recorded = {e.arch: e for e in archive.evaluations()}
    assert set(recorded) == {a, b} and all(e.ok and e.split == "val" for e in recorded.values())
    assert [recorded[x].extra["val_loss"] for x in (a, b)] == [estimate_a[0], estimate_b[0]]
    assert sum(e.compute for e in recorded.values()) == pytest.approx(ledger.used)
    # the slow learner is written back first, so the fast learner's weights win where both trained
    assert [arch for arch, _ in absorbed] == ([b, a] if a_is_fast else [a, b])
    fast_model = absorbed[1][1]
    again = pair.pool.extract(absorbed[1][0]).state_dict()
    assert all(torch.equal(again[k], v) for k, v in fast_model.state_dict().items())
