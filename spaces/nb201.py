"""The NAS-Bench-201 cell space: 6 edges x 5 operations, 15,625 cells, and the benchmark's network.

Gene ``e`` is the operation of edge ``e`` in the order of the benchmark's cell string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (node 1 <- 0; node 2 <- 0, 1; node 3 <- 0, 1, 2),
with operations numbered in the benchmark's order (``OPS``). Genotype, cell string and the
benchmark's row index convert both ways.
"""
from __future__ import annotations

from typing import Callable, ClassVar, Protocol

import torch
from torch import Tensor, nn

from nasbench.errors import InvalidArchitecture
from nasbench.nb201_table import N_CELLS, accuracy_table
from nasbench.records import Architecture
from spaces.base import SearchSpace

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: ``(to_node, from_node)`` of every edge, in cell-string (= gene) order.
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
#: The published skeleton: stem width, cells per stage, and the three stage widths.
STEM_CHANNELS = 16
CELLS_PER_STAGE = 5
STAGE_CHANNELS = (16, 32, 64)


class ImageClassification(Protocol):
    """What ``build`` needs from a task: the input shape ``(C, H, W)`` and the number of classes."""

    input_shape: tuple[int, int, int]
    num_classes: int


class NB201Space(SearchSpace):
    """NAS-Bench-201 (NATS-Bench "tss"): one searched cell repeated in a fixed ResNet-like skeleton."""

    name = "nb201"
    capabilities: ClassVar[frozenset[str]] = SearchSpace.capabilities | {"neighbours"}

    @property
    def choices(self) -> tuple[int, ...]:
        return (len(OPS),) * len(EDGES)

    # -- the benchmark's encodings -------------------------------------------------------
    def to_string(self, arch: Architecture) -> str:
        """The benchmark's cell string of ``arch``."""
        ops = [OPS[g] for g in self.make(arch.genes).genes]
        return "+".join(
            "|" + "|".join(f"{ops[e]}~{frm}" for e, (to, frm) in enumerate(EDGES) if to == node) + "|"
            for node in (1, 2, 3)
        )

    def from_string(self, cell: str) -> Architecture:
        """The architecture of a benchmark cell string; ``InvalidArchitecture`` if malformed."""
        genes = []
        nodes = cell.split("+")
        if len(nodes) != 3:
            raise InvalidArchitecture(f"nb201: a cell string has 3 nodes separated by '+', got {cell!r}")
        for node, text in enumerate(nodes, start=1):
            edges = text.strip("|").split("|")
            if len(edges) != node:
                raise InvalidArchitecture(f"nb201: node {node} of {cell!r} needs {node} inputs")
            for source, edge in enumerate(edges):
                op, _, frm = edge.partition("~")
                if op not in OPS or frm != str(source):
                    raise InvalidArchitecture(f"nb201: bad edge {edge!r} in {cell!r}")
                genes.append(OPS.index(op))
        return self.make(genes)

    def to_index(self, arch: Architecture) -> int:
        """The benchmark's architecture index (row of its tables)."""
        return accuracy_table().index(self.to_string(arch))

    def from_index(self, index: int) -> Architecture:
        """The architecture at a benchmark index in ``0 .. 15624``."""
        if not 0 <= index < N_CELLS:
            raise InvalidArchitecture(f"nb201: index {index} is outside 0..{N_CELLS - 1}")
        return self.from_string(accuracy_table().archs[index])

    # -- variation -----------------------------------------------------------------------
    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """All 24 cells that differ from ``arch`` on exactly one edge (local search moves)."""
        genes = self.make(arch.genes).genes
        return [
            self.make(genes[:e] + (op,) + genes[e + 1 :])
            for e in range(len(EDGES))
            for op in range(len(OPS))
            if op != genes[e]
        ]

    # -- networks ------------------------------------------------------------------------
    def build(self, arch: Architecture, task: ImageClassification) -> nn.Module:  # type: ignore[override]
        """The benchmark's whole classification network for ``task`` (no separate head)."""
        ops = [OPS[g] for g in self.make(arch.genes).genes]
        return NB201Network(ops, task.input_shape[0], task.num_classes)


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv (no bias) -> BatchNorm, the benchmark's convolution unit."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    """The ``none`` edge: zeros of the input's shape, created without a multiplication (no MACs)."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.zeros_like(x)


#: Builders of the cell edges (stride 1, ``channels`` in and out), by operation name.
OP_BUILDERS: dict[str, Callable[[int], nn.Module]] = {
    "none": lambda channels: Zero(),
    "skip_connect": lambda channels: nn.Identity(),
    "nor_conv_1x1": lambda channels: ReLUConvBN(channels, channels, 1),
    "nor_conv_3x3": lambda channels: ReLUConvBN(channels, channels, 3),
    "avg_pool_3x3": lambda channels: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
}


class Cell(nn.Module):
    """A 4-node DAG: node ``j`` is the sum of every edge from an earlier node; node 3 is the output."""

    def __init__(self, ops: list[str], channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(OP_BUILDERS[op](channels) for op in ops)

    def forward(self, x: Tensor) -> Tensor:
        nodes = [x]
        for node in (1, 2, 3):
            nodes.append(sum(self.edges[e](nodes[frm]) for e, (to, frm) in enumerate(EDGES) if to == node))
        return nodes[3]


class ResidualReduction(nn.Module):
    """The ResNet basic block between stages: two ReLU-Conv-BN (first with stride 2) + avgpool-1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """Stem -> 3 stages of 5 cells with a residual reduction between them -> BN-ReLU-pool-linear."""

    def __init__(self, ops: list[str], in_channels: int, num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, STEM_CHANNELS, 3, padding=1, bias=False),
            nn.BatchNorm2d(STEM_CHANNELS),
        ]
        c_prev = STEM_CHANNELS
        for stage, channels in enumerate(STAGE_CHANNELS):
            if stage:
                layers.append(ResidualReduction(c_prev, channels))
            layers.extend(Cell(ops, channels) for _ in range(CELLS_PER_STAGE))
            c_prev = channels
        layers += [nn.BatchNorm2d(c_prev), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))
