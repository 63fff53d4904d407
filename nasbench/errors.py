"""One exception hierarchy for the library; the CLI maps ``NasBenchError`` to exit code 2."""
from __future__ import annotations


class NasBenchError(Exception):
    """Base class of every error the library raises on purpose."""


class ConfigError(NasBenchError, ValueError):
    """A user-supplied setting is invalid (unknown name, bad number, unwritable path...)."""


class InvalidArchitecture(NasBenchError, ValueError):
    """A genotype is not a member of its search space."""


class CorruptResults(NasBenchError):
    """A results file on disk cannot be read back."""


class BudgetExhausted(NasBenchError):
    """Control flow, not failure: the operation would exceed the search budget.

    Raised *before* the operation runs, so nothing overspends. ``Strategy.run`` treats it as
    the normal end of a search and asks the strategy for its proposals (``propose``).
    """


class SearchTimeout(BaseException):
    """The search ran past its wall-clock deadline: every ``ctx`` call raises it from then on.

    Derives from ``BaseException``, not ``Exception``, like ``KeyboardInterrupt``: a strategy's
    ``except Exception`` cannot swallow it, so the runner always regains control.
    """
