"""Tasks by name, from the ``nasbench.tasks`` entry-point group (built-ins are declared there too).

A task entry is a callable ``make(splits) -> Task`` (a ``Task`` class, or a factory function).
"""
from __future__ import annotations

import functools
from typing import Sequence

from nasbench.registry import TASKS
from nasbench.tasks.base import SEARCH_SPLITS, SPLITS, SearchView, Split, Task, normalise_splits


def get_task(name: str, splits: Sequence[str] = SPLITS) -> Task:
    """The one instance of task ``name`` holding ``splits`` in this process (its data are built once, lazily).

    A search asks for ``splits=("train", "val")``: that instance has no test data at all.
    """
    return _get_task(name, normalise_splits(splits))


@functools.lru_cache(maxsize=None)
def _get_task(name: str, splits: tuple[str, ...]) -> Task:
    return TASKS.get(name)(splits)


__all__ = ["SEARCH_SPLITS", "SPLITS", "SearchView", "Split", "Task", "get_task"]
