"""The runner on the synthetic benchmark: output contract, failure isolation, resume, bad input."""
import csv
import json

import numpy as np
import pytest

from nasbench.cli import main
from nasbench.comparison import Comparison, ComparisonConfig, normalized_hypervolume
from strategies.base import REGISTRY, Strategy


def toy_args(out, *extra):
    return ["--benchmark", "toy", "--tasks", "a", "--strategies", "random,rea", "--budget", "15",
            "--budget-unit", "evals", "--seeds", "2", "--k", "3", "--out", str(out), "--no-progress", "--workers", "1", *extra]


def test_output_contract(toy_benchmark, tmp_path, capsys):
    assert main(toy_args(tmp_path)) == 0
    summary = list(csv.DictReader(open(tmp_path / "summary.csv")))
    assert len(summary) == 4
    for col in ["strategy", "task", "seed", "hypervolume", "best_metric", "n_proposals", "compute_used",
                "budget", "wall_seconds", "status"]:
        assert col in summary[0]
    for row in summary:
        assert row["status"] == "ok"
        assert float(row["compute_used"]) <= float(row["budget"])
        assert 0 < float(row["hypervolume"]) < 1
        assert 1 <= int(row["n_proposals"]) <= 3
    finals = list(csv.DictReader(open(tmp_path / "finals.csv")))
    assert {"strategy", "task", "seed", "arch", "metric", "macs", "params", "latency_ms", "on_front"} <= set(finals[0])
    assert any(r["on_front"] == "True" for r in finals)
    archive = [json.loads(line) for line in open(tmp_path / "archive.jsonl")]
    assert len(archive) == sum(int(r["n_evaluations"]) for r in summary)
    assert all(a["split"] == "val" for a in archive)
    assert (tmp_path / "plots" / "pareto_a.png").stat().st_size > 1000
    report = (tmp_path / "report.md").read_text()
    assert "| random | a |" in report and "pareto_a.png" in report
    assert "hypervolume" in capsys.readouterr().out


def test_rerun_resumes_without_redoing_finished_runs(toy_benchmark, tmp_path):
    assert main(toy_args(tmp_path)) == 0
    before = (tmp_path / "runs.jsonl").read_text()
    assert main(toy_args(tmp_path)) == 0
    assert (tmp_path / "runs.jsonl").read_text() == before


def test_corrupt_results_file_is_a_one_line_error_and_is_kept(toy_benchmark, tmp_path, capsys):
    (tmp_path / "runs.jsonl").write_text('{"strategy": "random"\n')
    assert main(toy_args(tmp_path)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "runs.jsonl line 1" in err and "\n" not in err
    assert (tmp_path / "runs.jsonl").read_text() == '{"strategy": "random"\n'


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--strategies", "nope"], "unknown strategy 'nope'; choose from"),
        (["--tasks", "zzz"], "unknown task zzz for benchmark 'toy'; choose from a, b"),
        (["--preset", "huge"], "unknown preset 'huge'; choose from quick"),
        (["--budget", "-1"], "budget must be > 0"),
        (["--budget", "0"], "budget must be > 0"),
        (["--seeds", "0"], "seeds must be >= 1"),
        (["--budget-unit", "joules"], "unknown budget unit 'joules'; choose from evals"),
        (["--param", "rea.populaton=3"], "unknown parameter(s) populaton for strategy 'rea'; valid: population, sample"),
        (["--param", "oops"], "malformed --param"),
        (["--benchmark", "nope"], "unknown benchmark 'nope'; choose from embedded, nb201"),
        (["--workers", "0"], "workers must be >= 1"),
    ],
)
def test_bad_input_is_a_one_line_error_with_exit_2(toy_benchmark, tmp_path, capsys, extra, message):
    assert main(toy_args(tmp_path, *extra)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_unwritable_output_folder(toy_benchmark, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(toy_args(blocker / "sub")) == 2
    assert "not writable" in capsys.readouterr().err


def test_a_crashing_strategy_is_recorded_and_the_others_go_on(toy_benchmark, tmp_path, monkeypatch):
    class Crashes(Strategy):
        name = "crashes"
        description = "raises after one evaluation"

        def search(self, ctx):
            ctx.evaluate(ctx.space.sample(ctx.rng))
            raise RuntimeError("boom")

    monkeypatch.setitem(REGISTRY, "crashes", Crashes)
    config = ComparisonConfig(strategies=("crashes", "random"), tasks=("a",), benchmark="toy", budget=10, seeds=1, k=3)
    runs = Comparison(config, tmp_path).run()
    assert runs[0].status == "failed: RuntimeError: boom" and runs[0].finals == ()
    assert runs[1].status == "ok" and runs[1].finals


def test_too_many_proposals_fail_the_run(toy_benchmark, monkeypatch):
    class Greedy(Strategy):
        name = "greedy"

        def search(self, ctx):
            return [ctx.space.make((i,) * 6) for i in range(4)]

    monkeypatch.setitem(REGISTRY, "greedy", Greedy)
    config = ComparisonConfig(strategies=("greedy",), tasks=("a",), benchmark="toy", budget=10, k=3)
    (run,) = Comparison(config).run()
    assert run.status.startswith("failed: proposed 4") and run.hypervolume == 0.0


def test_normalized_hypervolume_is_the_dominated_area():
    # one point at error 0.2, MACs half the reference: dominated box (1-0.2) x (1-0.5)
    assert normalized_hypervolume(np.array([0.8]), np.array([50.0]), 100.0) == pytest.approx(0.4)
    assert normalized_hypervolume(np.array([]), np.array([]), 100.0) == 0.0


def test_list_shows_every_strategy(capsys):
    assert main(["--list", "-v"]) == 0
    out = capsys.readouterr().out
    for name in ("random", "rea", "nsga2"):
        assert name in out
    assert "population = 10" in out
