"""nasbench.results: loading a results folder (documented format), records without pandas,
compare(), and summary.csv rebuilt exactly from the stored runs."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from nasbench import results
from nasbench.runner import stats

SETTINGS = {"settings": {"strategies": {"random": {}, "rea": {"population": 20}}, "tasks": ["cls"], "budget": 40,
                         "budget_unit": "evals", "k": 5, "seeds": [0, 1, 2, 3, 4, 5]},
            "fingerprints": {"code": "deadbeef"}, "versions": {"nasbench": "0.1.0", "torch": "2.13.0"},
            "machine": {"cpu": "Test CPU @ 2GHz", "threads": 2}, "date": "2025-01-01T00:00:00Z"}


def run_record(strategy: str, seed: int, *, task: str = "cls", status: str = "ok", attempt: str = "a1",
               hv: float | None = 0.5, nb201: bool = False) -> dict:
    """One runs.jsonl line in the documented format."""
    finals = [{"arch": f"{strategy}-{seed}-{j}", "metric": 0.8 + 0.01 * j + 0.001 * seed, "val_metric": 0.79,
               "macs": 1000 * (j + 1), "params": 10, "latency_ms": None, "status": "ok", "on_front": True,
               "selected": j == 0} for j in range(3)]
    return {
        "fingerprint": f"fp-{strategy}-{task}-{seed}", "attempt": attempt, "strategy": strategy, "task": task,
        "seed": seed, "status": status, "budget": 40.0, "budget_unit": "macs", "compute_used": 39.5,
        "compute_used_macs": 39.5, "budget_macs": 40.0, "n_evaluations": 12, "wall_seconds": 3.25,
        "cpu_seconds": 3.0, "audit": {"expected_seconds": 3.0, "unaccounted_seconds": 0.25, "flagged": seed == 2},
        "given": [], "stop_reason": "budget", "settings": {}, "hypervolume": hv if status == "ok" else None,
        "best_metric": 0.82 + 0.001 * seed, "selected_metric": 0.8 + 0.001 * seed,
        "indicators": {"best_test_acc": 93.0 + seed / 10, "hv_ratio": hv, "igd": 0.1, "igd_plus": None} if nb201 else {},
        "finals": finals, "reference_macs": 5000.0,
    }


def archive_row(strategy: str, seed: int, index: int, *, task: str = "cls", attempt: str = "a1") -> dict:
    return {"fingerprint": f"fp-{strategy}-{task}-{seed}", "attempt": attempt, "strategy": strategy, "task": task,
            "seed": seed, "index": index, "budget_used": 10.0 * (index + 1), "budget": 40.0, "arch": f"x{index}",
            "metric": 0.5 + 0.1 * index, "macs": 1000 + 100 * index, "params": 10, "status": "ok", "split": "val",
            "test_metric": None}


def write_folder(folder: Path, runs: list[dict], archive: list[dict], settings: dict = SETTINGS) -> Path:
    """A results folder in the documented format (config.json, runs.jsonl, archive.jsonl)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(settings))
    (folder / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    (folder / "archive.jsonl").write_text("".join(json.dumps(a) + "\n" for a in archive))
    return folder


def _fallback_read_folder(folder):
    """The documented reading contract (used only if the lead's store is not importable yet)."""
    folder = Path(folder)
    settings = json.loads((folder / "config.json").read_text())
    latest: dict = {}
    for line in (folder / "runs.jsonl").read_text().splitlines():
        r = json.loads(line)
        latest[(r["strategy"], r["task"], r["seed"])] = r
    runs = list(latest.values())
    attempts = {(r["fingerprint"], r["attempt"]) for r in runs}
    archive = [a for a in map(json.loads, (folder / "archive.jsonl").read_text().splitlines())
               if (a["fingerprint"], a["attempt"]) in attempts]
    return settings, runs, archive


@pytest.fixture(autouse=True)
def reader(monkeypatch):
    try:
        from nasbench.runner.store import read_folder  # noqa: F401
    except ImportError:
        import types

        module = types.ModuleType("nasbench.runner.store")
        module.read_folder = _fallback_read_folder
        monkeypatch.setitem(sys.modules, "nasbench.runner.store", module)


@pytest.fixture
def folder(tmp_path) -> Path:
    runs, archive = [], []
    for strategy in ("random", "rea"):
        for seed in range(6):
            if strategy == "rea" and seed == 1:  # a failed attempt, then a successful retry: last line wins
                runs.append(run_record(strategy, seed, status="failed: killed", attempt="a0"))
                archive += [archive_row(strategy, seed, i, attempt="a0") for i in range(2)]
            runs.append(run_record(strategy, seed, hv=0.4 + 0.05 * (strategy == "rea") + 0.01 * seed))
            archive += [archive_row(strategy, seed, i) for i in range(3)]
    archive.append({**archive_row("random", 9, 0), "fingerprint": "orphan"})  # a killed run's row
    return write_folder(tmp_path / "res", runs, archive)


def test_load_tables(folder):
    res = results.load(folder)
    assert res.settings["machine"]["cpu"] == "Test CPU @ 2GHz"
    assert len(res.runs) == 12 and set(res.runs["status"]) == {"ok"}  # the retry replaced the failed attempt
    assert len(res.finals) == 12 * 3
    assert list(res.finals.columns[:3]) == ["strategy", "task", "seed"]
    assert len(res.archive) == 12 * 3  # the failed attempt's rows and the orphan are ignored
    assert set(res.archive["attempt"]) == {"a1"}
    assert res.runs["audit_flagged"].sum() == 2


def test_records_work_without_pandas(folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now raises ImportError
    res = results.load(folder)
    runs = res.records()
    assert isinstance(runs, list) and isinstance(runs[0], dict) and len(runs) == 12
    finals = res.records("finals")
    assert len(finals) == 36 and {"strategy", "task", "seed", "arch", "metric"} <= set(finals[0])
    summary = res.records("summary")
    assert list(summary[0]) == results.SUMMARY_COLUMNS
    assert len(res.records("archive")) == 36
    with pytest.raises(ImportError):
        res.runs  # noqa: B018 - the frames do need pandas
    with pytest.raises(ValueError):
        res.records("nope")


def test_compare_is_the_pairwise_table(folder):
    res = results.load(folder)
    table = res.compare()
    pd.testing.assert_frame_equal(table, stats.pairwise(res.runs))
    assert list(table.columns) == stats.PAIRWISE_COLUMNS
    hv = res.compare("hypervolume")
    assert set(hv["metric"]) == {"hypervolume"}
    row = hv.iloc[0]
    assert (row["strategy_a"], row["strategy_b"], row["verdict"]) == ("random", "rea", "b better")


def test_summary_csv_rebuilt_exactly(folder, tmp_path):
    res = results.load(folder)
    expected = results.summary_frame(res.records())
    assert list(expected.columns) == results.SUMMARY_COLUMNS
    path = tmp_path / "summary.csv"
    expected.to_csv(path, index=False)
    pd.testing.assert_frame_equal(pd.read_csv(path), results.summary_frame(res.records()))
    assert list(expected[["strategy", "seed"]].itertuples(index=False, name=None))[:2] == [("random", 0), ("random", 1)]
    assert expected["n_proposals"].eq(3).all() and expected["audit_flagged"].sum() == 2


def test_summary_indicator_columns_follow(tmp_path):
    runs = [run_record("random", s, task="cifar10", nb201=True, hv=0.9) for s in range(2)]
    runs.append(run_record("rea", 0, task="cifar10", nb201=True, status="failed: boom"))
    frame = results.summary_frame(runs)
    assert list(frame.columns) == results.SUMMARY_COLUMNS + ["best_test_acc", "hv_ratio", "igd", "igd_plus"]
    assert frame["igd_plus"].isna().all()
    path = tmp_path / "s.csv"
    frame.to_csv(path, index=False)
    pd.testing.assert_frame_equal(pd.read_csv(path), frame)
    failed = frame[frame["strategy"] == "rea"].iloc[0]
    assert failed["status"] == "failed: boom" and pd.isna(failed["hypervolume"])
