"""The results folder: strict JSON, safe CSV, atomic writes, defensive reading, lock, symlinks."""
import csv
import io
import json
import math
import os
import subprocess
import sys

import pytest

from nasbench.errors import ConfigError, CorruptResults
from nasbench.files import atomic_write
from nasbench.runner.store import (ARCHIVE, CONFIG, RUNS, SCHEMAS, ResultStore, csv_text, dumps, first_difference,
                                   read_folder, read_jsonl, safe_cell)

IDENTITY = {"space": "toy", "budget": 4.0, "k": 3, "code": "abc"}


def run_line(**overrides):
    record = {"fingerprint": "f", "attempt": "a", "strategy": "random", "task": "a", "seed": 0, "status": "ok",
              "finals": [{"arch": "toy:1", "metric": 0.5, "macs": 10, "status": "ok", "on_front": True, "selected": True}],
              "hypervolume": 0.4, "selected_metric": 0.5, "best_metric": 0.5, "indicators": {}, "budget": 4.0,
              "budget_unit": "macs", "compute_used": 3.0, "n_evaluations": 2, "settings": {}}
    record.update(overrides)
    return record


def test_strict_json_writes_null_for_nan_and_infinity():
    line = dumps({"a": math.nan, "b": [math.inf, 1.0], "c": (1, 2)})
    assert json.loads(line) == {"a": None, "b": [None, 1.0], "c": [1, 2]}
    assert "NaN" not in line and "Infinity" not in line


@pytest.mark.parametrize("text", ["=HYPERLINK(\"x\")", "+cmd", "-1+2", "@SUM(A1)"])
def test_csv_cells_cannot_become_formulas(text):
    assert safe_cell(text).startswith("'")
    rows = list(csv.DictReader(io.StringIO(csv_text([{"status": text}], ["status"]))))
    assert rows == [{"status": "'" + text}]


def test_numbers_stay_numbers_in_csv():
    assert safe_cell("-1.5") == "-1.5" and safe_cell(-1.5) == -1.5


def test_open_writes_identity_once_and_refuses_other_settings(tmp_path):
    with ResultStore(tmp_path) as store:
        store.open(IDENTITY)
    before = (tmp_path / CONFIG).read_text()
    with pytest.raises(ConfigError, match=r"other settings \(k: 3 stored vs 5 now\)"):
        with ResultStore(tmp_path) as store:
            store.open({**IDENTITY, "k": 5})
    assert (tmp_path / CONFIG).read_text() == before


def test_garbage_config_is_refused_not_overwritten(tmp_path):
    (tmp_path / CONFIG).write_bytes(b"\xff\xfe garbage")
    with pytest.raises(CorruptResults, match="config.json is not valid JSON"):
        ResultStore(tmp_path).open(IDENTITY)
    assert (tmp_path / CONFIG).read_bytes() == b"\xff\xfe garbage"


def test_second_opener_of_a_locked_folder_is_refused_naming_the_holder(tmp_path):
    first = ResultStore(tmp_path)
    first.open(IDENTITY)
    try:
        with pytest.raises(ConfigError, match=f"in use by pid {os.getpid()}"):
            ResultStore(tmp_path).open(IDENTITY)
    finally:
        first.close()
    with ResultStore(tmp_path) as again:  # released: opens
        again.open(IDENTITY)


def test_lock_held_by_another_process(tmp_path):
    code = ("import sys, time; sys.path.insert(0, %r); from nasbench.runner.store import ResultStore; "
            "s = ResultStore(%r); s.open(%r); print('locked', flush=True); time.sleep(30)") % (
        str(os.getcwd()), str(tmp_path), IDENTITY)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ConfigError, match="in use by pid"):
            ResultStore(tmp_path).open(IDENTITY)
    finally:
        holder.kill()
        holder.wait()
    ResultStore(tmp_path).open(IDENTITY)  # a dead holder's lock is gone with it


def test_truncated_last_line_is_dropped_and_cut(tmp_path):
    with ResultStore(tmp_path) as store:
        store.open(IDENTITY)
        store.append(RUNS, [run_line(seed=0)])
    with open(tmp_path / RUNS, "a") as f:
        f.write(dumps(run_line(seed=1))[:50])
    with ResultStore(tmp_path) as store:
        store.open(IDENTITY)
        assert list(store.runs()) == [("random", "a", 0)]
    assert (tmp_path / RUNS).read_text().endswith("\n")


@pytest.mark.parametrize("bad", [
    b'{"strategy": "random"}\n',
    b"\xff\xfe\n",
    b"[1, 2]\n",
    dumps(run_line(finals="abc")).encode() + b"\n",
    dumps(run_line(hypervolume="x")).encode() + b"\n",
    dumps(run_line(seed="0")).encode() + b"\n",
    dumps(run_line(finals=[{"arch": "toy:1", "metric": 0.5, "macs": 1, "on_front": True, "selected": True}])).encode() + b"\n",
    b'{"a": NaN}\n',
])
def test_malformed_records_name_file_and_line_and_nothing_is_rewritten(tmp_path, bad):
    (tmp_path / CONFIG).write_text(json.dumps(IDENTITY))
    (tmp_path / RUNS).write_bytes(dumps(run_line()).encode() + b"\n" + bad)
    with pytest.raises(CorruptResults, match="runs.jsonl line 2 is not a valid record"):
        ResultStore(tmp_path).open(IDENTITY)
    assert (tmp_path / RUNS).read_bytes().endswith(bad)


def test_results_file_that_is_a_folder_is_refused(tmp_path):
    (tmp_path / RUNS).mkdir()
    with pytest.raises(CorruptResults, match="not a regular file"):
        ResultStore(tmp_path).open(IDENTITY)


def test_symlinks_inside_the_folder_are_never_followed(tmp_path):
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("precious")
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "summary.csv").symlink_to(outside)
    with pytest.raises(ConfigError, match="symlink"):
        atomic_write(folder, "summary.csv", "overwritten")
    assert outside.read_text() == "precious"
    (folder / RUNS).symlink_to(outside)
    with pytest.raises(CorruptResults, match="symlink"):
        read_jsonl(folder / RUNS, SCHEMAS[RUNS])


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write(tmp_path, "plots/a.txt", "x")
    atomic_write(tmp_path, "plots/a.txt", "y")
    assert [p.name for p in (tmp_path / "plots").iterdir()] == ["a.txt"]
    assert (tmp_path / "plots" / "a.txt").read_text() == "y"


def test_read_folder_keeps_last_run_per_key_and_ignores_orphan_archive_rows(tmp_path):
    with ResultStore(tmp_path) as store:
        store.open(IDENTITY)
        store.append(RUNS, [run_line(status="failed: x", attempt="a1"), run_line(attempt="a2")])
        row = {"fingerprint": "f", "strategy": "random", "task": "a", "seed": 0, "arch": "toy:1", "metric": 0.5,
               "macs": 1, "budget_used": 1.0}
        store.append(ARCHIVE, [{**row, "attempt": "a1"}, {**row, "attempt": "a2"}, {**row, "attempt": "orphan"}])
    identity, runs, archive = read_folder(tmp_path)
    assert identity == IDENTITY
    assert [r["attempt"] for r in runs] == ["a2"]
    assert [r["attempt"] for r in archive] == ["a2"]


def test_first_difference_names_the_nested_setting():
    assert first_difference({"p": {"population": 10}}, {"p": {"population": 50}}) == "p.population: 10 stored vs 50 now"
    assert first_difference({"a": 1}, {"a": 1}) == ""


def test_empty_out_is_refused():
    with pytest.raises(ConfigError, match="--out is empty"):
        ResultStore("")
