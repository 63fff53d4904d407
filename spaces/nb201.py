"""The NAS-Bench-201 cell space: 6 edges x 5 operations, 15,625 cells, and the benchmark's network.

Gene ``e`` is the operation of edge ``e`` in the order of the benchmark's cell string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (node 1 <- 0; node 2 <- 0, 1; node 3 <- 0, 1, 2),
with operations numbered in the benchmark's order (``OPS``). Genotype, cell string and the
benchmark's row index convert both ways (no accuracy is read for that). The shipped cost table
``nasbench/data/nb201_costs.csv.gz`` is regenerated with ``python -m spaces.nb201``.
"""
from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Callable, ClassVar, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from nasbench.errors import InvalidArchitecture
from nasbench.model import Backbone
from nasbench.nb201_table import COSTS_FILE, N_CELLS, cell_index, cell_strings
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
    capabilities: ClassVar[frozenset[str]] = SearchSpace.capabilities | {"neighbours", "backbone"}

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
        return cell_index(self.to_string(arch))

    def from_index(self, index: int) -> Architecture:
        """The architecture at a benchmark index in ``0 .. 15624``."""
        if not 0 <= index < N_CELLS:
            raise InvalidArchitecture(f"nb201: index {index} is outside 0..{N_CELLS - 1}")
        return self.from_string(cell_strings()[index])

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
        return NB201Network(self._ops(arch), task.input_shape[0], task.num_classes)

    def backbone(  # type: ignore[override]
        self, arch: Architecture, task: ImageClassification, *, residual: bool = True
    ) -> "NB201Backbone":
        """The network's feature extractor (stem, three stages, last BN-ReLU), without the classifier."""
        return NB201Backbone(self._ops(arch), task.input_shape[0], residual)

    def _ops(self, arch: Architecture) -> list[str]:
        return [OPS[g] for g in self.make(arch.genes).genes]


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
    """The ResNet basic block between stages: two ReLU-Conv-BN (first with stride 2) + avgpool-1x1 shortcut.

    ``residual=False`` leaves the shortcut out (Zen-NAS scores networks without residual links).
    """

    def __init__(self, c_in: int, c_out: int, residual: bool = True) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.shortcut = (
            nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False)) if residual else None
        )

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv_b(self.conv_a(x))
        return out if self.shortcut is None else self.shortcut(x) + out


class NB201Backbone(Backbone):
    """Stem -> 3 stages of 5 cells (a residual reduction opens stages 2 and 3) -> BN-ReLU.

    Returns each stage's output, finest first; the last one after the final BN-ReLU, i.e. the
    feature map the classifier pools.
    """

    def __init__(self, ops: list[str], in_channels: int, residual: bool = True) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, STEM_CHANNELS, 3, padding=1, bias=False), nn.BatchNorm2d(STEM_CHANNELS)
        )
        stages, c_prev = [], STEM_CHANNELS
        for stage, channels in enumerate(STAGE_CHANNELS):
            reduction = [ResidualReduction(c_prev, channels, residual)] if stage else []
            stages.append(nn.Sequential(*reduction, *(Cell(ops, channels) for _ in range(CELLS_PER_STAGE))))
            c_prev = channels
        self.stages = nn.ModuleList(stages)
        self.last_act = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU())
        self.channels = STAGE_CHANNELS
        self.strides = tuple(2**i for i in range(len(STAGE_CHANNELS)))

    def forward(self, x: Tensor) -> list[Tensor]:
        features = super().forward(x)
        features[-1] = self.last_act(features[-1])
        return features


class NB201Network(nn.Module):
    """The backbone, then global average pooling and a linear classifier."""

    def __init__(self, ops: list[str], in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.backbone = NB201Backbone(ops, in_channels)
        self.classifier = nn.Linear(STAGE_CHANNELS[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.backbone(x)[-1].mean(dim=(2, 3)))


def measure_cost_table() -> dict[str, np.ndarray]:
    """MACs and parameters of all 15,625 networks per dataset, measured on built networks.

    Every cell edge maps C channels to C at one resolution, and only convolutions and the
    classifier carry MACs and parameters, so a network's cost depends only on how many of its
    edges are 1x1 and 3x3 convolutions: one representative per such pair (28) is built and
    measured per dataset, then assigned to every cell with the same counts.
    """
    from nasbench.tasks.nb201 import DATASETS, NB201Task

    space = NB201Space()
    n_edges = space.n_genes
    genes = np.array([space.from_index(i).genes for i in range(N_CELLS)])
    n1, n3 = (genes == 2).sum(axis=1), (genes == 3).sum(axis=1)
    table: dict[str, np.ndarray] = {}
    for name in DATASETS:
        task = NB201Task(name, splits=("train", "val"))
        macs, params = np.zeros(N_CELLS, dtype=np.int64), np.zeros(N_CELLS, dtype=np.int64)
        for a, b in sorted(set(zip(n1.tolist(), n3.tolist()))):
            representative = space.make((3,) * b + (2,) * a + (0,) * (n_edges - a - b))
            cost = space.cost(representative, task, latency=False)
            same = (n1 == a) & (n3 == b)
            macs[same], params[same] = cost.macs, cost.params
        table[f"{name}_macs"], table[f"{name}_params"] = macs, params
    return table


def write_cost_table(path: Path) -> None:
    """Write ``measure_cost_table()`` as the gzipped CSV ``nb201_table.cost_table`` reads (byte-reproducible)."""
    table = measure_cost_table()
    with gzip.GzipFile(path, "wb", mtime=0) as raw, io.TextIOWrapper(raw, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["index", *table])
        writer.writerows(zip(range(N_CELLS), *(column.tolist() for column in table.values())))


if __name__ == "__main__":
    write_cost_table(Path(__file__).resolve().parents[1] / "nasbench" / "data" / COSTS_FILE)
