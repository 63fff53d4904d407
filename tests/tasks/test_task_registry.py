"""The task registry: cached instances, a ConfigError naming the choices for unknown names."""
from __future__ import annotations

import pytest

from nasbench.errors import ConfigError
from nasbench.tasks import TASKS, get_task


def test_get_task_returns_one_cached_instance_per_name():
    for name, cls in TASKS.items():
        task = get_task(name)
        assert isinstance(task, cls) and task.name == name and get_task(name) is task


def test_unknown_task_is_a_config_error():
    with pytest.raises(ConfigError, match=r"unknown task 'pose'; choose from cls, det, seg"):
        get_task("pose")


def test_unknown_split_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown split"):
        get_task("cls").split("holdout")


def test_tasks_declare_their_sizes():
    for name in TASKS:
        task = get_task(name)
        assert len(task.input_shape) == 3 and task.split("train").inputs.shape[1:] == task.input_shape
        assert 0 < task.search_epochs < task.final_epochs
