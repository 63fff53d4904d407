"""NAS-Bench-201: the shipped table, the space's encodings and network, the tabular evaluator, the true front."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nasbench import indicators
from nasbench.errors import ConfigError, InvalidArchitecture
from nasbench.nb201_table import N_CELLS, accuracy_table, cost_table
from nasbench.records import Architecture, Fidelity
from nasbench.tasks import SEARCH_SPLITS, get_task
from nasbench.tasks.nb201 import NB201Evaluator, NB201Task, true_front
from spaces.nb201 import NB201Space

space = NB201Space()
TASKS = {name: get_task(name) for name in ("cifar10", "cifar100", "imagenet16")}
CIFAR10 = TASKS["cifar10"]
ALL_CONV3 = space.make((3,) * 6)
ALL_NONE = space.make((0,) * 6)


def test_table_holds_the_published_best_accuracies() -> None:
    table = accuracy_table()
    assert len(table.archs) == N_CELLS == len(set(table.archs))
    best = table.columns["cifar10_test_200ep"]
    assert best.max() == pytest.approx(94.3733)
    assert np.flatnonzero(best == best.max()).tolist() == [6111, 13714]
    assert table.columns["cifar100_test_200ep"].max() == pytest.approx(73.5133)
    assert table.columns["imagenet16_test_200ep"].max() == pytest.approx(47.3111)
    assert accuracy_table() is table  # loaded once


@pytest.mark.parametrize(
    "arch, macs_m, params_m", [(ALL_CONV3, 220.12, 1.53), (ALL_NONE, 7.78, 0.073)], ids=["conv3x3", "none"]
)
def test_network_costs_match_the_published_figures(arch: Architecture, macs_m: float, params_m: float) -> None:
    cost = space.cost(arch, CIFAR10, latency=False)
    assert cost.macs / 1e6 == pytest.approx(macs_m, abs=0.01)
    assert cost.params / 1e6 == pytest.approx(params_m, abs=0.01)
    evaluator = NB201Evaluator(space, "cifar10")
    assert evaluator.cost(arch).macs == cost.macs  # the shipped cost table agrees with the built network
    assert evaluator.cost(arch).params == cost.params


def test_shipped_costs_match_a_measured_random_cell() -> None:
    arch = space.sample(np.random.default_rng(7))
    for name in ("cifar100", "imagenet16"):
        shipped, measured = NB201Evaluator(space, name).cost(arch), space.cost(arch, TASKS[name], latency=False)
        assert (shipped.macs, shipped.params) == (measured.macs, measured.params)


def test_network_follows_the_task_resolution_and_classes() -> None:
    task = TASKS["imagenet16"]
    with torch.no_grad():
        logits = space.build(space.from_index(6111), task).eval()(torch.zeros(1, *task.input_shape))
    assert logits.shape == (1, task.num_classes)


def test_string_genotype_index_round_trip_over_every_cell() -> None:
    archs = [space.from_index(i) for i in range(N_CELLS)]
    assert len(set(archs)) == N_CELLS == space.size()
    for i, arch in enumerate(archs):
        assert space.to_index(arch) == i
        assert space.from_string(space.to_string(arch)) == arch
        assert accuracy_table().archs[i] == space.to_string(arch)
        assert space.from_key(arch.key) == arch


def test_cell_string_order_of_ops_and_edges() -> None:
    arch = space.make((0, 1, 2, 3, 4, 0))
    assert space.to_string(arch) == (
        "|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|"
    )


@pytest.mark.parametrize(
    "bad",
    ["", "|none~0|+|none~0|none~1|", "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
     "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "|none~0|+|none~0|+|none~0|none~1|none~2|"],
)
def test_malformed_cell_strings_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidArchitecture):
        space.from_string(bad)


def test_neighbours_are_the_24_one_edge_changes() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        arch = space.sample(rng)
        neighbours = space.neighbours(arch)
        assert len(neighbours) == 24 == len(set(neighbours))
        for n in neighbours:
            assert space.make(n.genes) == n
            assert sum(a != b for a, b in zip(arch.genes, n.genes)) == 1
        child = space.mutate(arch, rng)
        assert child in neighbours
        assert space.crossover(arch, child, rng) in {arch, child}


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "imagenet16"])
def test_evaluator_answers_from_the_table(dataset: str) -> None:
    evaluator = NB201Evaluator(space, dataset)
    arch, i = space.from_index(1234), 1234
    val = evaluator.evaluate(arch, evaluator.search_fidelity, seed=3)
    test = evaluator.evaluate(arch, evaluator.final_fidelity, seed=3, split="test")
    assert val.metric == pytest.approx(accuracy_table().columns[f"{dataset}_val_12ep"][i] / 100)
    assert test.metric == pytest.approx(accuracy_table().columns[f"{dataset}_test_200ep"][i] / 100)
    assert (val.split, val.fidelity, test.split, test.fidelity) == ("val", Fidelity(12), "test", Fidelity(200))
    assert val.ok and 0.0 <= val.metric <= 1.0 and 0.0 <= val.wall_seconds < 1.0
    assert val.cost == evaluator.cost(arch) and val.compute == evaluator.compute(arch, val.fidelity)


@pytest.mark.parametrize(
    "split, fidelity", [("val", Fidelity(200)), ("test", Fidelity(12)), ("train", Fidelity(12)), ("val", Fidelity(12, 0.5))]
)
def test_evaluator_refuses_what_the_table_does_not_hold(split: str, fidelity: Fidelity) -> None:
    with pytest.raises(ValueError, match="NAS-Bench-201 answers split='val' at 12 epochs"):
        NB201Evaluator(space, "cifar10").evaluate(ALL_CONV3, fidelity, seed=0, split=split)


def test_evaluator_refuses_foreign_architectures_and_datasets() -> None:
    with pytest.raises(InvalidArchitecture):
        NB201Evaluator(space, "cifar10").evaluate(Architecture("mobile", (0,) * 6), Fidelity(12), seed=0)
    with pytest.raises(ConfigError):
        NB201Evaluator(space, "mnist")


def test_the_tabular_task_has_the_task_interface() -> None:
    from spaces import get_space

    task = get_task("cifar10")
    assert isinstance(task, NB201Task) and task is get_task("cifar10") and not task.trainable
    assert (task.name, task.input_shape, task.num_classes, task.search_epochs, task.final_epochs) == (
        "cifar10", (3, 32, 32), 10, 12, 200)
    assert isinstance(task.evaluator(space), NB201Evaluator)
    task.check_space(space)
    with pytest.raises(ConfigError, match="runs only on the nb201 space, not 'mobile'"):
        task.check_space(get_space("mobile"))
    with pytest.raises(ConfigError, match="only on the nb201 space"):
        task.evaluator(get_space("mobile"))
    with pytest.raises(ConfigError, match="table"):
        task.split("train")
    np.testing.assert_array_equal(task.true_front(), true_front("cifar10"))
    search = get_task("cifar10", SEARCH_SPLITS)
    assert search is not task and search.splits == ("train", "val")
    with pytest.raises(ConfigError, match="not open to a search task"):
        search.true_front()
    with pytest.raises(ConfigError, match="not open here"):
        search.evaluator(space).evaluate(ALL_CONV3, Fidelity(200), seed=0, split="test")
    assert get_task("cls").true_front() is None


def test_a_search_evaluator_loads_only_the_validation_column(monkeypatch) -> None:
    from nasbench import nb201_table

    monkeypatch.setattr(nb201_table, "_columns", {})
    evaluator = get_task("cifar100", SEARCH_SPLITS).evaluator(space)
    evaluator.evaluate(ALL_CONV3, Fidelity(12), seed=0)
    evaluator.cost(ALL_CONV3)
    space.from_index(3)
    assert nb201_table.loaded_columns() == ("cifar100_val_12ep",)


def test_compute_is_three_passes_over_the_training_set_per_epoch() -> None:
    for dataset, n_train in [("cifar10", 25_000), ("cifar100", 50_000), ("imagenet16", 151_700)]:
        evaluator = NB201Evaluator(space, dataset)
        macs = evaluator.cost(ALL_CONV3).macs
        assert evaluator.compute(ALL_CONV3, Fidelity(12)) == 3 * macs * n_train * 12
    assert NB201Evaluator(space, "cifar10").reference_macs == 220_119_680


def test_cost_table_covers_every_cell() -> None:
    costs = cost_table()
    assert all(len(column) == N_CELLS and column.min() > 0 for column in costs.values())
    assert costs["imagenet16_macs"].max() < costs["cifar10_macs"].max() < costs["cifar100_macs"].max()


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "imagenet16"])
def test_true_front_is_non_dominated_and_holds_the_best_cell(dataset: str) -> None:
    front = true_front(dataset)
    assert indicators.non_dominated(front).all() and len(front) == len(np.unique(front, axis=0))
    accuracy = accuracy_table().columns[f"{dataset}_test_200ep"]
    best = int(np.argmax(accuracy))
    best_point = [1.0 - accuracy[best] / 100.0, cost_table()[f"{dataset}_macs"][best]]
    assert np.all(front[:, 0] >= best_point[0]) and any(np.allclose(p, best_point) for p in front)
    # every cell is weakly dominated by a front point
    F = np.column_stack([1.0 - accuracy / 100.0, cost_table()[f"{dataset}_macs"]])
    covered = (front[None, :, 0] <= F[:, None, 0]) & (front[None, :, 1] <= F[:, None, 1])
    assert covered.any(axis=1).all()
    assert indicators.hv_ratio(front, front) == pytest.approx(1.0)
