"""The mobile space's cost from cached per-part counts equals counting the built network."""
import numpy as np
import pytest

from nasbench.costs import count_macs, count_params
from nasbench.tasks import get_task
from nasbench.tasks.tensors import TensorClassificationTask
from spaces import get_space


class ColourTask(TensorClassificationTask):
    """A user's 3x40x40 task: a stem of stride 2 and a resolution no built-in task has."""

    name, input_shape, num_classes = "colour40", (3, 40, 40), 7

    def load(self, split):  # pragma: no cover - never trained here
        raise AssertionError


@pytest.mark.parametrize("task", [get_task("cls"), get_task("det"), get_task("seg"), ColourTask()], ids=lambda t: t.name)
def test_summed_parts_equal_the_built_network(task):
    space = get_space("mobile")
    rng = np.random.default_rng(3)
    for arch in [space.reference(), *(space.sample(rng) for _ in range(6))]:
        model = space.build(arch, task)
        cost = space.cost(arch, task, latency=False)
        assert (cost.macs, cost.params) == (count_macs(model, tuple(task.input_shape)), count_params(model))
