"""nasbench: compare neural architecture search strategies on one space, one ledger, one final recipe."""
from nasbench.context import SearchContext
from nasbench.errors import BudgetExhausted, ConfigError, InvalidArchitecture, NasBenchError
from nasbench.ledger import Ledger
from nasbench.records import Architecture, Cost, Evaluation, Fidelity, Status

__all__ = [
    "Architecture", "BudgetExhausted", "ConfigError", "Cost", "Evaluation", "Fidelity",
    "InvalidArchitecture", "Ledger", "NasBenchError", "SearchContext", "Status",
]
