"""Run jobs as Ray tasks, on a local Ray instance or on an existing Ray cluster.

Same contract as the other executors (``nasbench.runner.executors``): ``map_unordered`` yields
``(index, result or Lost, attempts)`` in completion order. A worker or node lost mid-job is
retried by Ray (``max_retries``); an exception raised by the job is reported, never retried.
Ray is imported lazily: the rest of nasbench works without it.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Any, Callable, Iterator, Sequence

from nasbench.errors import ConfigError
from nasbench.runner.executors import Executor, Lost


def _run_job(fn: Callable[[Any], Any], item: Any) -> tuple[str, Any, int]:
    """The remote wrapper: ``("ok", fn(item), attempt)`` or ``("error", "ExcType: message", attempt)``.

    Exceptions are returned, not raised, so Ray never retries them and the attempt is known.
    """
    import ray

    # 0 on the first run, +1 on each retry Ray makes after losing the worker (ray >= 2.9; no public API).
    attempt = ray._private.worker.global_worker.core_worker.get_current_task_attempt_number() + 1
    try:
        return "ok", fn(item), attempt
    except Exception as exc:  # noqa: BLE001 - reported to the driver, which records a failed run
        return "error", _one_line(exc), attempt


def _driver_path() -> list[str]:
    """The driver's own import directories (not the interpreter's ones, which workers have anyway)."""
    own = [os.path.abspath(p) for p in sys.path]
    own = [p for p in own if os.path.isdir(p) and not p.startswith((sys.prefix, sys.base_prefix))]
    return list(dict.fromkeys(own))


def _one_line(exc: BaseException) -> str:
    """``"ExcType: first line of the message"``, the failure reason the store records."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


class RayExecutor(Executor):
    """Up to ``workers`` jobs at a time as Ray tasks of ``job_cpus`` CPUs each.

    With ``address`` it connects to that cluster (``ray start --head`` / ``ray start --address``
    on the nodes; nasbench must be importable on every node); otherwise it starts a quiet local
    instance of ``workers * job_cpus`` CPUs, unless Ray is already initialised in this process,
    in which case that instance is used as is. ``close()`` stops only an instance it started.
    """

    name = "ray"

    def __init__(self, workers: int, address: str | None = None, job_cpus: int = 1, retries: int = 2) -> None:
        if workers < 1 or job_cpus < 1 or retries < 0:
            raise ConfigError(f"ray executor: need workers >= 1, job_cpus >= 1, retries >= 0 "
                              f"(got {workers}, {job_cpus}, {retries})")
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray executor needs ray: pip install 'nasbench[ray]'") from None
        if not hasattr(ray._raylet.CoreWorker, "get_current_task_attempt_number"):
            raise ConfigError(f"ray {ray.__version__} does not expose task attempt numbers; use ray>=2.9")
        self.workers, self.job_cpus, self.retries = workers, job_cpus, retries
        self._ray = ray
        self._started = False  # True: this executor owns (and will stop) the local instance
        self._connected = False  # True: this executor connected to a cluster (it only disconnects)
        if not ray.is_initialized():
            if address is not None:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
                self._connected = True
            else:
                # address="local": never pick up a cluster from RAY_ADDRESS by accident. Workers get
                # the driver's import path, as a spawned pool worker does (Ray adds only the cwd).
                ray.init(address="local", num_cpus=workers * job_cpus, include_dashboard=False,
                         log_to_driver=False, logging_level=logging.WARNING,
                         job_config=ray.job_config.JobConfig(_py_driver_sys_path=_driver_path()))
                self._started = True
        self._remote = ray.remote(_run_job).options(
            num_cpus=job_cpus, max_retries=retries, retry_exceptions=False)

    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any, int]]:
        ray = self._ray
        fn_ref = ray.put(fn)  # shipped once, not once per task
        todo = iter(range(len(items)))
        running: dict[Any, int] = {}  # object ref -> job index
        try:
            while True:
                for index in todo:
                    running[self._remote.remote(fn_ref, items[index])] = index
                    if len(running) >= self.workers:
                        break
                if not running:
                    return
                done, _ = ray.wait(list(running), num_returns=1)
                index = running.pop(done[0])
                yield (index, *self._outcome(done[0]))
        finally:
            for ref in running:  # Ctrl-C, or the caller stopped early: leave no job running
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - already finished, or Ray is going down
                    pass

    def _outcome(self, ref: Any) -> tuple[Any, int]:
        """``(result or Lost, attempts)`` of a finished task."""
        ray = self._ray
        try:
            kind, value, attempt = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # raised outside ``fn`` (e.g. unpickling): not retried
            return Lost(1, _one_line(getattr(exc, "cause", None) or exc)), 1
        except ray.exceptions.RayError as exc:  # worker or node lost on every attempt
            attempts = self.retries + 1
            return Lost(attempts, f"worker process died {attempts} times ({_one_line(exc)})"), attempts
        return (value if kind == "ok" else Lost(attempt, value)), attempt

    def close(self) -> None:
        """Stop the local instance this executor started; only disconnect from a cluster."""
        if self._started or self._connected:
            self._ray.shutdown()
        self._started = self._connected = False
