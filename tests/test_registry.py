"""Plug-ins from other installed packages: found through entry points; broken or colliding ones skipped."""
import pytest

from nasbench.errors import ConfigError
from nasbench.registry import Registry
from strategies.base import Strategy


class _EntryPoint:
    def __init__(self, name, target, value=None):
        self.name, self._target, self.value = name, target, value or f"plugin_pkg:{name}"

    def load(self):
        if isinstance(self._target, BaseException):
            raise self._target
        return self._target


class PluginSearch(Strategy):
    name = "plugin-search"
    description = "from another package"

    def search(self, ctx):
        return []


class Impostor(Strategy):
    name = "random"

    def search(self, ctx):
        return []


@pytest.fixture
def registry():
    import nasbench.registry as module
    from strategies.random_search import RandomSearch

    points = [
        _EntryPoint("random", RandomSearch, "strategies.random_search:RandomSearch"),
        _EntryPoint("plugin-search", PluginSearch),
        _EntryPoint("impostor", Impostor),
        _EntryPoint("broken", ImportError("missing dependency")),
        _EntryPoint("exits", SystemExit(0)),
        _EntryPoint("not-a-strategy", 42),
    ]
    return Registry("strategy", "nasbench.strategies", module._is_class_with("search"), finder=lambda group: points)


def test_plugins_are_found_and_bad_ones_are_skipped_with_one_warning_each(registry, caplog):
    found = registry.load()
    assert found["plugin-search"] is PluginSearch
    assert found["random"].__module__ == "strategies.random_search"  # the built-in keeps its name
    assert set(found) == {"random", "plugin-search"}
    assert len(registry.skipped) == 4
    assert any("takes the name 'random'" in m for m in registry.skipped)
    assert any("ImportError: missing dependency" in m for m in registry.skipped)
    assert any("SystemExit" in m for m in registry.skipped)
    assert all("\n" not in m for m in registry.skipped)


def test_unknown_names_list_the_choices(registry):
    with pytest.raises(ConfigError, match="unknown strategy 'nope'; choose from plugin-search, random"):
        registry.get("nope")


def test_list_survives_a_colliding_plugin(registry, monkeypatch, capsys):
    import nasbench.registry as module
    from nasbench.cli import main

    for attribute, value in (("_items", {}), ("_loaded", False), ("finder", registry.finder)):
        monkeypatch.setattr(module.STRATEGIES, attribute, value)
    assert main(["--list"]) == 0
    assert "plugin-search" in capsys.readouterr().out


def test_in_process_registration_refuses_a_taken_name():
    reg = Registry("strategy", "nasbench.test-empty-group")
    reg.register(PluginSearch)
    with pytest.raises(TypeError, match="taken by"):
        reg.register(type("Other", (Strategy,), {"name": "plugin-search", "search": lambda self, ctx: []}))


def test_every_built_in_strategy_space_and_task_describes_itself_for_the_list():
    from nasbench.registry import SPACES, STRATEGIES, TASKS

    for registry, text in ((STRATEGIES, lambda c: c.description), (TASKS, lambda c: c.description),
                           (SPACES, lambda c: c.__doc__)):
        for name in registry.names():
            assert (text(registry.get(name)) or "").strip(), f"{name} has nothing for --list to print"
