"""A continuous box over any integer genotype: what swarm- and learning-rate-style updates move in.

Gene ``i`` with ``n`` choices lives in ``[0, n]``; a point decodes to the integer part of each
coordinate, the upper bound ``n`` mapping to the last choice ``n - 1`` (RelativeNAS's encoding).
"""
from __future__ import annotations

import numpy as np

from nasbench.errors import InvalidArchitecture
from nasbench.records import Architecture
from spaces.base import SearchSpace


class ContinuousBox:
    """The box ``[0, choices_i]`` of a space, with decoding to (canonical) architectures."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.lower = np.zeros(space.n_genes)
        self.upper = np.asarray(space.choices, dtype=float)

    @property
    def dim(self) -> int:
        return len(self.upper)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` points drawn uniformly from the box, one per row."""
        return rng.uniform(self.lower, self.upper, size=(n, self.dim))

    def clip(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.lower, self.upper)

    def decode(self, x: np.ndarray) -> Architecture:
        """The architecture whose genes are the integer parts of ``x`` (upper bound -> last choice)."""
        x = np.asarray(x, dtype=float)
        if x.shape != (self.dim,) or not np.all(np.isfinite(x)):
            raise InvalidArchitecture(f"a point of the {self.space.name!r} box has {self.dim} finite coordinates, got shape {x.shape}")
        if np.any(x < self.lower) or np.any(x > self.upper):
            raise InvalidArchitecture(f"point outside the {self.space.name!r} box [0, choices]")
        genes = np.minimum(np.floor(x).astype(int), self.upper.astype(int) - 1)
        return self.space.make(genes)

    def encode(self, arch: Architecture) -> np.ndarray:
        """The centre of the unit cell that decodes to ``arch``."""
        return np.asarray(self.space.make(arch.genes).genes, dtype=float) + 0.5
