"""Random search: uniform samples trained at search fidelity; the Pareto front is proposed."""
from __future__ import annotations

from contextlib import suppress

from nasbench.context import SearchContext
from nasbench.errors import BudgetExhausted
from strategies.base import Proposals, Strategy, register


@register
class RandomSearch(Strategy):
    """Sample architectures uniformly until the budget is spent (Bergstra & Bengio, 2012)."""

    name = "random"
    description = "random search: uniform samples, trained at search fidelity"

    def search(self, ctx: SearchContext) -> Proposals:
        with suppress(BudgetExhausted):
            while True:
                ctx.evaluate(ctx.space.sample(ctx.rng))
        return ctx.front()
