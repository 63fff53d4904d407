"""Cost proxies: the network's size read from its known cost (free: nothing runs)."""
from __future__ import annotations

from nasbench.proxies.base import Proxy, Subject, register_proxy, safe_log


@register_proxy
class Macs(Proxy):
    """log MACs of a batch-1 forward pass: bigger networks tend to train to better accuracy."""

    name = "macs"
    description = "log MACs (free)"
    passes = 0.0

    def _score(self, subject: Subject, seed: int) -> float:
        return safe_log(subject.cost.macs)


@register_proxy
class Params(Proxy):
    """log parameter count."""

    name = "params"
    description = "log parameters (free)"
    passes = 0.0

    def _score(self, subject: Subject, seed: int) -> float:
        return safe_log(subject.cost.params)
