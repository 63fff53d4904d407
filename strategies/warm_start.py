"""Zero-cost warm starts (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, Sec. 5).

The paper's "warmup": score a large random sample with a data-free proxy and start the
search's population from the top of that ranking instead of from random architectures. Here
every score goes through ``ctx.score`` and is charged like any score (its proxy's forward
passes x MACs, and one query); the search then trains the chosen architectures as usual.

One place for every strategy that offers it (``rea``, ``nsga2``, ``ls``): the hyper-parameters
(``warm_start``: a proxy name or ``a+b`` combination, None for a random start;
``warm_start_pool``: how many distinct random architectures are scored), their constraints and
checks, and the ranking itself.

What it costs depends on the budget unit. Under ``queries`` a score counts as one query, so a
pool of N spends N of the budget's queries before anything is trained; under ``macs`` (or
``seconds``) a score costs its forward passes, e.g. on NAS-Bench-201 a synflow score is
3 x MACs against 900,000 x MACs for a 12-epoch query (3 passes x 25,000 images x 12 epochs):
a pool of 1,000 costs about 0.3% of one query. docs/nb201_sample_efficiency.md measures both.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping

from nasbench.context import SearchContext
from nasbench.errors import ConfigError
from nasbench.proxies import PROXIES, get_proxy
from nasbench.records import Architecture
from strategies.base import Interval, Rule, Satisfies

if TYPE_CHECKING:  # pragma: no cover
    from spaces.base import SearchSpace

#: Random draws allowed per wanted distinct architecture before the pool is taken as it is (tiny spaces).
DRAWS_PER_MEMBER = 20


def _proxy_name(value: object) -> bool:
    """Whether ``value`` names a registered proxy or an ``a+b`` combination of them."""
    if not isinstance(value, str):
        return False
    get_proxy(value)
    return True


#: The warm-start hyper-parameters' constraints, merged into a strategy's ``parameter_constraints``.
CONSTRAINTS: Mapping[str, Any] = {
    "warm_start": [None, Satisfies(_proxy_name, f"None or a proxy ({', '.join(sorted(PROXIES))}) or an a+b combination")],
    "warm_start_pool": Interval(int, 1, 1_000_000),
}


def pool_rule(population: str) -> Rule:
    """``warm_start_pool`` must hold at least the ``population`` parameter's members."""
    return Rule(("warm_start_pool", population), lambda p: p["warm_start_pool"] >= p[population],
                f"warm_start_pool >= {population}")


class WarmStartable:
    """Mixin of a strategy with the warm-start parameters: refuses, before any compute, a proxy the space cannot score."""

    name: str
    warm_start: str | None

    def check(self, space: "SearchSpace", tasks: Mapping[str, Any], k: int) -> None:
        super().check(space, tasks, k)  # type: ignore[misc]
        check(self.name, self.warm_start, space)


def check(strategy: str, proxy: str | None, space: "SearchSpace") -> None:
    """``ConfigError`` (one line) when ``proxy`` cannot score architectures of ``space``."""
    if proxy is None:
        return
    missing = get_proxy(proxy).requires - space.capabilities
    if missing:
        raise ConfigError(f"strategy {strategy!r}: warm_start proxy {proxy!r} needs {', '.join(sorted(missing))}, "
                          f"which space {space.name!r} lacks")


def rank(ctx: SearchContext, proxy: str, pool: int) -> list[Architecture]:
    """``pool`` distinct random architectures ordered by ``proxy`` score, best first (each score charged).

    Draws from ``ctx.rng``; ties keep the draw order. A space with fewer than ``pool``
    architectures gives what ``DRAWS_PER_MEMBER x pool`` draws found. ``BudgetExhausted`` from
    a score that does not fit propagates (the search ends as any search does).
    """
    drawn: dict[Architecture, None] = {}
    for _ in range(DRAWS_PER_MEMBER * pool):
        if len(drawn) == pool:
            break
        drawn.setdefault(ctx.space.sample(ctx.rng))
    scores = {arch: ctx.score(arch, proxy) for arch in drawn}
    return sorted(drawn, key=lambda a: -scores[a] if math.isfinite(scores[a]) else math.inf)


def initial(ctx: SearchContext, proxy: str | None, pool: int, size: int) -> list[Architecture]:
    """The warm start's first ``size`` members: the top of ``rank``; empty when ``proxy`` is None."""
    return [] if proxy is None else rank(ctx, proxy, pool)[:size]
