"""The mixed-op supernet of the mobile space (FBNet's DNAS, FBNetV5's multitask supernet).

Searchable decisions, per stage ``s`` (the genotype's genes regrouped)::

    depth (len(depths) options), width (len(widths[s])), block_0 .. block_{D-1} (kernel x expansion)

A stage's depth decision is FBNet's "skip" candidate: slot ``j`` runs only when the depth exceeds
``j``, so slot 0 always runs and the later slots may be skipped. Every block slot holds one
inverted residual per kernel x expansion candidate, each with its own weights at the largest
widths. Widths are FBNetV2-style channel choices over one shared weight tensor: a block of
``cin -> cout`` channels runs the first ``cin``/``cout`` channels of its candidate's weights
(slicing, so the MACs executed are exactly those of the chosen network); the task heads read the
stage features zero-padded to the largest width (FBNetV2's channel masking), so one head serves
every width.

Two forward passes:

- **soft mixture** (FBNet's): every decision carries Gumbel-softmax weights m; every candidate of
  every slot runs at the stage's largest width and the slot's output is their m-weighted sum; a
  stage's width is a channel mask, the m-weighted sum of the width options' masks (FBNetV2's
  channel masking); its depth is the m-weighted sum of the outputs after 1, 2, ... blocks (the
  skip candidate). Every candidate runs: ``CostModel.mixture_macs`` is what one sample costs.
- **hard sample** (straight-through, as GDAS): only the chosen candidates run; a chosen block's
  output is multiplied by its gate, 1 in the forward pass with the gradient of the soft
  Gumbel-softmax weight, so the logits learn from the task loss while one network runs.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasbench.records import Architecture
from spaces.mobile import STAGE_STRIDES, MobileSpace, conv_bn, feature_strides, init_conv_bn, stem_stride

if TYPE_CHECKING:  # pragma: no cover
    from spaces.latency_lut import CostTable

#: A choice: one option index per decision, in ``decisions(space)`` order.
Choice = tuple[int, ...]


@dataclass(frozen=True)
class Decision:
    """One searchable decision: a stage's ``depth`` or ``width``, or the candidate of block ``slot``."""

    stage: int
    kind: str
    slot: int
    options: int


def candidates(space: MobileSpace) -> list[tuple[int, int]]:
    """The (kernel, expansion) candidates of every block slot; index ``k * len(expansions) + e``."""
    return list(itertools.product(space.kernels, space.expansions))


def decisions(space: MobileSpace) -> tuple[Decision, ...]:
    """Every decision of the space, stage by stage: depth, width, then the block slots."""
    out = []
    for s, widths in enumerate(space.widths):
        out += [Decision(s, "depth", -1, len(space.depths)), Decision(s, "width", -1, len(widths))]
        out += [Decision(s, "block", j, len(candidates(space))) for j in range(space.max_depth)]
    return tuple(out)


def per_stage(space: MobileSpace) -> int:
    return 2 + space.max_depth


def to_arch(space: MobileSpace, choice: Sequence[int]) -> Architecture:
    """The genotype a choice stands for (inactive slots zeroed by ``make``)."""
    genes = []
    n_e = len(space.expansions)
    for s in range(len(space.widths)):
        depth, width, *blocks = choice[s * per_stage(space) : (s + 1) * per_stage(space)]
        genes += [depth, width, *itertools.chain.from_iterable(divmod(b, n_e) for b in blocks)]
    return space.make(genes)


def from_arch(space: MobileSpace, arch: Architecture) -> Choice:
    """Inverse of ``to_arch`` on canonical genotypes."""
    genes = space.make(arch.genes).genes
    n_e = len(space.expansions)
    choice = []
    for s in range(len(space.widths)):
        g = genes[s * space.stage_genes : (s + 1) * space.stage_genes]
        choice += [g[0], g[1], *(g[2 + 2 * j] * n_e + g[3 + 2 * j] for j in range(space.max_depth))]
    return tuple(choice)


def active(space: MobileSpace, choice: Sequence[int]) -> list[bool]:
    """Which decisions shape the network of ``choice`` (block slots beyond the depth do not)."""
    flags = []
    for s in range(len(space.widths)):
        depth = space.depths[choice[s * per_stage(space)]]
        flags += [True, True, *(j < depth for j in range(space.max_depth))]
    return flags


class ArchDistribution(nn.Module):
    """Independent categorical distributions, one logit vector per decision (theta in FBNet)."""

    def __init__(self, space: MobileSpace) -> None:
        super().__init__()
        self.space = space
        self.logits = nn.ParameterList(nn.Parameter(torch.zeros(d.options)) for d in decisions(space))

    def probs(self) -> list[Tensor]:
        return [F.softmax(theta, dim=0) for theta in self.logits]

    def argmax(self) -> Choice:
        """The most likely architecture (argmax per decision)."""
        return tuple(int(theta.argmax()) for theta in self.logits)

    def sample(self, rng: np.random.Generator) -> Choice:
        """A choice drawn from the distribution."""
        return tuple(int(rng.choice(len(p), p=_normalised(p))) for p in self.probs())

    def log_prob(self, choice: Sequence[int]) -> Tensor:
        """log P(choice) over the decisions that shape its network (differentiable)."""
        flags = active(self.space, choice)
        terms = [F.log_softmax(theta, dim=0)[c] for theta, c, a in zip(self.logits, choice, flags) if a]
        return torch.stack(terms).sum()

    def gumbel(self, tau: float, generator: torch.Generator) -> tuple[Choice, list[Tensor], list[Tensor]]:
        """A hard Gumbel-softmax sample: the choice, its straight-through gates and the soft weights m."""
        choice, gates, soft = [], [], []
        for theta in self.logits:
            noise = -torch.log(-torch.log(torch.rand(theta.shape, generator=generator).clamp_min(1e-20)))
            m = F.softmax((theta + noise) / tau, dim=0)
            c = int(m.argmax())
            choice.append(c)
            gates.append(1.0 - m[c].detach() + m[c])
            soft.append(m)
        return tuple(choice), gates, soft


def _normalised(p: Tensor) -> np.ndarray:
    q = p.detach().double().numpy()
    return q / q.sum()


class SlicedConvBN(nn.Module):
    """conv + BN (+ ReLU) at the largest channel counts, run on the first ``cin``/``cout`` channels."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, depthwise: bool = False, relu: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=cout if depthwise else 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.depthwise = depthwise
        self.relu = relu

    def forward(self, x: Tensor, cout: int) -> Tensor:
        cin = x.shape[1]
        weight = self.conv.weight[:cout] if self.depthwise else self.conv.weight[:cout, :cin]
        y = F.conv2d(x, weight, None, self.conv.stride, self.conv.padding, groups=cin if self.depthwise else 1)
        bn = self.bn
        momentum = bn.momentum
        if self.training and momentum is None:  # a cumulative average (BatchNorm recalibration), as nn.BatchNorm2d
            bn.num_batches_tracked += 1
            momentum = 1.0 / float(bn.num_batches_tracked)
        y = F.batch_norm(
            y, bn.running_mean[:cout], bn.running_var[:cout], bn.weight[:cout], bn.bias[:cout],
            self.training, momentum, bn.eps,
        )
        return F.relu(y) if self.relu else y


class SlicedInvertedResidual(nn.Module):
    """``InvertedResidual`` at the largest widths, running as ``InvertedResidual(cin, cout, k, e, stride)``."""

    def __init__(self, cin: int, cout: int, kernel: int, expansion: int, stride: int) -> None:
        super().__init__()
        hidden = cin * expansion
        self.expansion = expansion
        self.stride = stride
        self.expand = SlicedConvBN(cin, hidden, 1) if expansion != 1 else None
        self.depthwise = SlicedConvBN(hidden, hidden, kernel, stride, depthwise=True)
        self.project = SlicedConvBN(hidden, cout, 1, relu=False)

    def forward(self, x: Tensor, cout: int, gate: Tensor | None = None) -> Tensor:
        hidden = x.shape[1] * self.expansion
        y = x if self.expand is None else self.expand(x, hidden)
        y = self.project(self.depthwise(y, hidden), cout)
        if gate is not None:
            y = y * gate
        return x + y if self.stride == 1 and x.shape[1] == cout else y


class MixedBackbone(nn.Module):
    """Stem, then per stage and block slot every candidate block; runs the blocks one choice names.

    The stem is strided like ``MobileSpace.backbone``'s (1 for inputs up to 16 px high, else 2),
    decided per input, so one supernet serves the 8 px digits and the 24 px canvases.
    """

    def __init__(self, space: MobileSpace, in_channels: int) -> None:
        super().__init__()
        self.space = space
        self.stem = conv_bn(in_channels, space.stem_channels, 3)
        self.max_widths = tuple(max(w) for w in space.widths)
        cin = space.stem_channels
        self.slots = nn.ModuleList()
        for s, stride in enumerate(STAGE_STRIDES):
            self.slots.append(nn.ModuleList(
                nn.ModuleList(
                    SlicedInvertedResidual(cin if j == 0 else self.max_widths[s], self.max_widths[s], k, e, stride if j == 0 else 1)
                    for k, e in candidates(space)
                )
                for j in range(space.max_depth)
            ))
            cin = self.max_widths[s]
        self._init_weights()

    def _init_weights(self) -> None:
        """As ``MobileBackbone``: Kaiming convs, unit BN, and the always-residual later slots start as identity."""
        init_conv_bn(self)
        for stage in self.slots:
            for slot in list(stage)[1:]:
                for block in slot:
                    nn.init.zeros_(block.project.bn.weight)

    def forward(self, x: Tensor, choice: Sequence[int] | None, gates: Sequence[Tensor] | None = None,
                mixture: Sequence[Tensor] | None = None) -> list[Tensor]:
        """Stage features of ``choice`` (or of the soft ``mixture``), each at its stage's largest width.

        ``mixture``: per decision (``decisions`` order) the weights of its options; every candidate
        runs. Otherwise only ``choice``'s blocks run, ``gates`` multiplying them if given, and the
        features are zero-padded to the largest widths.
        """
        conv, *rest = self.stem
        stride = stem_stride(x.shape[-2])
        x = F.conv2d(x, conv.weight, None, stride, 1)
        for layer in rest:
            x = layer(x)
        if mixture is not None:
            return self._mixture(x, mixture)
        n = per_stage(self.space)
        features = []
        for s, stage in enumerate(self.slots):
            depth_i, width_i, *blocks = choice[s * n : (s + 1) * n]
            gate = (lambda i: gates[s * n + i]) if gates is not None else (lambda i: None)
            cout = self.space.widths[s][width_i]
            for j in range(self.space.depths[depth_i]):
                x = stage[j][blocks[j]](x, cout, gate(2 + j))
            if gates is not None:
                x = x * gate(0) * gate(1)
            features.append(F.pad(x, (0, 0, 0, 0, 0, self.max_widths[s] - cout)))
        return features

    def _mixture(self, x: Tensor, mixture: Sequence[Tensor]) -> list[Tensor]:
        """FBNet's soft forward from the stem's output: every candidate, weighted; widths as masks, depth as skips."""
        n = per_stage(self.space)
        features = []
        for s, stage in enumerate(self.slots):
            m_depth, m_width, *m_blocks = mixture[s * n : (s + 1) * n]
            cmax = self.max_widths[s]
            channels = torch.arange(cmax, device=x.device)
            masks = torch.stack([(channels < w).to(x.dtype) for w in self.space.widths[s]])
            mask = (m_width.to(x.dtype)[:, None] * masks).sum(dim=0).view(1, cmax, 1, 1)
            outputs = []
            for j, slot in enumerate(stage):
                x = sum(m * block(x, cmax) for m, block in zip(m_blocks[j], slot)) * mask
                outputs.append(x)
            x = sum(m * outputs[depth - 1] for m, depth in zip(m_depth, self.space.depths))
            features.append(x)
        return features


class Supernet(nn.Module):
    """The mixed backbone and one head per task, each head built for the largest widths.

    ``head_width``: channels of the heads' own layers (None: each task's default); FBNetV5 trains
    light heads so that the backbone, shared by all tasks, dominates the search's compute.
    """

    def __init__(self, space: MobileSpace, tasks: Mapping[str, object], in_channels: int, head_width: int | None = None) -> None:
        super().__init__()
        self.backbone = MixedBackbone(space, in_channels)
        self.heads = nn.ModuleDict({
            name: task.head(self.backbone.max_widths, feature_strides(stem_stride(task.input_shape[1])), head_width)
            for name, task in tasks.items()
        })

    def forward(self, x: Tensor, choice: Sequence[int] | None, tasks: Sequence[str], gates: Sequence[Tensor] | None = None,
                mixture: Sequence[Tensor] | None = None) -> dict[str, object]:
        """One backbone pass for ``choice`` (or the soft ``mixture``), fed to the heads of ``tasks``."""
        features = self.backbone(x, choice, gates, mixture)
        return {t: self.heads[t](features) for t in tasks}

    def head_macs(self, task: str, input_shape: tuple[int, int, int]) -> int:
        """MACs of one head pass at batch 1 on the padded (largest-width) features."""
        from torch.utils.flop_counter import FlopCounterMode

        stride = stem_stride(input_shape[1])
        size, features = input_shape[1] // stride, []
        for s, width in enumerate(self.backbone.max_widths):
            size = math.ceil(size / STAGE_STRIDES[s])
            features.append(torch.zeros(1, width, size, size))
        head = self.heads[task]
        was_training = head.training
        head.eval()
        try:
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                head(features)
        finally:
            head.train(was_training)
        return int(counter.get_total_flops() // 2)


class ChoiceNetwork(nn.Module):
    """One architecture of the supernet with one task's head, as a network ``ctx`` can recalibrate and validate.

    Shares the supernet's weights (nothing is copied); its ``repr`` names the choice, so the
    MACs ``ctx`` counts for it are those of this architecture's path.
    """

    def __init__(self, supernet: Supernet, choice: Sequence[int], task: str) -> None:
        super().__init__()
        self.supernet, self.choice, self.task = supernet, tuple(int(c) for c in choice), task

    def forward(self, x: Tensor) -> object:
        return self.supernet(x, self.choice, (self.task,))[self.task]

    def extra_repr(self) -> str:
        return f"task={self.task!r}, choice={self.choice}"


class CostModel:
    """Latency (ms, from the LUT) and backbone MACs of choices, exact or expected under a distribution."""

    def __init__(self, space: MobileSpace, table: "CostTable") -> None:
        self.space = space
        self.table = table
        n_cand = len(candidates(space))
        self.first, self.later = [], []
        cin_options = [(space.stem_channels,)] + [space.widths[s - 1] for s in range(1, len(space.widths))]
        for s, widths in enumerate(space.widths):
            self.first.append(self._array([(a, b, c) for a in cin_options[s] for b in widths for c in range(n_cand)], s, 0,
                                          (len(cin_options[s]), len(widths), n_cand)))
            self.later.append(self._array([(b, b, c) for b in widths for c in range(n_cand)], s, 1, (len(widths), n_cand)))

    def _array(self, entries: list[tuple[int, int, int]], stage: int, slot: int, shape: tuple[int, ...]) -> dict[str, Tensor]:
        kernels = candidates(self.space)
        rows = [self.table.block(stage, slot, cin, cout, *kernels[c]) for cin, cout, c in entries]
        return {
            "latency": torch.tensor([r.latency_ms for r in rows], dtype=torch.float64).reshape(shape),
            "macs": torch.tensor([float(r.macs) for r in rows], dtype=torch.float64).reshape(shape),
        }

    def mixture_macs(self) -> float:
        """Backbone MACs of one soft-mixture pass: the stem and every candidate of every slot at the largest widths."""
        total = float(self.table.stem.macs)
        cin = (self.space.stem_channels,)
        for s, widths in enumerate(self.space.widths):
            i, o = cin.index(max(cin)), widths.index(max(widths))
            total += float(self.first[s]["macs"][i, o].sum()) + (self.space.max_depth - 1) * float(self.later[s]["macs"][o].sum())
            cin = widths
        return total

    def of(self, choice: Sequence[int], what: str = "latency") -> float:
        """Exact cost of one choice: stem + its blocks (+ the head's latency for ``latency``)."""
        onehot = [F.one_hot(torch.tensor(c), d.options).double() for c, d in zip(choice, decisions(self.space))]
        return float(self.expected(onehot, what))

    def expected(self, probs: Sequence[Tensor], what: str = "latency") -> Tensor:
        """E[cost] when every decision is drawn independently from ``probs`` (differentiable, FBNet's LAT)."""
        n = per_stage(self.space)
        stem = self.table.stem
        total = torch.tensor(stem.latency_ms + self.table.head_ms if what == "latency" else float(stem.macs), dtype=torch.float64)
        cin = torch.ones(1, dtype=torch.float64)
        for s in range(len(self.space.widths)):
            p_depth, p_width, *p_blocks = (p.double() for p in probs[s * n : (s + 1) * n])
            total = total + torch.einsum("i,j,k,ijk->", cin, p_width, p_blocks[0], self.first[s][what])
            for j in range(1, self.space.max_depth):
                reach = sum(p_depth[d] for d, depth in enumerate(self.space.depths) if depth > j)
                if isinstance(reach, Tensor):
                    total = total + reach * torch.einsum("j,k,jk->", p_width, p_blocks[j], self.later[s][what])
            cin = p_width
        return total
