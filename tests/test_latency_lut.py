"""The latency/MACs lookup table: exact MACs, cached per fingerprint, rebuilt on request."""
import numpy as np
import pytest

from spaces import latency_lut
from nasbench.costs import count_macs
from nasbench.tasks import get_task
from spaces.mobile import MobileSpace

SMALL = dict(widths=((4, 8), (8,), (8, 12), (12,)), depths=(1, 2), kernels=(3,), expansions=(1, 2))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(latency_lut, "ROUNDS", 1)
    monkeypatch.setattr(latency_lut, "REPEATS", 2)
    monkeypatch.setattr(latency_lut, "_rebuilt", set())
    return tmp_path


def test_table_macs_are_exact_and_latencies_positive(cache):
    space, task = MobileSpace(**SMALL), get_task("cls")
    table = latency_lut.load_table(space, task)
    rng = np.random.default_rng(0)
    for _ in range(5):
        arch = space.sample(rng)
        assert table.backbone_macs(space, arch) == count_macs(space.backbone(arch, task), task.input_shape)
        assert table.latency_ms(space, arch) > table.stem.latency_ms + table.head_ms > 0
    assert all(e.latency_ms > 0 and e.macs > 0 for e in table.blocks.values())


def test_table_is_cached_per_fingerprint_and_rebuilt_on_request(cache, monkeypatch):
    space, task = MobileSpace(**SMALL), get_task("cls")
    first = latency_lut.load_table(space, task)
    assert [p.name for p in cache.iterdir()] == [f"lut-{first.fingerprint}.json"]
    measured = []
    real = latency_lut.measure_table
    monkeypatch.setattr(latency_lut, "measure_table", lambda *a: measured.append(1) or real(*a))
    assert latency_lut.load_table(space, task) == first and not measured
    latency_lut.load_table(space, task, "rebuild")  # measured in this process already: fresh
    assert not measured
    monkeypatch.setattr(latency_lut, "_rebuilt", set())  # as in a new process
    latency_lut.load_table(space, task, "rebuild")
    latency_lut.load_table(space, task, "rebuild")  # once per process
    assert measured == [1]
    other = MobileSpace(**{**SMALL, "kernels": (3, 5)})
    assert latency_lut.fingerprint(other, task) != first.fingerprint
    assert latency_lut.fingerprint(space, get_task("det")) != first.fingerprint
    with pytest.raises(ValueError, match="unknown LUT mode"):
        latency_lut.load_table(space, task, "fresh")


def test_cost_latency_comes_from_the_table_without_timing_a_forward_pass(cache, monkeypatch):
    from nasbench import costs

    space, task = MobileSpace(**SMALL), get_task("cls")
    table = latency_lut.load_table(space, task)
    monkeypatch.setattr(costs, "measure_latency_ms", lambda *a, **k: pytest.fail("a forward pass was timed"))
    monkeypatch.setattr(latency_lut, "measure_table", lambda *a: pytest.fail("the table was measured again"))
    arch = space.sample(np.random.default_rng(3))
    assert space.cost(arch, task).latency_ms == table.latency_ms(space, arch) > 0
    assert "latency" in space.capabilities
    from spaces.nb201 import NB201Space

    assert np.isnan(NB201Space().latency_ms(NB201Space().reference(), task))


def test_the_cache_file_is_written_atomically_and_an_unreadable_one_is_measured_again(cache, monkeypatch):
    space, task = MobileSpace(**SMALL), get_task("cls")
    path = cache / f"lut-{latency_lut.fingerprint(space, task)}.json"
    path.write_text('{"fingerprint": "trunc')  # e.g. left by an interrupted writer
    table = latency_lut.load_table(space, task)
    assert latency_lut.CostTable.from_dict(__import__("json").loads(path.read_text())) == table
    assert [p.name for p in cache.iterdir()] == [path.name]  # no temporary file left behind
    from nasbench import files

    replaced = []
    real = files.os.replace
    monkeypatch.setattr(files.os, "replace", lambda a, b: replaced.append((a, b)) or real(a, b))
    files.atomic_write(path.parent, path.name, "{}")
    ((tmp, target),) = replaced
    assert target == path and str(tmp) != str(path) and path.read_text() == "{}"
