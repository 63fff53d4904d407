"""One run's record from its search and its final evaluations: fronts, hypervolume, indicators, audit."""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from nasbench import indicators
from nasbench.runner.audit import verdict


def normalized_hypervolume(metrics: np.ndarray, macs: np.ndarray, reference_macs: float) -> float:
    """HV of (1 - metric, MACs / reference MACs) with the fixed reference point (1, 1): in [0, 1]."""
    if len(metrics) == 0:
        return 0.0
    F = np.column_stack([1.0 - metrics, macs / reference_macs])
    return indicators.hypervolume(F, np.array([1.0, 1.0]))


def true_front_indicators(F: np.ndarray, selected: float, front: np.ndarray) -> dict[str, float]:
    """Against a known true front (NAS-Bench-201): test accuracy (%) of the selected cell, HV ratio, IGD, IGD+."""
    return {
        "best_test_acc": 100.0 * selected,
        "hv_ratio": indicators.hv_ratio(F, front) if len(F) else 0.0,
        "igd": indicators.igd_to_front(F, front),
        "igd_plus": indicators.igd_plus_to_front(F, front),
    }


def run_record(search: Mapping[str, Any], task: str, finals: Sequence[Mapping[str, Any]], budget: float,
               reference_macs: float, true_front: np.ndarray | None, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The runs.jsonl record of ``task`` in ``search``; a multitask search's compute is split by task budget."""
    share = budget / search["budget"] if search.get("budget") else 1.0
    rows = [r for r in search.get("archive", []) if r["task"] == task]
    val = {r["arch"]: r["metric"] for r in rows if r.get("status") == "ok" and _finite(r.get("metric"))}
    ok = [f for f in finals if f["status"] == "ok" and _finite(f["metric"])]
    selected = max(ok, key=lambda f: (val.get(f["arch"], -math.inf)), default=None)
    metrics = np.array([f["metric"] for f in ok], dtype=float)
    macs = np.array([float(f["macs"]) for f in ok], dtype=float)
    on_front = indicators.non_dominated(np.column_stack([1.0 - metrics, macs])) if ok else np.array([], bool)
    front_of = {f["arch"]: bool(m) for f, m in zip(ok, on_front)}
    status = search["status"]
    selected_metric = selected["metric"] if selected is not None else math.nan
    extra = true_front_indicators(np.column_stack([1.0 - metrics, macs]), selected_metric, true_front) \
        if true_front is not None and status == "ok" else {}
    spent = {"macs": search.get("macs", 0.0), "queries": search.get("queries", 0), "seconds": search.get("used", 0.0)}
    used = spent.get(search.get("unit", "macs"), search.get("used", 0.0))
    return {
        "fingerprint": search["fingerprints"][task], "attempt": search["attempt"], "strategy": search["strategy"],
        "task": task, "seed": search["seed"], "status": status, "stop_reason": search.get("stop_reason", ""),
        "budget": budget, "budget_unit": search.get("unit", "macs"), "compute_used": float(used) * share,
        "compute_used_macs": float(search.get("macs", 0.0)) * share, "n_evaluations": len(rows),
        "wall_seconds": search.get("wall_seconds", 0.0) * share, "cpu_seconds": search.get("cpu_seconds", 0.0) * share,
        "audit": verdict(search.get("cpu_seconds", 0.0), search.get("expected_seconds"), search.get("ledger_check")),
        "given": search.get("given", []), "searched_with": search.get("tasks", [task]), "machine": search.get("machine"),
        "hypervolume": normalized_hypervolume(metrics, macs, reference_macs) if status == "ok" else None,
        "best_metric": float(metrics.max()) if len(metrics) and status == "ok" else None,
        "selected_metric": selected_metric if status == "ok" else None,
        "indicators": extra, "reference_macs": reference_macs, "settings": dict(settings),
        "finals": [
            {"arch": f["arch"], "metric": f["metric"], "val_metric": val.get(f["arch"]), "macs": f["macs"],
             "params": f.get("params"), "latency_ms": f.get("latency_ms"), "status": f["status"],
             "on_front": front_of.get(f["arch"], False), "selected": f is selected,
             **({"own_recipe_metric": f["own_recipe_metric"]} if "own_recipe_metric" in f else {})}
            for f in finals
        ],
    }


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
