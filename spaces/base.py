"""The search-space interface every strategy relies on (integer genotypes with bounds)."""
from __future__ import annotations

import abc
import math
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from nasbench.errors import InvalidArchitecture
from nasbench.records import Architecture, Cost

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

    from nasbench.tasks.base import Task


class SearchSpace(abc.ABC):
    """A discrete space of architectures encoded as fixed-length integer vectors.

    Gene ``i`` takes values ``0 .. choices[i] - 1``; ``bounds`` gives the same box to pymoo
    and deap. Subclasses define ``choices``, ``canonical`` (which genes matter), ``build`` and
    may override the variation operators.
    """

    name: ClassVar[str]
    #: What the space supports beyond the basics; strategies declare what they need from this.
    capabilities: ClassVar[frozenset[str]] = frozenset({"sample", "mutate", "crossover", "build"})

    @property
    @abc.abstractmethod
    def choices(self) -> tuple[int, ...]:
        """Number of options of every gene."""

    # -- genotypes -----------------------------------------------------------------------
    @property
    def n_genes(self) -> int:
        return len(self.choices)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Inclusive integer lower and upper bounds of every gene (pymoo ``xl``/``xu``)."""
        return np.zeros(self.n_genes, dtype=int), np.asarray(self.choices, dtype=int) - 1

    def canonical(self, genes: Sequence[int]) -> tuple[int, ...]:
        """The representative genotype of the network ``genes`` builds (inactive genes zeroed)."""
        return tuple(int(g) for g in genes)

    def make(self, genes: Sequence[int]) -> Architecture:
        """Validate ``genes`` and return the canonical architecture; raises ``InvalidArchitecture``."""
        genes = tuple(genes)
        if len(genes) != self.n_genes:
            raise InvalidArchitecture(
                f"{self.name}: expected {self.n_genes} genes, got {len(genes)}"
            )
        for i, (g, n) in enumerate(zip(genes, self.choices)):
            if isinstance(g, float) and not float(g).is_integer() or not 0 <= g < n:
                raise InvalidArchitecture(
                    f"{self.name}: gene {i} = {g!r} is outside 0..{n - 1}"
                )
        return Architecture(self.name, self.canonical(int(g) for g in genes))

    def from_dict(self, data: dict[str, Any]) -> Architecture:
        """Inverse of ``Architecture.to_dict``."""
        if data.get("space") != self.name:
            raise InvalidArchitecture(f"architecture of space {data.get('space')!r}, expected {self.name!r}")
        return self.make(data["genes"])

    def from_key(self, key: str) -> Architecture:
        """Inverse of ``Architecture.key``."""
        space, _, genes = key.partition(":")
        try:
            values = [int(g) for g in genes.split("-")] if genes else []
        except ValueError:
            raise InvalidArchitecture(f"malformed architecture key {key!r}") from None
        return self.from_dict({"space": space, "genes": values})

    def reference(self) -> Architecture:
        """A mid-size architecture (the middle option of every gene); budgets are counted in its trainings."""
        return self.make((n - 1) // 2 for n in self.choices)

    def size(self) -> int:
        """Number of distinct architectures (distinct canonical genotypes)."""
        return math.prod(self.choices)

    # -- variation operators -------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Architecture:
        """A uniformly random genotype."""
        return self.make(int(rng.integers(n)) for n in self.choices)

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Change one gene that matters to a different value (a different network)."""
        genes = list(arch.genes)
        while True:
            i = int(rng.integers(self.n_genes))
            if self.choices[i] < 2:
                continue
            genes[i] = (genes[i] + 1 + int(rng.integers(self.choices[i] - 1))) % self.choices[i]
            child = self.make(genes)
            if child != arch:
                return child
            genes = list(arch.genes)

    def crossover(self, a: Architecture, b: Architecture, rng: np.random.Generator) -> Architecture:
        """Uniform crossover of two parents."""
        take_b = rng.random(self.n_genes) < 0.5
        return self.make(gb if t else ga for ga, gb, t in zip(a.genes, b.genes, take_b))

    # -- networks ------------------------------------------------------------------------
    def build(self, arch: Architecture, task: "Task") -> "nn.Module":
        """A fresh, randomly initialised network for ``task``: the backbone of ``arch`` feeding the task's head.

        Spaces that build whole networks (NAS-Bench-201's cells end in their own classifier) override it.
        """
        from nasbench.model import TaskModel

        backbone = self.backbone(arch, task)
        return TaskModel(backbone, task.head(backbone.channels, backbone.strides))

    def backbone(self, arch: Architecture, task: "Task", *, residual: bool = True) -> "nn.Module":
        """The feature extractor of ``build(arch, task)`` alone (spaces with the ``backbone`` capability).

        It returns its stage features finest first, declares ``channels`` and ``stage_blocks``
        (per stage, its blocks in forward order), and can be built without residual links:
        what the data-free proxies of ``nasbench.proxies`` read.
        """
        raise NotImplementedError(f"the {self.name} space does not expose its backbone")

    def latency_ms(self, arch: Architecture, task: "Task") -> float:
        """Predicted batch-1 CPU latency of ``build(arch, task)`` from the space's per-machine latency table.

        NaN here: a space with a table declares the ``latency`` capability and overrides this.
        Never a timed forward pass per architecture.
        """
        return math.nan

    def cost(self, arch: Architecture, task: "Task", latency: bool = True) -> Cost:
        """MACs and parameters of ``build(arch, task)`` (torch's FLOP counter), and its table latency if asked."""
        from nasbench.costs import count_macs, count_params

        model = self.build(arch, task)
        return Cost(
            macs=count_macs(model, tuple(task.input_shape)),
            params=count_params(model),
            latency_ms=self.latency_ms(arch, task) if latency else math.nan,
        )
