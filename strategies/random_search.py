"""Random search: uniform samples trained at search fidelity; the Pareto front is proposed."""
from __future__ import annotations

from nasbench.context import SearchContext
from nasbench.records import Architecture
from strategies.base import AskTellStrategy, register


@register
class RandomSearch(AskTellStrategy):
    """Sample architectures uniformly until the budget is spent (Bergstra & Bengio, 2012).

    repeat: draw one architecture uniformly; train it at search fidelity.
    return the non-dominated evaluated architectures (at most K).
    """

    name = "random"
    description = "random search: uniform samples, trained at search fidelity"

    def ask(self, ctx: SearchContext) -> list[Architecture]:
        return [ctx.space.sample(ctx.rng)]
