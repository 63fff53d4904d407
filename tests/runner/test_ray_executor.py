"""Ray executor: same results as in-process; lost workers retried by Ray; errors reported, not retried."""
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from nasbench.errors import ConfigError  # noqa: E402
from nasbench.runner.executors import InProcess, Lost, make_executor  # noqa: E402
from nasbench.runner.ray_executor import RayExecutor  # noqa: E402
from pool_jobs import always_die, die_once, raise_error, square  # noqa: E402


def pid_then_sleep(args):
    """Append this worker's pid to a file, then sleep: lets a test kill the worker mid-job."""
    path, seconds = args
    with open(path, "a") as f:
        f.write(f"{os.getpid()}\n")
    time.sleep(seconds)
    return os.getpid()


@pytest.fixture(scope="module")
def executor():
    """One local Ray instance for the module, started (and stopped) by the executor itself."""
    ex = RayExecutor(2)
    assert ex._started
    yield ex
    ex.close()
    assert not ray.is_initialized()


def collect(executor, fn, items):
    return {i: (r, a) for i, r, a in executor.map_unordered(fn, items)}


def wait_for_pids(path, n, timeout=30.0):
    deadline = time.time() + timeout
    while not path.exists() or len(path.read_text().split()) < n:
        assert time.time() < deadline, "the job never reported its pid"
        time.sleep(0.1)
    return [int(p) for p in path.read_text().split()]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_same_results_as_in_process(executor):
    items = list(range(7))
    assert collect(executor, square, items) == collect(InProcess(), square, items) == \
           {i: (i * i, 1) for i in items}


def test_a_worker_that_dies_once_is_retried(executor, tmp_path):
    results = collect(executor, die_once, [(str(tmp_path / "m"), 5), (str(tmp_path / "n"), 6)])
    assert results == {0: (5, 2), 1: (6, 2)}


def test_a_job_that_always_kills_its_worker_is_lost_after_bounded_retries(executor):
    with RayExecutor(1, retries=1) as ex:  # shares the module's instance
        result, attempts = collect(ex, always_die, [0])[0]
    assert isinstance(result, Lost) and attempts == result.attempts == 2
    assert "died 2 times" in result.reason and "\n" not in result.reason
    assert ray.is_initialized()  # close() left the instance it did not start alone


def test_an_exception_is_reported_not_retried(executor):
    result, attempts = collect(executor, raise_error, [0])[0]
    assert result == Lost(1, "ValueError: bad job") and attempts == 1


def test_drill_killing_the_worker_mid_job_retries_the_job(executor, tmp_path):
    pids = tmp_path / "pids"
    jobs = executor.map_unordered(pid_then_sleep, [(str(pids), 2.0)])
    started = threading.Thread(target=lambda: os.kill(wait_for_pids(pids, 1)[0], signal.SIGKILL))
    started.start()
    index, result, attempts = next(jobs)
    started.join()
    first, second = wait_for_pids(pids, 2)
    assert (index, attempts) == (0, 2) and result == second != first


def test_ctrl_c_cancels_outstanding_jobs(executor, tmp_path):
    pids = tmp_path / "pids"

    def interrupt():
        wait_for_pids(pids, 2)
        os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # whatever earlier tests installed
    threading.Thread(target=interrupt, daemon=True).start()
    jobs = executor.map_unordered(pid_then_sleep, [(str(pids), 60.0)] * 3)
    with pytest.raises(KeyboardInterrupt):
        next(jobs)
    workers = wait_for_pids(pids, 2)
    deadline = time.time() + 15
    while any(alive(p) for p in workers):
        assert time.time() < deadline, "cancelled jobs still running"
        time.sleep(0.2)
    assert len(pids.read_text().split()) == 2  # the third job never started
    signal.signal(signal.SIGINT, previous)


def test_make_executor_and_missing_ray(executor, monkeypatch):
    assert isinstance(make_executor("ray", 2, address=None, job_cpus=1), RayExecutor)
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigError, match="pip install 'nasbench\\[ray\\]'"):
        RayExecutor(2)
