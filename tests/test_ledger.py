import pytest

from nasbench.errors import BudgetExhausted, ConfigError
from nasbench.ledger import Ledger


def test_macs_budget_refuses_an_operation_that_would_overspend():
    ledger = Ledger(100, "macs")
    with ledger.operation(60):
        pass
    with pytest.raises(BudgetExhausted):
        with ledger.operation(41):
            raise AssertionError("the refused operation must not run")
    assert ledger.used == 60
    with ledger.operation(40):
        pass
    assert ledger.used == 100 and ledger.remaining == 0


def test_query_budget_counts_operations():
    ledger = Ledger(2, "queries")
    for _ in range(2):
        with ledger.operation(1e12):
            pass
    with pytest.raises(BudgetExhausted):
        with ledger.operation(0):
            pass
    assert ledger.spent.queries == 2 and ledger.spent.macs == 2e12


def test_seconds_budget_overspends_by_at_most_the_operation_in_flight():
    ledger = Ledger(0.01, "seconds")
    with ledger.operation(0):
        import time

        time.sleep(0.02)
    assert ledger.used >= 0.02
    with pytest.raises(BudgetExhausted):
        with ledger.operation(0):
            pass


@pytest.mark.parametrize("budget", [0, -1, float("nan"), float("inf")])
def test_invalid_budget_is_a_config_error(budget):
    with pytest.raises(ConfigError):
        Ledger(budget)


def test_unknown_unit_names_the_choices():
    with pytest.raises(ConfigError, match="macs, seconds, queries"):
        Ledger(1, "joules")


def test_a_known_seconds_charge_is_refused_up_front_and_charged_instead_of_the_wall_time():
    ledger = Ledger(10.0, "seconds")
    with ledger.operation(0, seconds=6.0):
        pass
    assert ledger.used == 6.0 and ledger.spent.wall_seconds < 1.0
    with pytest.raises(BudgetExhausted):
        with ledger.operation(0, seconds=4.5):
            raise AssertionError("the refused operation must not run")
    with ledger.operation(0, seconds=4.0):
        pass
    assert ledger.used == 10.0 and ledger.remaining == 0
    with pytest.raises(ValueError):
        with ledger.operation(0, seconds=-1.0):
            pass


def test_given_work_is_recorded_beside_the_budget_not_charged():
    ledger = Ledger(100, "macs")
    with ledger.given_operation("pretrained parent", 1e6, "parent training"):
        pass
    assert ledger.used == 0 and [(g.name, g.what, g.macs) for g in ledger.given] == [("pretrained parent", "parent training", 1e6)]
    assert ledger.to_dict()["given"][0]["macs"] == 1e6
