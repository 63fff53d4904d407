"""Read a comparison's results folder back: runs, final candidates, archive and settings as
tables, pairwise statistics, and summary.csv's exact rows.

    from nasbench.results import load
    res = load("results/full")
    res.runs            # DataFrame, one flat row per (strategy, task, seed) run
    res.compare()       # pairwise tests of the headline metrics (the stats.csv table)
    res.records("finals")  # plain list of dicts, no pandas needed

pandas is imported lazily: :meth:`Results.records` and :func:`summary_records` work without it.
The folder is read through ``nasbench.runner.store.read_folder`` (last run line per key, archive
rows of those runs' attempts only).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: summary.csv columns, in order; the runs' indicator columns (sorted) follow them.
SUMMARY_COLUMNS: list[str] = [
    "strategy", "task", "seed", "status", "hypervolume", "selected_metric", "best_metric", "n_proposals",
    "n_evaluations", "compute_used", "budget", "budget_unit", "compute_used_macs", "wall_seconds", "cpu_seconds",
    "audit_flagged", "audit_ratio", "stop_reason",
]
#: finals.csv columns: the run key, then the final candidate's fields (any extra fields follow, sorted).
FINALS_COLUMNS: list[str] = [
    "strategy", "task", "seed", "arch", "metric", "val_metric", "macs", "params", "latency_ms", "status",
    "on_front", "selected",
]
TABLES = ("runs", "summary", "finals", "archive")


def _number(value: Any) -> Any:
    """None for missing or non-finite numbers (strict JSON writes NaN as null)."""
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _sort_key(record: Mapping[str, Any]) -> tuple:
    return (str(record.get("strategy")), str(record.get("task")), int(record.get("seed", 0)))


def indicator_names(runs: Iterable[Mapping[str, Any]]) -> list[str]:
    """Sorted union of the runs' indicator names (NAS-Bench-201: best_test_acc, hv_ratio, igd, igd_plus)."""
    return sorted({k for r in runs for k in (r.get("indicators") or {})})


def summary_records(runs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """summary.csv's rows as plain dicts (no pandas), sorted by (strategy, task, seed): the
    :data:`SUMMARY_COLUMNS` then one column per indicator (missing values None)."""
    runs = sorted(runs, key=_sort_key)
    extra = indicator_names(runs)
    rows = []
    for r in runs:
        audit = r.get("audit") or {}
        row = {
            "strategy": r.get("strategy"), "task": r.get("task"), "seed": r.get("seed"), "status": r.get("status"),
            "hypervolume": _number(r.get("hypervolume")), "selected_metric": _number(r.get("selected_metric")),
            "best_metric": _number(r.get("best_metric")), "n_proposals": len(r.get("finals") or []),
            "n_evaluations": r.get("n_evaluations"), "compute_used": _number(r.get("compute_used")),
            "budget": _number(r.get("budget")), "budget_unit": r.get("budget_unit"),
            "compute_used_macs": _number(r.get("compute_used_macs")), "wall_seconds": _number(r.get("wall_seconds")),
            "cpu_seconds": _number(r.get("cpu_seconds")), "audit_flagged": bool(audit.get("flagged", False)),
            "audit_ratio": _number(audit.get("ratio")), "stop_reason": r.get("stop_reason", ""),
        }
        indicators = r.get("indicators") or {}
        row.update({k: _number(indicators.get(k)) for k in extra})
        rows.append(row)
    return rows


def summary_frame(runs: Iterable[Mapping[str, Any]]) -> "pd.DataFrame":
    """summary.csv exactly: ``summary_frame(runs).to_csv(path, index=False)`` writes it, and
    ``pd.read_csv`` of that file equals this frame (same rows, columns and order)."""
    import pandas as pd

    runs = list(runs)
    columns = SUMMARY_COLUMNS + indicator_names(runs)
    frame = pd.DataFrame(summary_records(runs), columns=columns)
    for col in columns:
        if col not in ("strategy", "task", "status", "budget_unit", "seed", "n_proposals", "n_evaluations",
                       "audit_flagged", "stop_reason"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


def finals_records(runs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One plain dict per final candidate, with its run's strategy, task and seed first."""
    rows = []
    for r in sorted(runs, key=_sort_key):
        for f in r.get("finals") or []:
            rows.append({"strategy": r.get("strategy"), "task": r.get("task"), "seed": r.get("seed"),
                         **{k: _number(v) for k, v in f.items()}})
    return rows


@dataclass
class Results:
    """A results folder in memory: ``settings`` (config.json as read), raw run records and archive rows."""

    settings: dict[str, Any]
    run_records: list[dict[str, Any]]
    archive_records: list[dict[str, Any]] = field(default_factory=list)
    folder: Path | None = None
    _frames: dict[str, Any] = field(default_factory=dict, repr=False)

    def records(self, table: str = "runs") -> list[dict[str, Any]]:
        """Plain lists of dicts (copies; no pandas): ``"runs"`` (raw records), ``"summary"``
        (summary.csv rows), ``"finals"`` (one per final candidate) or ``"archive"``."""
        if table == "runs":
            return copy.deepcopy(self.run_records)
        if table == "summary":
            return summary_records(self.run_records)
        if table == "finals":
            return finals_records(self.run_records)
        if table == "archive":
            return copy.deepcopy(self.archive_records)
        raise ValueError(f"unknown table {table!r}; choose from {', '.join(TABLES)}")

    def _frame(self, name: str) -> "pd.DataFrame":
        if name not in self._frames:
            import pandas as pd

            from nasbench.runner import stats

            if name == "runs":
                frame = stats.flatten_runs(self.run_records) if self.run_records else pd.DataFrame(
                    columns=["strategy", "task", "seed", "status"])
            elif name == "finals":
                rows = finals_records(self.run_records)
                extra = sorted({k for row in rows for k in row} - set(FINALS_COLUMNS))
                frame = pd.DataFrame(rows, columns=FINALS_COLUMNS + extra)
            else:
                frame = pd.DataFrame(self.archive_records)
            self._frames[name] = frame
        return self._frames[name].copy()

    @property
    def runs(self) -> "pd.DataFrame":
        """One flat row per run (indicators as columns, ``audit_flagged``, ``n_proposals``)."""
        return self._frame("runs")

    @property
    def finals(self) -> "pd.DataFrame":
        """One row per final candidate with strategy, task, seed."""
        return self._frame("finals")

    @property
    def archive(self) -> "pd.DataFrame":
        """One row per evaluation made during the searches (anytime curves)."""
        return self._frame("archive")

    def summary(self) -> "pd.DataFrame":
        """summary.csv's rows (see :func:`summary_frame`)."""
        return summary_frame(self.run_records)

    def describe(self, metric: str | None = None, **kwargs: Any) -> "pd.DataFrame":
        """Median, IQR, mean and bootstrap CI per (task, metric, strategy) (nasbench.runner.stats.describe)."""
        from nasbench.runner import stats

        return stats.describe(self.runs, [metric] if metric else None, **kwargs)

    def compare(self, metric: str | None = None, **kwargs: Any) -> "pd.DataFrame":
        """The pairwise statistics table (stats.csv) of ``metric``, or of every task's headline metrics."""
        from nasbench.runner import stats

        return stats.pairwise(self.runs, [metric] if metric else None, **kwargs)


def load(folder: Path | str) -> Results:
    """Read a results folder (through nasbench.runner.store.read_folder) into :class:`Results`."""
    from nasbench.runner.store import read_folder

    settings, runs, archive = read_folder(folder)
    return Results(dict(settings), [dict(r) for r in runs], [dict(a) for a in archive], Path(folder))
