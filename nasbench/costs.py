"""Architecture costs: MACs from torch's FLOP counter (MACs = FLOPs / 2), parameters, CPU latency."""
from __future__ import annotations

import statistics
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nasbench.records import Cost


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass at batch 1, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
    return int(counter.get_total_flops() // 2)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def measure_latency_ms(
    model: nn.Module, input_shape: tuple[int, ...], warmup: int = 3, repeats: int = 15
) -> float:
    """Median wall time of a batch-1 forward pass on this CPU, after warm-up."""
    was_training = model.training
    model.eval()
    x = torch.zeros(1, *input_shape)
    times = []
    try:
        with torch.no_grad():
            for i in range(warmup + repeats):
                start = time.perf_counter()
                model(x)
                if i >= warmup:
                    times.append(time.perf_counter() - start)
    finally:
        model.train(was_training)
    return 1000.0 * statistics.median(times)


def measure_cost(model: nn.Module, input_shape: tuple[int, ...], latency: bool = True) -> Cost:
    """The full ``Cost`` record of a built model."""
    return Cost(
        macs=count_macs(model, input_shape),
        params=count_params(model),
        latency_ms=measure_latency_ms(model, input_shape) if latency else float("nan"),
    )
