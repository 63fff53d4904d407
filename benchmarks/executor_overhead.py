"""Scheduling overhead of the executors: wall seconds per empty job, measured in one run.

Run: python benchmarks/executor_overhead.py [--jobs 200] [--workers 2] [--doc PATH]
For InProcess, ProcessPool(workers) and RayExecutor(workers) (skipped when ray is missing) it
prints the start-up time (creating the executor and warming every worker, which imports
nasbench) and then the mean wall seconds per no-op job over ``--jobs`` jobs on warm workers.
With ``--doc PATH`` it also writes the table as markdown to PATH (never by default).
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasbench.runner.executors import Executor, InProcess, ProcessPool  # noqa: E402


def noop(x: int) -> int:
    """The empty job: all its cost is scheduling."""
    return x


def measure(make: Callable[[], Executor], workers: int, jobs: int) -> tuple[float, float]:
    """(start-up seconds, mean wall seconds per job) of one executor."""
    start = time.perf_counter()
    with make() as executor:
        for _ in executor.map_unordered(noop, list(range(workers))):  # warm every worker first
            pass
        startup = time.perf_counter() - start
        start = time.perf_counter()
        done = sum(1 for _ in executor.map_unordered(noop, list(range(jobs))))
        per_job = (time.perf_counter() - start) / done
    return startup, per_job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200, help="no-op jobs per executor (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the pool and of Ray (default 2)")
    parser.add_argument("--doc", type=Path, help="also write the table as markdown to this file")
    args = parser.parse_args()

    candidates: list[tuple[str, Callable[[], Executor]]] = [
        ("InProcess", InProcess), (f"ProcessPool({args.workers})", lambda: ProcessPool(args.workers))]
    try:
        import ray  # noqa: F401

        from nasbench.runner.ray_executor import RayExecutor

        candidates.append((f"RayExecutor({args.workers})", lambda: RayExecutor(args.workers)))
        ray_version = ray.__version__
    except ImportError:
        print("ray is not installed: RayExecutor skipped (pip install 'nasbench[ray]')")
        ray_version = "-"

    rows = []
    for name, make in candidates:
        startup, per_job = measure(make, args.workers, args.jobs)
        rows.append((name, startup, per_job))
        print(f"{name:<16} start-up {startup:7.2f} s   {per_job * 1e3:8.3f} ms per empty job", flush=True)

    if args.doc is not None:
        lines = [f"Executor overhead: {args.jobs} no-op jobs on warm workers; {platform.machine()}, "
                 f"Python {platform.python_version()}, ray {ray_version}.", "",
                 "| executor | start-up (s) | overhead per job (ms) |", "| --- | ---: | ---: |"]
        lines += [f"| {name} | {startup:.2f} | {per_job * 1e3:.3f} |" for name, startup, per_job in rows]
        args.doc.write_text("\n".join(lines) + "\n")
        print(f"table written to {args.doc}")


if __name__ == "__main__":
    main()
