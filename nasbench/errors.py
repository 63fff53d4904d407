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

    Raised *before* the operation runs, so nothing overspends; strategies let it end their
    search (``with contextlib.suppress(BudgetExhausted)``) and the runner treats it as a normal end.
    """
