"""The statistics of benchmarks/task_calibration.py: ICC(1) and its guards."""
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location("task_calibration", Path(__file__).resolve().parents[1] / "benchmarks" / "task_calibration.py")
calibration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(calibration)


def test_icc1_by_hand():
    # means 1.5, 3.5, 5.5: MSB = 2 x 8 / 2 = 8; MSW = 6 x 0.25 / 3 = 0.5; ICC = 7.5 / 8.5
    assert calibration.icc1(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])) == pytest.approx(7.5 / 8.5)


def test_icc1_is_one_without_seed_noise_and_about_zero_without_architecture_signal():
    assert calibration.icc1(np.array([[0.1, 0.1, 0.1], [0.5, 0.5, 0.5]])) == pytest.approx(1.0)
    noise = np.random.default_rng(0).normal(size=(200, 3))
    assert abs(calibration.icc1(noise)) < 0.1


def test_icc1_needs_two_architectures_and_two_seeds():
    assert math.isnan(calibration.icc1(np.ones((1, 3)))) and math.isnan(calibration.icc1(np.ones((5, 1))))
    assert math.isnan(calibration.icc1(np.ones((4, 3))))


def test_icc1_interval_holds_the_estimate_and_narrows_with_more_architectures():
    rng = np.random.default_rng(1)

    def draw(n: int) -> np.ndarray:  # true ICC = 1 / (1 + 0.5**2) = 0.8
        return rng.normal(size=(n, 1)) + rng.normal(scale=0.5, size=(n, 3))

    few, many = draw(20), draw(400)
    low, high = calibration.icc1_interval(few, resamples=500)
    assert low <= calibration.icc1(few) <= high
    low_many, high_many = calibration.icc1_interval(many, resamples=500)
    assert 0.7 < low_many < high_many < 0.9 and high_many - low_many < high - low
    assert all(math.isnan(v) for v in calibration.icc1_interval(np.ones((1, 3))))


def test_parse_recipe_reads_typed_overrides_and_refuses_unknown_fields():
    assert calibration.parse_recipe(["batch_size=32", "lr=0.01", "epochs=3"]) == {"batch_size": 32, "lr": 0.01, "epochs": 3}
    for bad in (["bogus=1"], ["batch_size"], ["batch_size=x"], ["lr=-1"]):
        with pytest.raises(ValueError):
            calibration.parse_recipe(bad)


class _FakeEvaluator:
    """Stands in for TrainingEvaluator in --retime: no training, records what was evaluated."""

    search_fidelity = "search"

    def __init__(self, space, task, latency):
        self.task_name = task.name

    def evaluate(self, arch, fidelity, seed):
        return None


def _saved_run(metric: float) -> dict:
    """A --raw file of one task, with the conditions of the run that measured it."""
    run = {"command": "python benchmarks/task_calibration.py --tasks cls", "threads": 1, "load_before": [3.0, 3.0, 3.0],
           "load_after": [3.0, 3.0, 3.0]}
    return {"tasks": [{"task": "cls", "run": run,
                       "reference": {"arch": "mobile:" + "-".join(["1"] * 32), "search_seconds": [9.0, 9.0, 9.0],
                                     "final": {"metric": metric, "seconds": 30.0}}}]}


def test_retime_replaces_only_the_cost_rows_and_says_so(monkeypatch):
    monkeypatch.setattr(calibration, "TrainingEvaluator", _FakeEvaluator)
    monkeypatch.setattr(calibration, "time_reference",
                        lambda evaluator, reference: {"search_seconds": [2.0, 2.1, 2.2], "final": {"metric": 0.5, "seconds": 8.0}})
    raw = _saved_run(0.5)
    calibration.retime(raw, "python benchmarks/task_calibration.py --from-raw r.json --retime")
    record = raw["tasks"][0]
    assert record["reference"]["search_seconds"] == [2.0, 2.1, 2.2] and record["reference"]["final"]["seconds"] == 8.0
    text = calibration.conditions(record["run"])
    assert text.startswith("Measured by `python benchmarks/task_calibration.py --tasks cls`")
    assert "Cost rows re-measured by `python benchmarks/task_calibration.py --from-raw r.json --retime`" in text


def test_retime_refuses_a_saved_run_of_other_code_or_data(monkeypatch):
    monkeypatch.setattr(calibration, "TrainingEvaluator", _FakeEvaluator)
    monkeypatch.setattr(calibration, "time_reference",
                        lambda evaluator, reference: {"search_seconds": [2.0, 2.0, 2.0], "final": {"metric": 0.6, "seconds": 8.0}})
    raw = _saved_run(0.5)
    with pytest.raises(SystemExit, match="differs from the saved"):
        calibration.retime(raw, "cmd")
    assert raw["tasks"][0]["reference"]["search_seconds"] == [9.0, 9.0, 9.0]
    calibration.retime(raw, "cmd", tasks=["det"])  # cls not asked for: left as saved
    assert raw["tasks"][0]["reference"]["search_seconds"] == [9.0, 9.0, 9.0] and "retimed" not in raw["tasks"][0]["run"]


def test_tasks_measured_by_different_runs_share_one_file_each_with_its_own_conditions():
    raw = _saved_run(0.5)
    det = {"task": "det", "run": {"command": "python benchmarks/task_calibration.py --tasks det", "threads": 1}}
    calibration.put_task(raw, det)
    calibration.put_task(raw, {**raw["tasks"][0], "run": {"command": "second cls run", "threads": 2}})
    assert [r["task"] for r in raw["tasks"]] == ["cls", "det"]
    assert raw["tasks"][0]["run"]["command"] == "second cls run" and raw["tasks"][1] is det
