"""The compute audit: a run's measured CPU time against the time its charged work should take here.

Python cannot sandbox a plug-in, so instead of trusting good manners the runner compares what a
search cost this machine with what it paid: the charged MACs (plus any declared "given" work)
times a seconds-per-MAC figure calibrated on this process for the space and task (a few training
steps of the space's reference network). A run whose CPU time exceeds ``TOLERANCE`` times that
plus ``SLACK_SECONDS`` did work it did not pay for, and is flagged in the summary and the report.
"""
from __future__ import annotations

import functools
import time
from typing import Any

#: Honest strategies also spend uncharged time building networks, counting MACs and sorting
#: populations; the tolerance and slack absorb that (measured ratios: docs/audit.md).
TOLERANCE = 3.0
SLACK_SECONDS = 20.0
CALIBRATION_BATCH, CALIBRATION_STEPS = 32, 4


@functools.cache
def seconds_per_mac(space_name: str, task_name: str) -> float:
    """CPU seconds per charged MAC of training the space's reference network on the task's input, here."""
    import torch

    from nasbench.costs import count_macs
    from nasbench.registry import SPACES
    from nasbench.tasks import get_task

    space = SPACES.get(space_name)()
    task = get_task(task_name, splits=("train", "val"))
    network = task.network_task() if hasattr(task, "network_task") else task
    model = space.build(space.reference(), network)
    shape = tuple(network.input_shape)
    macs = count_macs(model, shape)
    x = torch.randn(CALIBRATION_BATCH, *shape, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    model.train()
    start = time.process_time()
    for _ in range(CALIBRATION_STEPS):
        out = model(x)
        tensors = out.values() if isinstance(out, dict) else (out if isinstance(out, (list, tuple)) else [out])
        loss = sum(t.float().mean() for t in tensors)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.process_time() - start
    return seconds / (3.0 * macs * CALIBRATION_BATCH * CALIBRATION_STEPS)


def expected_seconds(space_name: str, task_name: str, macs: float) -> float | None:
    """CPU seconds ``macs`` of charged work should take here (None when calibration is impossible)."""
    try:
        return float(macs) * seconds_per_mac(space_name, task_name)
    except Exception:  # noqa: BLE001 - a space that builds no network cannot be calibrated; the audit says so
        return None


def verdict(cpu_seconds: float, expected: float | None) -> dict[str, Any]:
    """The audit record of one run: expected and unaccounted seconds, and whether it is flagged."""
    if expected is None:
        return {"expected_seconds": None, "unaccounted_seconds": None, "flagged": False, "ratio": None}
    unaccounted = max(0.0, cpu_seconds - expected)
    return {
        "expected_seconds": expected,
        "unaccounted_seconds": unaccounted,
        "ratio": cpu_seconds / expected if expected > 0 else None,
        "flagged": cpu_seconds > TOLERANCE * expected + SLACK_SECONDS,
    }
