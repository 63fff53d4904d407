"""Tasks by name: the registry the evaluator and the CLI look tasks up in."""
from __future__ import annotations

import functools

from nasbench.errors import ConfigError
from nasbench.tasks.base import Task
from nasbench.tasks.classification import ClassificationTask
from nasbench.tasks.detection import DetectionTask
from nasbench.tasks.segmentation import SegmentationTask

TASKS: dict[str, type[Task]] = {
    "cls": ClassificationTask,
    "det": DetectionTask,
    "seg": SegmentationTask,
}


@functools.lru_cache(maxsize=None)
def get_task(name: str) -> Task:
    """The one instance of task ``name`` in this process (its data are built once)."""
    try:
        cls = TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; choose from {', '.join(TASKS)}") from None
    return cls()
