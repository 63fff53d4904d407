import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import pytest  # noqa: E402


@pytest.fixture
def toy_benchmark(monkeypatch):
    """Register the synthetic 'toy' benchmark (space 'toy', tasks 'a' and 'b') for the test."""
    import spaces
    from nasbench import benchmarks
    from synthetic import SyntheticEvaluator, ToySpace

    monkeypatch.setitem(spaces.SPACES, "toy", ToySpace)
    bench = benchmarks.Benchmark("toy", "toy", ("a", "b"), SyntheticEvaluator)
    monkeypatch.setitem(benchmarks.BENCHMARKS, "toy", bench)
    return bench


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Tiny networks train fastest on one torch thread (and avoid OpenMP stalls on a busy machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
