"""Executors run units of work (searches, final evaluations) and yield results as they finish.

The same functions run in-process, in a local process pool or on Ray; results do not depend on
which (one torch thread per job, everything seeded). A worker lost mid-job (killed, os._exit,
out of memory) is replaced and the job retried up to ``retries`` times; after that the job is
yielded as ``Lost`` so the driver records a failed run. Workers die with the driver.
"""
from __future__ import annotations

import abc
import collections
import ctypes
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterator, Sequence

from nasbench.errors import ConfigError


@dataclass(frozen=True)
class Lost:
    """A job whose worker died ``attempts`` times."""

    attempts: int
    reason: str


class Executor(abc.ABC):
    """Runs ``fn(item)`` for every item; yields ``(index, result or Lost, attempts)`` as jobs finish."""

    name: str

    @abc.abstractmethod
    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any, int]]:
        """Results in completion order."""

    def close(self) -> None:
        """Release workers (idempotent)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class InProcess(Executor):
    """Runs jobs one after another in this process (debuggable, no start-up cost)."""

    name = "inprocess"

    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any, int]]:
        for index, item in enumerate(items):
            yield index, fn(item), 1


# -- local process pool -------------------------------------------------------------------
def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this worker when its parent dies, and poll as a fallback."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)


def _worker_main(conn: Connection, parent: int) -> None:
    """A pool worker: ignore Ctrl-C (the driver stops the pool), run jobs until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        fn, item = message
        try:
            result = ("ok", fn(item))
        except Exception as exc:  # noqa: BLE001 - reported to the driver, which records it
            result = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(result)


class _Worker:
    def __init__(self, context: Any) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, os.getpid()), daemon=True)
        self.process.start()
        child.close()
        self.job: int | None = None

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class ProcessPool(Executor):
    """``workers`` spawned processes, each running one job at a time; dead workers are replaced."""

    name = "pool"

    def __init__(self, workers: int, retries: int = 2) -> None:
        if workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.retries = retries
        self._context = multiprocessing.get_context("spawn")
        self._pool: list[_Worker] = []

    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any, int]]:
        pending = collections.deque(range(len(items)))
        attempts: collections.Counter[int] = collections.Counter()
        busy: dict[Connection, _Worker] = {}
        try:
            while pending or busy:
                while pending and len(busy) < self.workers:
                    worker = self._idle_worker(busy)
                    index = pending.popleft()
                    attempts[index] += 1
                    worker.job = index
                    worker.conn.send((fn, items[index]))
                    busy[worker.conn] = worker
                sentinels = {w.process.sentinel: w for w in busy.values()}
                for ready in wait(list(busy) + list(sentinels)):
                    worker = busy.get(ready) or sentinels.get(ready)
                    if worker is None or worker.conn not in busy:
                        continue
                    index = worker.job
                    assert index is not None
                    try:
                        kind, value = worker.conn.recv() if worker.conn.poll() else (None, None)
                    except (EOFError, OSError):
                        kind, value = None, None
                    if kind is None and worker.process.is_alive():
                        continue  # the sentinel fired spuriously; the result is still to come
                    del busy[worker.conn]
                    worker.job = None
                    if kind == "ok":
                        yield index, value, attempts[index]
                    elif kind == "error":
                        yield index, Lost(attempts[index], value), attempts[index]
                    else:
                        self._pool.remove(worker)
                        worker.stop()
                        if attempts[index] <= self.retries:
                            pending.appendleft(index)
                        else:
                            yield index, Lost(attempts[index], f"worker process died {attempts[index]} times"), attempts[index]
        finally:
            if busy:  # interrupted mid-way: do not leave half-done work running
                self.close()

    def _idle_worker(self, busy: dict[Connection, _Worker]) -> _Worker:
        for worker in self._pool:
            if worker.conn not in busy and worker.process.is_alive():
                return worker
        for worker in [w for w in self._pool if not w.process.is_alive()]:
            self._pool.remove(worker)
        worker = _Worker(self._context)
        self._pool.append(worker)
        return worker

    def close(self) -> None:
        for worker in self._pool:
            worker.stop()
        self._pool = []


def make_executor(name: str, workers: int, **options: Any) -> Executor:
    """An executor by name: ``inprocess``, ``pool`` (``workers`` processes) or ``ray``."""
    if name == "inprocess" or (name == "pool" and workers == 1):
        return InProcess()
    if name == "pool":
        return ProcessPool(workers)
    if name == "ray":
        from nasbench.runner.ray_executor import RayExecutor

        return RayExecutor(workers=workers, **options)
    raise ConfigError(f"unknown executor {name!r}; choose from inprocess, pool, ray")
