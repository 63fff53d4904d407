"""Combined data-free ranking: complementary proxies standardised on a fixed reference sample and summed."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from nasbench.proxies.base import Proxy, Subject

#: Reference architectures per (space, task) and the seed that draws and scores them.
REFERENCE_SIZE = 64
REFERENCE_SEED = 0


class Combined(Proxy):
    """Sum over components of (score - median) / interquartile range, both read on a reference sample.

    A rank aggregate needs a population; standardising each component on a fixed sample of the
    space (``REFERENCE_SIZE`` architectures drawn and scored with ``REFERENCE_SEED``) gives a
    per-architecture score that orders a population as the sum of its components' normalised
    ranks would, without clipping the best candidates (which an empirical CDF would tie).
    The reference is a property of (proxy, space, task), the same for every search; like the
    shipped cost tables it is computed once per process and not charged to a search.
    Named ``a+b`` in the registry (``get_proxy("synflow+macs")``).
    """

    description = "standardised sum of component proxies (reference sample of 64 architectures)"

    def __init__(self, components: Sequence[Proxy]) -> None:
        if len(components) < 2:
            raise ValueError("a combined proxy needs at least two components")
        self.components = tuple(components)
        self.name = "+".join(c.name for c in self.components)  # type: ignore[misc]
        self.requires = frozenset().union(*(c.requires for c in self.components))  # type: ignore[misc]
        self._reference: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    @property
    def passes(self) -> float:
        return sum(c.passes for c in self.components)

    def reference(self, subject: Subject) -> tuple[np.ndarray, np.ndarray]:
        """Per component, the median and interquartile range of its scores on the reference sample."""
        key = (subject.space.name, subject.task.name)
        if key not in self._reference:
            rng = np.random.default_rng(REFERENCE_SEED)
            sample = [subject.of(subject.space.sample(rng)) for _ in range(REFERENCE_SIZE)]
            scores = np.array([[c.score(s, REFERENCE_SEED) for c in self.components] for s in sample])
            q1, median, q3 = np.percentile(scores, [25, 50, 75], axis=0)
            self._reference[key] = (median, np.where(q3 > q1, q3 - q1, 1.0))
        return self._reference[key]

    def standardise(self, subject: Subject, values: Sequence[float]) -> float:
        """The combined score of ``subject`` from its component scores (in component order)."""
        median, scale = self.reference(subject)
        return float(np.sum((np.asarray(values) - median) / scale))

    def _score(self, subject: Subject, seed: int) -> float:
        return self.standardise(subject, [c.score(subject, seed) for c in self.components])
