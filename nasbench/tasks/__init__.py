"""Tasks by name: the embedded trained tasks and the NAS-Bench-201 tables, behind one ``Task`` interface."""
from __future__ import annotations

import functools
from typing import Callable, Sequence

from nasbench.errors import ConfigError
from nasbench.tasks.base import SEARCH_SPLITS, SPLITS, SearchView, Split, Task, normalise_splits
from nasbench.tasks.classification import ClassificationTask
from nasbench.tasks.detection import DetectionTask
from nasbench.tasks.nb201 import DATASETS, NB201Task
from nasbench.tasks.segmentation import SegmentationTask

#: Builders of every task by name; each takes the splits the instance may hold.
TASKS: dict[str, Callable[[tuple[str, ...]], Task]] = {
    "cls": ClassificationTask,
    "det": DetectionTask,
    "seg": SegmentationTask,
    **{name: functools.partial(NB201Task, name) for name in DATASETS},
}


def get_task(name: str, splits: Sequence[str] = SPLITS) -> Task:
    """The one instance of task ``name`` holding ``splits`` in this process (its data are built once, lazily).

    A search asks for ``splits=("train", "val")``: that instance has no test data at all.
    """
    return _get_task(name, normalise_splits(splits))


@functools.lru_cache(maxsize=None)
def _get_task(name: str, splits: tuple[str, ...]) -> Task:
    try:
        make = TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; choose from {', '.join(TASKS)}") from None
    return make(splits)


__all__ = ["SEARCH_SPLITS", "SPLITS", "SearchView", "Split", "TASKS", "Task", "get_task"]
