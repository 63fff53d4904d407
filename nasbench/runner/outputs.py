"""The output contract written from stored runs: summary.csv, finals.csv, stats.csv, plots/, report.md.

Every file is written atomically (temporary file, then rename), so a kill leaves the previous
version or the new one, never half of either. Nothing here runs a search: ``run_compare.py
report`` regenerates the same files from the folders' records alone.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from nasbench.errors import ConfigError
from nasbench.runner.store import atomic_write, csv_text, first_difference, read_folder

SUMMARY_FIELDS = [
    "strategy", "task", "seed", "status", "hypervolume", "selected_metric", "best_metric", "n_proposals",
    "n_evaluations", "compute_used", "budget", "budget_unit", "compute_used_macs", "wall_seconds", "cpu_seconds",
    "audit_flagged", "audit_ratio", "stop_reason",
]
FINALS_FIELDS = ["strategy", "task", "seed", "arch", "metric", "val_metric", "macs", "params", "latency_ms", "status",
                 "on_front", "selected"]


def summary_rows(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (strategy, task, seed), benchmark indicators appended; sorted by task, strategy, seed."""
    rows = []
    for r in sorted(runs, key=lambda r: (r["task"], r["strategy"], r["seed"])):
        audit = r.get("audit") or {}
        rows.append({
            "strategy": r["strategy"], "task": r["task"], "seed": r["seed"], "status": r["status"],
            "hypervolume": r["hypervolume"], "selected_metric": r["selected_metric"], "best_metric": r["best_metric"],
            "n_proposals": len(r["finals"]), "n_evaluations": r["n_evaluations"], "compute_used": r["compute_used"],
            "budget": r["budget"], "budget_unit": r["budget_unit"], "compute_used_macs": r.get("compute_used_macs"),
            "wall_seconds": r.get("wall_seconds"), "cpu_seconds": r.get("cpu_seconds"),
            "audit_flagged": bool(audit.get("flagged")), "audit_ratio": audit.get("ratio"),
            "stop_reason": r.get("stop_reason", ""), **r["indicators"],
        })
    return rows


def finals_rows(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"strategy": r["strategy"], "task": r["task"], "seed": r["seed"], **f}
            for r in sorted(runs, key=lambda r: (r["task"], r["strategy"], r["seed"])) for f in r["finals"]]


def write_all(folder: Path, identity: Mapping[str, Any], runs: Sequence[Mapping[str, Any]],
              archive: Sequence[Mapping[str, Any]] | None = None) -> str:
    """Write every output of ``runs`` into ``folder``; return the headline table for the terminal."""
    from nasbench.runner import report

    if archive is None:
        _, _, archive = read_folder(folder)
    atomic_write(folder, "summary.csv", csv_text(summary_rows(runs), SUMMARY_FIELDS))
    atomic_write(folder, "finals.csv", csv_text(finals_rows(runs), FINALS_FIELDS))
    return report.write(folder, dict(identity), list(runs), list(archive))


def merge_and_write(folders: Sequence[Path], out: Path) -> str:
    """Outputs of several folders of the same settings (seed shards) merged into ``out``; refused when settings differ."""
    identity, runs, archive = read_folder(folders[0])
    for folder in folders[1:]:
        other, more_runs, more_archive = read_folder(folder)
        difference = first_difference(identity, other)
        if difference:
            raise ConfigError(f"{folder} was run with other settings than {folders[0]} ({difference}); only shards of one comparison merge")
        keys = {(r["strategy"], r["task"], r["seed"]) for r in runs}
        clash = [k for k in ((r["strategy"], r["task"], r["seed"]) for r in more_runs) if k in keys]
        if clash:
            raise ConfigError(f"{folder} repeats run {'/'.join(map(str, clash[0]))} of another folder; shards must hold disjoint seeds")
        runs, archive = runs + more_runs, archive + more_archive
    if len(folders) > 1:
        from nasbench.runner.store import ResultStore

        with ResultStore(out) as store:
            store.open(identity)
    return write_all(out, identity, runs, archive)
