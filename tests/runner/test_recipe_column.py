"""A proposal's recommended recipe is trained as a second final column beside the shared recipe."""
import csv
import json

from nasbench.cli import main
from nasbench.registry import STRATEGIES
from nasbench.training import Recipe
from strategies.base import Strategy


class Recommends(Strategy):
    """Evaluates two architectures and recommends label smoothing over a 2-epoch schedule for each."""

    name = "recommends"

    def search(self, ctx):
        archs = [ctx.space.make((2, 0, 1)), ctx.space.make((0, 0, 0))]
        for arch in archs:
            ctx.evaluate(arch)
            ctx.recommend(arch, Recipe(label_smoothing=0.1, epochs=2))
        return archs


def test_own_recipe_metric_beside_the_shared_one(example_plugin, tmp_path):
    STRATEGIES.register(Recommends)
    try:
        assert main(["--space", "tiny", "--tasks", "blobs", "--strategies", "recommends,random", "--budget", "30",
                     "--seeds", "1", "--k", "2", "--out", str(tmp_path), "--no-progress", "--workers", "1"]) == 0
    finally:
        STRATEGIES.unregister("recommends")
    rows = list(csv.DictReader(open(tmp_path / "finals.csv")))
    own = [r for r in rows if r["strategy"] == "recommends"]
    assert len(own) == 2 and all(0 <= float(r["own_recipe_metric"]) <= 1 for r in own)
    assert all(r["own_recipe_metric"] == "" for r in rows if r["strategy"] == "random")
    cache = [json.loads(line) for line in open(tmp_path / "finals_cache.jsonl")]
    assert sum("|recipe:" in c["key"] for c in cache) == 2
    report = (tmp_path / "report.md").read_text()
    assert "## Architecture vs recipe" in report and "| blobs | recommends | 2 |" in report
