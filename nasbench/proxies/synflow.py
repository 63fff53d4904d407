"""SynFlow (Tanaka et al., 2020) as a data-free proxy, as in Abdelfattah et al.'s zero-cost proxies."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from nasbench.proxies.base import Proxy, Subject, register_proxy, safe_log
from nasbench.proxies.network import replace_layers


def _outputs(out: "Tensor | dict[str, Tensor]") -> list[Tensor]:
    return list(out.values()) if isinstance(out, dict) else [out]


@register_proxy
class Synflow(Proxy):
    """log of sum |theta * dR/dtheta| over conv and linear weights, R the summed output of the network
    (task head included) built without BN, with every parameter replaced by its absolute value,
    on an all-ones input at batch 1. Runs in float64 so deep products neither overflow nor vanish.
    """

    name = "synflow"
    description = "SynFlow: synaptic saliency of the BN-free network with |weights|, all-ones input (3 passes)"
    passes = 3.0

    def _score(self, subject: Subject, seed: int) -> float:
        net = replace_layers(subject.space.build(subject.arch, subject.task), (nn.BatchNorm2d,)).double()
        for p in net.parameters():
            p.abs_()
        with torch.enable_grad():
            out = net(torch.ones(1, *subject.input_shape, dtype=torch.float64))
            sum(o.sum() for o in _outputs(out)).backward()
        weighted = (
            (m.weight * m.weight.grad).abs().sum()
            for m in net.modules()
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.grad is not None
        )
        return safe_log(sum(weighted, torch.zeros((), dtype=torch.float64)))

