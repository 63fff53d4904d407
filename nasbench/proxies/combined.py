"""Combined data-free ranking: a rank aggregate of complementary proxies, made pointwise by a reference sample."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from nasbench.proxies.base import Proxy, Subject

#: Reference architectures per (space, task) and the seed that draws and scores them.
REFERENCE_SIZE = 64
REFERENCE_SEED = 0


def quantile_of(reference: np.ndarray, value: float) -> float:
    """``value``'s mid-rank quantile among the ``reference`` scores, interpolated between them.

    Beyond the reference's extremes it continues linearly with the slope the quantile has
    between the quartiles (0.5 / IQR), so the best candidates are never tied at 1.
    """
    distinct = np.unique(reference)
    n = len(reference)
    below, up_to = np.searchsorted(reference, distinct, "left"), np.searchsorted(reference, distinct, "right")
    mid_rank = (below + up_to) / (2 * n)
    q1, q3 = np.percentile(reference, [25, 75])
    slope = 0.5 / (q3 - q1) if q3 > q1 else 1.0
    if value < distinct[0]:
        return float(mid_rank[0] - slope * (distinct[0] - value))
    if value > distinct[-1]:
        return float(mid_rank[-1] + slope * (value - distinct[-1]))
    return float(np.interp(value, distinct, mid_rank))


class Combined(Proxy):
    """Sum over components of the score's quantile among a fixed reference sample: a pointwise rank aggregate.

    A rank aggregate (sum of each proxy's rank) needs a population; ranking every component
    against the same fixed sample of the space (``REFERENCE_SIZE`` architectures drawn and
    scored with ``REFERENCE_SEED``) gives each architecture a score of its own that orders any
    population as the aggregate of their ranks would. The reference is a property of (proxy,
    space, task), the same for every search; like the shipped cost tables it is computed once
    per process and not charged to a search. Named ``a+b`` (``get_proxy("synflow+macs")``).
    """

    description = "rank aggregate of its components, each ranked against a fixed reference sample of 64 architectures"

    def __init__(self, components: Sequence[Proxy]) -> None:
        if len(components) < 2:
            raise ValueError("a combined proxy needs at least two components")
        self.components = tuple(components)
        self.name = "+".join(c.name for c in self.components)  # type: ignore[misc]
        self.requires = frozenset().union(*(c.requires for c in self.components))  # type: ignore[misc]
        self._reference: dict[tuple[str, str], np.ndarray] = {}

    @property
    def passes(self) -> float:
        return sum(c.passes for c in self.components)

    def reference(self, subject: Subject) -> np.ndarray:
        """The components' sorted scores on the reference sample of ``subject``'s space and task, one column each."""
        key = (subject.space.name, subject.task.name)
        if key not in self._reference:
            rng = np.random.default_rng(REFERENCE_SEED)
            sample = [subject.of(subject.space.sample(rng)) for _ in range(REFERENCE_SIZE)]
            scores = np.array([[c.score(s, REFERENCE_SEED) for c in self.components] for s in sample])
            self._reference[key] = np.sort(scores, axis=0)
        return self._reference[key]

    def aggregate(self, subject: Subject, values: Sequence[float]) -> float:
        """The combined score of ``subject`` from its component scores (in component order)."""
        reference = self.reference(subject)
        return sum(quantile_of(reference[:, i], v) for i, v in enumerate(values))

    def _score(self, subject: Subject, seed: int) -> float:
        return self.aggregate(subject, [c.score(subject, seed) for c in self.components])
