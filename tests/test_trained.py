"""The training evaluator on the real classification task, at a tiny fidelity."""
import math

import numpy as np

from nasbench.records import Fidelity, Status
from nasbench.tasks import get_task
from nasbench.trained import TrainingEvaluator
from spaces import get_space

TINY = Fidelity(1, 0.25)


def small_arch(space):
    return space.make([0] * space.n_genes)


def test_same_seed_same_result_from_fresh_evaluators():
    space, task = get_space("mobile"), get_task("cls")
    a = TrainingEvaluator(space, task, latency=False).evaluate(small_arch(space), TINY, seed=1)
    b = TrainingEvaluator(space, task, latency=False).evaluate(small_arch(space), TINY, seed=1)
    assert a.status is Status.OK and 0.0 < a.metric <= 1.0
    assert a.metric == b.metric and a.compute == b.compute


def test_results_are_cached_by_architecture_fidelity_seed_and_split():
    space, task = get_space("mobile"), get_task("cls")
    evaluator = TrainingEvaluator(space, task, latency=False)
    arch = small_arch(space)
    first = evaluator.evaluate(arch, TINY, seed=0)
    assert evaluator.evaluate(arch, TINY, seed=0) is first
    assert evaluator.evaluate(arch, TINY, seed=0, split="test") is not first


def test_compute_is_three_passes_per_training_sample_plus_recalibration_and_scoring():
    space, task = get_space("mobile"), get_task("cls")
    evaluator = TrainingEvaluator(space, task, latency=False)
    arch = small_arch(space)
    macs = evaluator.cost(arch).macs
    n_train = round(len(task.split("train")) * TINY.data_fraction)
    n_recalibration = min(n_train, evaluator.recipe.bn_recalibration_samples)
    assert evaluator.compute(arch, TINY) == macs * (3 * n_train * TINY.epochs + n_recalibration + len(task.split("val")))


def test_a_diverging_training_is_recorded_not_raised(monkeypatch):
    space, task = get_space("mobile"), get_task("cls")
    monkeypatch.setattr(task, "loss", lambda outputs, targets: outputs.sum() * float("nan"))
    result = TrainingEvaluator(space, task, latency=False).evaluate(small_arch(space), TINY, seed=0)
    assert result.status is Status.DIVERGED and math.isnan(result.metric) and not result.ok


def test_architectures_differ():
    space, task = get_space("mobile"), get_task("cls")
    evaluator = TrainingEvaluator(space, task, latency=False)
    rng = np.random.default_rng(0)
    metrics = {evaluator.evaluate(space.sample(rng), Fidelity(2), seed=0).metric for _ in range(3)}
    assert len(metrics) > 1


def test_every_training_on_a_task_uses_the_task_s_recipe_changes(monkeypatch):
    import nasbench.trained as trained
    from nasbench.training import Recipe

    space, task = get_space("mobile"), get_task("cls")
    monkeypatch.setattr(task, "recipe_changes", {"batch_size": 7, "lr": 0.005})
    used = []
    real_train = trained.train
    monkeypatch.setattr(trained, "train", lambda *a, **k: used.append(a[5]) or real_train(*a, **k))
    evaluator = TrainingEvaluator(space, task, latency=False)
    assert evaluator.recipe == Recipe(batch_size=7, lr=0.005)
    evaluator.evaluate(small_arch(space), TINY, seed=0)
    evaluator.evaluate(small_arch(space), TINY, seed=0, split="test")
    assert used == [Recipe(batch_size=7, lr=0.005)] * 2
    # an explicit recipe (a calibration screen's) replaces the task's
    assert TrainingEvaluator(space, task, recipe=Recipe(), latency=False).recipe == Recipe()


def test_train_without_a_recipe_trains_with_the_task_s(monkeypatch):
    from nasbench.training import Recipe, train

    space, task = get_space("mobile"), get_task("cls")
    monkeypatch.setattr(task, "recipe_changes", {"batch_size": 7})
    data = task.split("train").subset(range(15))
    # batches of 7 leave a last batch of one sample, which training skips; batches of 64 take all 15
    assert train(space.build(small_arch(space), task), task, data, 1, 0) == 14
    assert train(space.build(small_arch(space), task), task, data, 1, 0, Recipe()) == 15
