"""Search spaces, registered by name through the ``nasbench.spaces`` entry-point group (built-ins too)."""
from __future__ import annotations

from typing import Any

from nasbench.registry import SPACES
from spaces.base import SearchSpace


def get_space(name: str, **kwargs: Any) -> SearchSpace:
    """A space instance by registered name; unknown names raise ``ConfigError`` listing the choices."""
    return SPACES.get(name)(**kwargs)


__all__ = ["SearchSpace", "get_space"]
