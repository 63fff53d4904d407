"""Seed shards run apart and merged by `run_compare.py report` give the report of one run over all seeds."""
import re

from nasbench.cli import main

COMMON = ["--space", "toy", "--tasks", "a", "--strategies", "random,rea,nsga2", "--budget", "10", "--k", "3",
          "--no-progress", "--workers", "1"]


def body(path):
    """report.md without the lines that name folders."""
    return re.sub(r"/tmp/\S+", "", path.read_text())


def test_two_shards_merge_into_the_report_of_one_run(toy_benchmark, tmp_path, capsys):
    assert main(COMMON + ["--seeds", "10", "--out", str(tmp_path / "all")]) == 0
    assert main(COMMON + ["--seeds", "5", "--out", str(tmp_path / "s0")]) == 0
    assert main(COMMON + ["--seed-start", "5", "--seeds", "5", "--out", str(tmp_path / "s1")]) == 0
    assert main(["report", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(tmp_path / "merged")]) == 0
    for name in ("summary.csv", "stats.csv", "finals.csv", "headline.tex"):
        merged, whole = (tmp_path / "merged" / name).read_text(), (tmp_path / "all" / name).read_text()
        if name == "summary.csv":  # timing columns differ between runs
            merged, whole = (re.sub(r",[0-9.e-]+,[0-9.e-]+,False", "", t) for t in (merged, whole))
        assert merged == whole, name
    assert "p_holm" in (tmp_path / "merged" / "stats.csv").read_text()
    assert body(tmp_path / "merged" / "report.md") == body(tmp_path / "all" / "report.md")


def test_shards_of_other_settings_are_refused(toy_benchmark, tmp_path, capsys):
    assert main(COMMON + ["--seeds", "2", "--out", str(tmp_path / "s0")]) == 0
    assert main(COMMON + ["--seed-start", "2", "--seeds", "2", "--k", "2", "--out", str(tmp_path / "s1")]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "k: 3" in err and err.count("\n") == 1


def test_overlapping_shards_are_refused(toy_benchmark, tmp_path, capsys):
    assert main(COMMON + ["--seeds", "2", "--out", str(tmp_path / "s0")]) == 0
    assert main(COMMON + ["--seeds", "3", "--out", str(tmp_path / "s1")]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(tmp_path / "m")]) == 2
    assert "shards must hold disjoint seeds" in capsys.readouterr().err
