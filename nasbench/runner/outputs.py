"""The output contract written from stored runs: summary.csv, finals.csv, stats.csv, plots/, report.md.

Every file is written atomically (temporary file, then rename), so a kill leaves the previous
version or the new one, never half of either. Nothing here runs a search: ``run_compare.py
report`` regenerates the same files from the folders' records alone.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from nasbench.errors import ConfigError
from nasbench.results import FINALS_COLUMNS, SUMMARY_COLUMNS, Results, finals_records, summary_records
from nasbench.files import atomic_write
from nasbench.runner.store import ResultStore, csv_text, first_difference, read_folder


def write_all(folder: Path, results: Results, true_fronts: Mapping[str, Any] | None = None) -> str:
    """Write every output of ``results`` into ``folder``; return the headline table for the terminal."""
    from nasbench.runner import report

    runs = results.run_records
    atomic_write(folder, "summary.csv", csv_text(summary_records(runs), list(SUMMARY_COLUMNS)))
    atomic_write(folder, "finals.csv", csv_text(finals_records(runs), list(FINALS_COLUMNS)))
    report.write_report(folder, results, true_fronts=true_fronts)
    return report.terminal_table(results.runs)


def results_of(folder: Path, runs: Sequence[Mapping[str, Any]]) -> Results:
    """The stored ``runs`` of ``folder`` with their archive rows, for the outputs."""
    identity, _, archive = read_folder(folder)
    attempts = {(r["fingerprint"], r["attempt"]) for r in runs}
    rows = [a for a in archive if (a["fingerprint"], a["attempt"]) in attempts]
    return Results(report_settings(identity, runs), [dict(r) for r in runs], rows, folder)


def report_settings(identity: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What report.md states to make the comparison reproducible: the folder identity (budget in its unit,
    e.g. reference evaluations), and from the runs the strategies' hyper-parameters, tasks, seeds, each
    task's ledger budget (MACs for ``evals``), the machines and the dates they ran."""
    settings: dict[str, Any] = dict(identity)
    settings["strategies"] = {r["strategy"]: r["settings"].get("params", {}) for r in sorted(runs, key=lambda r: r["strategy"])}
    settings["tasks"] = sorted({r["task"] for r in runs})
    settings["seeds"] = sorted({r["seed"] for r in runs})
    settings["budget_per_task"] = {r["task"]: f"{r['budget']:.4g} {r['budget_unit']}" for r in runs}
    machines = [r["machine"] for r in runs if isinstance(r.get("machine"), dict)]
    settings["machines"] = sorted({f"{m.get('cpu')} ({m.get('threads')} torch thread(s) per job)" for m in machines})
    settings["dates"] = sorted({str(m.get("date")) for m in machines})
    return settings


def true_fronts(tasks: Sequence[str]) -> dict[str, Any]:
    """Known true fronts of ``tasks`` (tabular benchmarks), for the indicators and plots."""
    from nasbench.tasks import get_task

    fronts = {t: get_task(t, splits=("train", "val", "test")).true_front() for t in tasks}
    return {t: f for t, f in fronts.items() if f is not None}


def merge_and_write(folders: Sequence[Path], out: Path) -> str:
    """Outputs of folders of one comparison (seed shards) merged into ``out``; refused when settings differ."""
    identity, runs, archive = read_folder(folders[0])
    for folder in folders[1:]:
        other, more_runs, more_archive = read_folder(folder)
        difference = first_difference(identity, other)
        if difference:
            raise ConfigError(f"{folder} was run with other settings than {folders[0]} ({difference}); only shards of one comparison merge")
        keys = {(r["strategy"], r["task"], r["seed"]) for r in runs}
        clash = next((k for k in ((r["strategy"], r["task"], r["seed"]) for r in more_runs) if k in keys), None)
        if clash:
            raise ConfigError(f"{folder} repeats run {'/'.join(map(str, clash))} of {folders[0]}; shards must hold disjoint seeds")
        runs, archive = runs + more_runs, archive + more_archive
    if len(folders) > 1:
        with ResultStore(out) as store:
            store.open(identity)
    tasks = sorted({r["task"] for r in runs})
    return write_all(out, Results(report_settings(identity, runs), runs, archive, out), true_fronts(tasks))
