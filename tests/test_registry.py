"""Strategies from other installed packages appear through the entry-point group."""

import strategies
from strategies.base import REGISTRY, Strategy


class _EntryPoint:
    def __init__(self, name, target):
        self.name, self._target = name, target

    def load(self):
        return self._target


def test_plugin_strategy_is_discovered_and_a_broken_one_is_skipped(monkeypatch):
    class PluginSearch(Strategy):
        name = "plugin-search"
        description = "from another package"

        def search(self, ctx):
            return []

    class Broken:
        name = "broken"

        def load(self):
            raise ImportError("missing dependency")

    def fake_entry_points(group=None):
        assert group == strategies.ENTRY_POINT_GROUP
        return [_EntryPoint("plugin-search", PluginSearch), Broken()]

    monkeypatch.setattr(strategies, "entry_points", fake_entry_points)
    monkeypatch.setattr(strategies, "_loaded", False)
    monkeypatch.delitem(REGISTRY, "plugin-search", raising=False)
    try:
        found = strategies.load_all()
        assert found["plugin-search"] is PluginSearch
        assert "random" in found and "broken" not in found
    finally:
        REGISTRY.pop("plugin-search", None)
