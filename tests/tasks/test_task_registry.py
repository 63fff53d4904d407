"""The task registry: cached instances, a ConfigError naming the choices for unknown names."""
from __future__ import annotations

import pytest

from nasbench.errors import ConfigError
from nasbench.tasks import SEARCH_SPLITS, TASKS, Task, get_task


def test_get_task_returns_one_cached_instance_per_name_and_splits():
    for name in TASKS:
        task = get_task(name)
        assert isinstance(task, Task) and task.name == name and get_task(name) is task
        assert task.splits == ("train", "val", "test")
        search = get_task(name, ("val", "train"))
        assert search is get_task(name, SEARCH_SPLITS) is not task and search.splits == SEARCH_SPLITS


def test_a_search_task_never_builds_test_data():
    task = get_task("det", SEARCH_SPLITS)
    assert len(task.split("train")) and len(task.split("val"))
    with pytest.raises(ConfigError, match="not open here"):
        task.split("test")
    assert set(task._built) == {"train", "val"}


def test_unknown_task_and_splits_are_config_errors():
    with pytest.raises(ConfigError, match=r"unknown task 'pose'; choose from cifar10, cifar100, cls, det, imagenet16, seg"):
        get_task("pose")
    with pytest.raises(ConfigError, match="unknown split 'holdout'"):
        get_task("cls", ("train", "holdout"))


def test_trained_tasks_check_their_space_and_know_no_true_front():
    from spaces import get_space
    from synthetic import ToySpace

    task = get_task("cls", SEARCH_SPLITS)
    task.check_space(get_space("mobile"))

    class NoBuild(ToySpace):
        capabilities = frozenset({"sample"})

    with pytest.raises(ConfigError, match="needs a space with capability 'build'"):
        task.check_space(NoBuild())
    assert task.true_front() is None


def test_unknown_split_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown split"):
        get_task("cls").split("holdout")


def test_tasks_declare_their_sizes():
    for name in ("cls", "det", "seg"):
        task = get_task(name)
        assert len(task.input_shape) == 3 and task.split("train").inputs.shape[1:] == task.input_shape
        assert 0 < task.search_epochs < task.final_epochs
