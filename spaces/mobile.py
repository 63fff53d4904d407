"""The shared FBNet/FBNetV5-style mobile space: 4 stages of inverted-residual blocks.

Genotype, per stage ``s`` (``2 + 2 * max_depth`` genes, stages concatenated)::

    [depth, width, kernel_0, expansion_0, ..., kernel_{D-1}, expansion_{D-1}]

Every gene is an index into the space's option tuples (``depths``, ``widths[s]``,
``kernels``, ``expansions``). Block slots at or beyond the stage depth are inactive and
zero in the canonical genotype, so each network has exactly one genotype.
"""
from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, ClassVar, Sequence

import numpy as np
from torch import Tensor, nn

from nasbench.errors import ConfigError, InvalidArchitecture
from nasbench.model import Backbone
from nasbench.records import Architecture, Cost
from spaces.base import SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.tasks.base import Task

#: Stride of the first block of each stage; the backbone's features sit at strides s, 2s, 4s, 8s.
STAGE_STRIDES = (1, 2, 2, 2)
STEM_CHANNELS = 16
#: Inputs at most this high keep full resolution in the stem (stride 1); larger ones are halved.
SMALL_INPUT = 16

DEFAULT_WIDTHS = ((12, 16, 20), (16, 24, 32), (24, 32, 40), (32, 48, 64))
DEFAULT_DEPTHS = (1, 2, 3)
DEFAULT_KERNELS = (3, 5)
DEFAULT_EXPANSIONS = (1, 3, 6)


@dataclass(frozen=True)
class BlockSpec:
    """One inverted-residual block, exactly the arguments of ``InvertedResidual``."""

    cin: int
    cout: int
    kernel: int
    expansion: int
    stride: int


@dataclass(frozen=True)
class StageSpec:
    """One decoded stage: its depth, output channels and active blocks (first one strided)."""

    depth: int
    channels: int
    blocks: tuple[BlockSpec, ...]


def stem_stride(height: int) -> int:
    """The stem's stride for inputs ``height`` px high: 1 up to ``SMALL_INPUT``, else 2."""
    return 1 if height <= SMALL_INPUT else 2


def feature_strides(stride: int) -> tuple[int, ...]:
    """Input pixels per feature pixel of each stage's output, after a stem of ``stride``."""
    return tuple(stride * s for s in accumulate(STAGE_STRIDES, operator.mul))


def conv_bn(
    cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, relu: bool = True
) -> nn.Sequential:
    """Conv (no bias, same padding) + BN, optionally + ReLU: the unit every layer here is made of."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def init_conv_bn(module: nn.Module) -> None:
    """Kaiming-normal (fan-out) convolutions and unit BatchNorm in ``module``: every backbone's starting point."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (skipped at expansion 1), kxk depthwise, 1x1 linear project.

    The residual link (where shapes allow) can be left out: Zen-NAS scores networks without it.
    """

    def __init__(self, cin: int, cout: int, kernel: int, expansion: int, stride: int, residual: bool = True) -> None:
        super().__init__()
        hidden = cin * expansion
        layers = [conv_bn(cin, hidden, 1)] if expansion != 1 else []
        layers += [
            conv_bn(hidden, hidden, kernel, stride, groups=hidden),
            conv_bn(hidden, cout, 1, relu=False),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = residual and stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        out = self.body(x)
        return x + out if self.residual else out


class MobileBackbone(Backbone):
    """Stem then 4 stages of inverted residuals; returns each stage's output, finest first.

    ``residual=False`` builds every block without its residual link (for zero-shot proxies).
    """

    def __init__(
        self,
        in_channels: int,
        stem_stride: int,
        stages: Sequence[StageSpec],
        stem_channels: int = STEM_CHANNELS,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.stem = conv_bn(in_channels, stem_channels, 3, stem_stride)
        self.stages = nn.ModuleList(
            nn.Sequential(*(InvertedResidual(**asdict(block), residual=residual) for block in stage.blocks))
            for stage in stages
        )
        self.channels = tuple(stage.channels for stage in stages)
        self.strides = feature_strides(stem_stride)
        self._init_weights()

    def _init_weights(self) -> None:
        """Kaiming convs, unit BN; residual blocks start as identity (last BN gamma 0) for stability."""
        init_conv_bn(self)
        for m in self.modules():
            if isinstance(m, InvertedResidual) and m.residual:
                nn.init.zeros_(m.body[-1][1].weight)


class MobileSpace(SearchSpace):
    """FBNet-style space: per stage a depth and a width, per block a kernel and an expansion.

    Keywords (defaults give 774**4, about 3.6e11, networks):
      widths: per stage, the output-channel options (4 stages).
      depths: the block-count options of every stage.
      kernels, expansions: the per-block depthwise kernel and expansion-ratio options.
      stem_channels: channels of the fixed 3x3 stem.
    """

    name = "mobile"
    #: ``slicing``: ``spaces.slicing.SlicingSupernet``; ``mixed``: the mixed-op supernet of
    #: ``spaces.mixed``; ``latency``: a per-machine latency table (``spaces.latency_lut``).
    capabilities: ClassVar[frozenset[str]] = SearchSpace.capabilities | {"backbone", "slicing", "mixed", "latency"}

    def __init__(
        self,
        widths: Sequence[Sequence[int]] = DEFAULT_WIDTHS,
        depths: Sequence[int] = DEFAULT_DEPTHS,
        kernels: Sequence[int] = DEFAULT_KERNELS,
        expansions: Sequence[int] = DEFAULT_EXPANSIONS,
        stem_channels: int = STEM_CHANNELS,
    ) -> None:
        self.widths = tuple(tuple(int(c) for c in w) for w in widths)
        self.depths = tuple(int(d) for d in depths)
        self.kernels = tuple(int(k) for k in kernels)
        self.expansions = tuple(int(e) for e in expansions)
        self.stem_channels = int(stem_channels)
        if len(self.widths) != len(STAGE_STRIDES):
            raise ConfigError(f"mobile space needs {len(STAGE_STRIDES)} stages of widths, got {len(self.widths)}")
        for what, values in [("depths", self.depths), ("kernels", self.kernels), ("expansions", self.expansions),
                             *((f"widths[{i}]", w) for i, w in enumerate(self.widths))]:
            if not values or min(values) < 1 or len(set(values)) < len(values):
                raise ConfigError(f"mobile space: {what} must be distinct positive integers, got {values}")
        if any(k % 2 == 0 for k in self.kernels) or self.stem_channels < 1:
            raise ConfigError("mobile space: kernels must be odd and stem_channels positive")
        self.max_depth = max(self.depths)
        self.stage_genes = 2 + 2 * self.max_depth
        self._choices = tuple(
            n
            for w in self.widths
            for n in (len(self.depths), len(w), *(len(self.kernels), len(self.expansions)) * self.max_depth)
        )

    @property
    def choices(self) -> tuple[int, ...]:
        return self._choices

    # -- genotype structure ----------------------------------------------------------------
    def _active(self, genes: Sequence[int]) -> list[int]:
        """Indices of the genes that shape the network: depth, width and the blocks in use."""
        active = []
        for s in range(len(self.widths)):
            base = s * self.stage_genes
            depth = self.depths[genes[base]]
            active += range(base, base + 2 + 2 * depth)
        return active

    def canonical(self, genes: Sequence[int]) -> tuple[int, ...]:
        """Zero the kernel/expansion genes of block slots beyond each stage's depth."""
        genes = [int(g) for g in genes]
        active = set(self._active(genes))
        return tuple(g if i in active else 0 for i, g in enumerate(genes))

    def size(self) -> int:
        """Exact count of distinct networks: per stage, widths x sum over depths of block options."""
        per_block = len(self.kernels) * len(self.expansions)
        return math.prod(len(w) * sum(per_block**d for d in self.depths) for w in self.widths)

    def decode(self, arch: Architecture) -> tuple[StageSpec, ...]:
        """Per-stage depth, channels and block specs: what builders, supernets and cost tables read."""
        genes = self._check(arch).genes
        stages = []
        cin = self.stem_channels
        for s, stride in enumerate(STAGE_STRIDES):
            g = genes[s * self.stage_genes : (s + 1) * self.stage_genes]
            depth, cout = self.depths[g[0]], self.widths[s][g[1]]
            blocks = []
            for j in range(depth):
                kernel, expansion = self.kernels[g[2 + 2 * j]], self.expansions[g[3 + 2 * j]]
                blocks.append(BlockSpec(cin, cout, kernel, expansion, stride if j == 0 else 1))
                cin = cout
            stages.append(StageSpec(depth, cout, tuple(blocks)))
        return tuple(stages)

    def describe(self, arch: Architecture) -> str:
        """Short readable form, e.g. ``d2c24[k3e6,k5e1]|...`` (depth, channels, blocks per stage)."""
        return "|".join(
            f"d{st.depth}c{st.channels}[" + ",".join(f"k{b.kernel}e{b.expansion}" for b in st.blocks) + "]"
            for st in self.decode(arch)
        )

    def _check(self, arch: Architecture) -> Architecture:
        """``arch`` re-validated against this space (guards against foreign or hand-made records)."""
        if arch.space != self.name:
            raise InvalidArchitecture(f"architecture of space {arch.space!r}, expected {self.name!r}")
        return self.make(arch.genes)

    # -- variation operators ---------------------------------------------------------------
    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Change one active gene to another value; slots a depth increase activates get random values."""
        parent = self._check(arch).genes
        genes = list(parent)
        candidates = [i for i in self._active(genes) if self.choices[i] > 1]
        if not candidates:
            raise InvalidArchitecture(f"{self.name}: the space has a single architecture, nothing to mutate")
        i = candidates[int(rng.integers(len(candidates)))]
        genes[i] = (genes[i] + 1 + int(rng.integers(self.choices[i] - 1))) % self.choices[i]
        if i % self.stage_genes == 0:
            before = set(self._active(parent))
            for j in self._active(genes):
                if j not in before:
                    genes[j] = int(rng.integers(self.choices[j]))
        return self.make(genes)

    def crossover(self, a: Architecture, b: Architecture, rng: np.random.Generator) -> Architecture:
        """Uniform crossover: depth and width from either parent, each block gene from a parent using that slot."""
        parents = (self._check(a).genes, self._check(b).genes)
        child: list[int] = []
        for s in range(len(self.widths)):
            base = s * self.stage_genes
            stage = [parents[int(rng.integers(2))][base], parents[int(rng.integers(2))][base + 1]]
            for j in range(self.max_depth):
                donors = [p for p in parents if self.depths[p[base]] > j]
                for g in (base + 2 + 2 * j, base + 3 + 2 * j):
                    stage.append(donors[int(rng.integers(len(donors)))][g] if donors else 0)
            child += stage
        return self.make(child)

    # -- networks --------------------------------------------------------------------------
    def backbone(self, arch: Architecture, task: "Task", *, residual: bool = True) -> MobileBackbone:
        """The backbone of ``arch`` for ``task``'s input."""
        return MobileBackbone(task.input_shape[0], stem_stride(task.input_shape[1]), self.decode(arch), self.stem_channels,
                              residual)

    def cost(self, arch: Architecture, task: "Task", latency: bool = True) -> Cost:
        """MACs and parameters of ``build(arch, task)`` summed from per-part counts (``spaces.part_costs``):
        the same numbers as counting the built network, without building it; latency from the table if asked."""
        from spaces.part_costs import network_cost

        macs, params = network_cost(self, arch, task)
        return Cost(macs=macs, params=params, latency_ms=self.latency_ms(arch, task) if latency else math.nan)

    def latency_ms(self, arch: Architecture, task: "Task") -> float:
        """Batch-1 CPU latency predicted by this machine's latency table (stem + blocks + head), measured once per machine."""
        from spaces.latency_lut import load_table

        return load_table(self, task).latency_ms(self, arch)
