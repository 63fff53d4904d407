"""Search spaces by name: the registry the runner and the CLI look spaces up in."""
from __future__ import annotations

from typing import Any

from nasbench.errors import ConfigError
from spaces.base import SearchSpace
from spaces.mobile import MobileSpace
from spaces.nb201 import NB201Space

SPACES: dict[str, type[SearchSpace]] = {
    "mobile": MobileSpace,
    "nb201": NB201Space,
}


def get_space(name: str, **kwargs: Any) -> SearchSpace:
    """A space instance by registered name; unknown names raise ``ConfigError`` listing the choices."""
    try:
        cls = SPACES[name]
    except KeyError:
        raise ConfigError(f"unknown search space {name!r}; choose from {', '.join(sorted(SPACES))}") from None
    return cls(**kwargs)
