"""The compute audit: a run's measured CPU time against the time its charged work should take here.

Python cannot sandbox a plug-in, so instead of trusting good manners the runner compares what a
search cost this machine with what it paid: the charged MACs (plus any declared "given" work)
times a seconds-per-MAC figure calibrated in this process for the space and task (an epoch of the
shared trainer on the space's reference network). A run whose CPU time exceeds ``TOLERANCE`` times that
plus ``SLACK_SECONDS`` did work it did not pay for, and is flagged in the summary and the report.
"""
from __future__ import annotations

import functools
import math
import time
from typing import Any

#: Honest strategies also spend uncharged time building networks, counting MACs and sorting
#: populations; the tolerance and slack absorb that (measured ratios: docs/audit.md).
TOLERANCE = 3.0
SLACK_SECONDS = 20.0
#: Training samples of the calibration epoch.
CALIBRATION_SAMPLES = 256


@functools.cache
def seconds_per_mac(space_name: str, task_name: str) -> float:
    """CPU seconds per charged MAC of an honest search step here: one epoch of the shared trainer on a
    slice of the task's training split (random inputs for a tabular task), after one warm-up epoch."""
    import torch

    from nasbench.costs import count_macs
    from nasbench.registry import SPACES
    from nasbench.tasks import get_task
    from nasbench.tasks.base import Split
    from nasbench.training import task_recipe, train

    space = SPACES.get(space_name)()
    task = get_task(task_name, splits=("train", "val"))
    model = space.build(space.reference(), task)
    macs = count_macs(model, tuple(task.input_shape))
    if getattr(task, "trainable", True):
        data = task.split("train").subset(range(min(CALIBRATION_SAMPLES, len(task.split("train")))))
        step = lambda: train(model, task, data, 1, 0, task_recipe(task))  # noqa: E731
    else:
        data = Split(torch.randn(CALIBRATION_SAMPLES, *task.input_shape, generator=torch.Generator().manual_seed(0)), {})
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

        def step() -> None:
            for inputs, _ in data.batches(64):
                out = model(inputs)
                loss = sum(t.float().mean() for t in (out.values() if isinstance(out, dict) else [out]))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    step()  # warm-up: first-call allocations are not what a search pays per step
    start = time.process_time()
    step()
    return (time.process_time() - start) / (3.0 * macs * len(data))


def expected_seconds(space_name: str, task_name: str, macs: float) -> float | None:
    """CPU seconds ``macs`` of charged work should take here (None when calibration is impossible)."""
    try:
        return float(macs) * seconds_per_mac(space_name, task_name)
    except Exception:  # noqa: BLE001 - a space that builds no network cannot be calibrated; the audit says so
        return None


def verdict(cpu_seconds: float, expected: float | None, ledger_check: dict[str, Any] | None = None) -> dict[str, Any]:
    """The audit record of one run: expected and unaccounted seconds, the ledger's consistency, and the flag.

    A ledger is consistent when the budget used never fell during the search and the evaluations in the
    archive cost no more than the ledger was charged (a strategy that rewinds the meter breaks both).
    """
    check = ledger_check or {}
    consistent = bool(check.get("monotonic", True)) and \
        check.get("archive_macs", 0.0) <= check.get("ledger_macs", math.inf) * (1 + 1e-9) + 1.0
    record: dict[str, Any] = {"expected_seconds": expected, "unaccounted_seconds": None, "ratio": None,
                              "ledger_consistent": consistent}
    if expected is not None:
        record["unaccounted_seconds"] = max(0.0, cpu_seconds - expected)
        record["ratio"] = cpu_seconds / expected if expected > 0 else None
    over_time = expected is not None and cpu_seconds > TOLERANCE * expected + SLACK_SECONDS
    record["flagged"] = over_time or not consistent
    record["reason"] = "; ".join(r for r, bad in (("CPU time beyond the charged work", over_time),
                                                   ("ledger rewound or under-charged", not consistent)) if bad)
    return record
