import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import pytest  # noqa: E402

from nasbench.errors import ConfigError  # noqa: E402
from nasbench.registry import SPACES, TASKS  # noqa: E402


class ToyTask:
    """A task answered by ``SyntheticEvaluator``: no data, no training, a known metric."""

    trainable = False
    description = "synthetic toy task"

    def __init__(self, name, splits=("train", "val", "test")):
        self.name, self.splits = name, tuple(splits)

    def evaluator(self, space):
        from synthetic import SyntheticEvaluator

        return SyntheticEvaluator(space, self.name)

    def check_space(self, space):
        if space.name != "toy":
            raise ConfigError(f"toy task {self.name!r} runs only on the toy space, not {space.name!r}")

    def true_front(self):
        return None


def toy_factory(name):
    def make(splits=("train", "val", "test")):
        return ToyTask(name, splits)

    make.description = "synthetic toy task"
    return make


@pytest.fixture
def toy_benchmark():
    from synthetic import ToySpace

    SPACES.load(), TASKS.load()
    SPACES.register(ToySpace)
    for name in ("a", "b"):
        TASKS.register(toy_factory(name), name)
    yield
    SPACES.unregister("toy")
    for name in ("a", "b"):
        TASKS.unregister(name)


@pytest.fixture
def example_plugin(monkeypatch):
    """Install tests/plugin_example (a task over its own tensors, a space, a strategy) as a distribution would be:
    on sys.path (worker processes inherit it), its entry points rescanned."""
    from nasbench.registry import STRATEGIES

    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parent / "plugin_example"))
    for registry in (STRATEGIES, SPACES, TASKS):
        monkeypatch.setattr(registry, "_items", dict(registry.load()))
        monkeypatch.setattr(registry, "_loaded", False)


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Tiny networks train fastest on one torch thread (and avoid OpenMP stalls on a busy machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
