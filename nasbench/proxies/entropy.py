"""Entropy proxies: Zen-score (Lin et al., 2021) and ZenDet's multi-scale entropy (Sun et al., 2022).

Both score the backbone the space builds for the task's input, re-initialised with Gaussian
weights and built without residual links, on Gaussian inputs: no data, no labels.
"""
from __future__ import annotations

import statistics
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from nasbench.proxies.base import Proxy, Subject, register_proxy, safe_log
from nasbench.proxies.network import gaussian_init, replace_layers

#: MAE-DET's stage weights, from the stride-2 stage to the stride-32 one (``score_multi_ratio``).
ZENDET_WEIGHTS = (0.0, 0.0, 1.0, 1.0, 6.0)


@register_proxy
class Zen(Proxy):
    """Zen-score: log E|f(x) - f(x + 0.01 eps)| + sum over BN layers of log sqrt(mean running_var).

    As in the authors' ``compute_zen_score.py``: conv/linear weights N(0, 1), BN in train mode
    (gamma 1, beta 0), ``f`` the last feature map before global pooling, the BN variances read
    from the running statistics after the two forward passes (PyTorch's momentum 0.1 from fresh
    statistics). One draw at batch 64 is the authors' search setting; each repeat re-draws
    weights and inputs and the scores are averaged. ``residual=True`` keeps the residual links,
    as re-implementations on NAS-Bench-201 do (an ablation; the authors remove them).
    """

    name = "zen"
    description = "Zen-NAS expressivity of the residual-free backbone at Gaussian init (2 passes x batch x repeats)"
    requires = frozenset({"backbone"})

    def __init__(self, batch: int = 64, repeats: int = 1, mixup: float = 0.01, residual: bool = False) -> None:
        self.batch = batch
        self.repeats = repeats
        self.mixup = mixup
        self.residual = residual

    @property
    def passes(self) -> float:
        return 2.0 * self.batch * self.repeats

    def _score(self, subject: Subject, seed: int) -> float:
        net = subject.space.backbone(subject.arch, subject.task, residual=self.residual).train()
        shape = (self.batch, *subject.input_shape)
        scores = []
        for _ in range(self.repeats):
            gaussian_init(net)
            x, eps = torch.randn(shape), torch.randn(shape)
            delta = (net(x)[-1] - net(x + self.mixup * eps)[-1]).abs().sum(dim=(1, 2, 3)).mean()
            bn_scale = sum(
                0.5 * safe_log(m.running_var.mean()) for m in net.modules() if isinstance(m, nn.BatchNorm2d)
            )
            scores.append(safe_log(delta) + bn_scale)
        return statistics.fmean(scores)


@register_proxy
class ZenDet(Proxy):
    """ZenDet / MAE-DET multi-scale entropy: sum over stages of w_s (sum of block log-stds up to s + log C_s).

    As in the authors' ``compute_entropy.py`` (TinyNAS): no BN, no ReLU, no residual links,
    weights N(0, 1), a Gaussian input; every block's output is renormalised to unit std and
    its std's log accumulated (the network is linear, so this equals renormalising after each
    convolution as the authors do). MAE-DET weights its five stages (strides 2..32) by
    [0, 0, 1, 1, 6]; a backbone with fewer stages takes the weights of the deepest ones, so the
    stage feeding the detector's coarsest level always weighs 6. Authors' defaults: batch 32,
    4 repeats.
    """

    name = "zendet"
    description = "ZenDet/MAE-DET multi-scale entropy of the plain backbone, deep stages weighted (batch x repeats)"
    requires = frozenset({"backbone"})

    def __init__(self, batch: int = 32, repeats: int = 4, weights: Sequence[float] = ZENDET_WEIGHTS) -> None:
        self.batch = batch
        self.repeats = repeats
        self.weights = tuple(float(w) for w in weights)

    @property
    def passes(self) -> float:
        return float(self.batch * self.repeats)

    def stage_weights(self, n_stages: int) -> tuple[float, ...]:
        """The weights of a backbone's ``n_stages`` stages: aligned on the deepest stage."""
        padded = (0.0,) * max(0, n_stages - len(self.weights)) + self.weights
        return padded[len(padded) - n_stages :]

    def _score(self, subject: Subject, seed: int) -> float:
        net = subject.space.backbone(subject.arch, subject.task, residual=False)
        replace_layers(net, (nn.BatchNorm2d, nn.ReLU))
        stages = net.stage_blocks
        last_block = np.cumsum([len(blocks) for blocks in stages]) - 1
        log_c = np.log(np.asarray(net.channels, dtype=float))
        weights = np.asarray(self.stage_weights(len(stages)))
        log_stds: list[float] = []

        def renormalise(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
            std = float(output.std())
            log_stds.append(safe_log(std))
            return output / max(std, torch.finfo(output.dtype).tiny)

        for block in (b for blocks in stages for b in blocks):
            block.register_forward_hook(renormalise)
        scores = []
        for _ in range(self.repeats):
            gaussian_init(net)
            log_stds.clear()
            net(torch.randn(self.batch, *subject.input_shape))
            entropy = np.cumsum(log_stds)[last_block] + log_c
            scores.append(float(weights @ entropy))
        return statistics.fmean(scores)

