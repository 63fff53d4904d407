"""Network surgery the proxies share: Gaussian re-initialisation and layer removal."""
from __future__ import annotations

from torch import nn

#: Momentum of BatchNorm running statistics in the Zen-score (PyTorch's default, the authors' value).
BN_MOMENTUM = 0.1


def gaussian_init(net: nn.Module) -> nn.Module:
    """Zen-NAS initialisation: conv/linear weights N(0, 1), biases 0, BN gamma 1, beta 0 and fresh running stats."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
            m.momentum = BN_MOMENTUM
            m.reset_running_stats()
    return net


def replace_layers(net: nn.Module, kinds: tuple[type[nn.Module], ...]) -> nn.Module:
    """Replace every submodule of the given types by an identity, in place (BN-free / ReLU-free variants)."""
    for name, child in net.named_children():
        if isinstance(child, kinds):
            setattr(net, name, nn.Identity())
        else:
            replace_layers(child, kinds)
    return net
