"""Executors: same results in-process and in the pool; lost workers retried; no orphans."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from nasbench.runner.executors import InProcess, Lost, ProcessPool, make_executor
from pool_jobs import always_die, die_once, raise_error, square


def collect(executor, fn, items):
    with executor:
        return {i: (r, a) for i, r, a in executor.map_unordered(fn, items)}


def test_in_process_and_pool_give_the_same_results():
    items = list(range(7))
    assert {i: r for i, (r, _) in collect(InProcess(), square, items).items()} == \
           {i: r for i, (r, _) in collect(ProcessPool(2), square, items).items()} == {i: i * i for i in items}


def test_a_worker_that_dies_is_replaced_and_its_job_retried(tmp_path):
    results = collect(ProcessPool(2, retries=2), die_once, [(str(tmp_path / "m"), 5), (str(tmp_path / "n"), 6)])
    assert results == {0: (5, 2), 1: (6, 2)}


def test_a_job_that_always_kills_its_worker_is_lost_after_bounded_retries():
    results = collect(ProcessPool(1, retries=1), always_die, [0])
    result, attempts = results[0]
    assert isinstance(result, Lost) and attempts == 2 and "died 2 times" in result.reason


def test_an_exception_is_reported_not_retried():
    result, attempts = collect(ProcessPool(1), raise_error, [0])[0]
    assert isinstance(result, Lost) and attempts == 1 and "ValueError: bad job" in result.reason


def test_one_worker_pool_is_in_process():
    assert isinstance(make_executor("pool", 1), InProcess)


def test_workers_die_when_the_driver_is_killed(tmp_path):
    pids = tmp_path / "pids"
    driver = textwrap.dedent(f"""
        import sys, os
        sys.path[:0] = {sys.path!r}
        from nasbench.runner.executors import ProcessPool
        from pool_jobs import sleep_and_report_pid
        import nasbench.runner.executors as ex
        pool = ProcessPool(2)
        it = pool.map_unordered(sleep_and_report_pid, [0.1, 0.1, 60, 60])
        first = [next(it)[1], next(it)[1]]
        open({str(pids)!r}, "w").write(" ".join(str(w.process.pid) for w in pool._pool))
        next(it)
    """)
    proc = subprocess.Popen([sys.executable, "-c", driver])
    deadline = time.time() + 60
    while not pids.exists() or not pids.read_text():
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.2)
    workers = [int(p) for p in pids.read_text().split()]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    alive = workers
    while alive and time.time() < deadline:
        time.sleep(0.2)
        alive = [p for p in workers if _alive(p)]
    assert alive == []


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for init is dead
        return f.read().split()[2] != "Z"
