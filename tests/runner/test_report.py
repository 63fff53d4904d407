"""nasbench.runner.report: settings, definitions, significance marks, too-few-seeds path,
failures and audit sections, and a LaTeX export that is a well-formed booktabs tabular."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from nasbench.runner import report, stats

SETTINGS = {"settings": {"strategies": {"random": {}, "rea": {"population": 20, "sample": 5}}, "budget": 40,
                         "budget_macs": 1.2e13, "k": 5, "seeds": list(range(8))},
            "fingerprints": {"code": "c0ffee42"}, "versions": {"torch": "2.13.0", "moocore": "0.3.2"},
            "machine": {"cpu": "Test CPU 9000", "threads": 2}, "date": "2025-01-01"}


def runs_frame(n_seeds: int = 8, fail: tuple = ("rea", 2)) -> pd.DataFrame:
    """best clearly beats worst; mid is close to best; rea fails once."""
    rng = np.random.default_rng(0)
    rows = []
    for name, level in (("best", 0.7), ("mid", 0.695), ("worst", 0.5), ("rea", 0.6)):
        for seed in range(n_seeds):
            status = "failed: out of memory" if (name, seed) == fail else "ok"
            rows.append({"strategy": name, "task": "cls", "seed": seed, "status": status,
                         "hypervolume": level + rng.normal(0, 0.01), "selected_metric": level + 0.2 + rng.normal(0, 0.01),
                         "best_metric": level + 0.25, "compute_used": 39.0, "budget": 40.0, "budget_unit": "macs",
                         "compute_used_macs": 39.0, "wall_seconds": 2.0, "audit_flagged": (name, seed) == ("mid", 5),
                         "audit_expected_seconds": 1.0, "audit_unaccounted_seconds": 1.0})
    return pd.DataFrame(rows)


def test_render_has_settings_definitions_and_marks():
    runs = runs_frame()
    text = report.render(SETTINGS, runs, plots=["plots/pareto_cls.png", "plots/pareto_cls.pdf"])
    for needle in ("Test CPU 9000", "c0ffee42", "torch", "2.13.0", "`strategies.rea.population`: 20",
                   "0..7 (8 values)", "1.2e+13", "2025-01-01"):
        assert needle in text, needle
    assert json.loads(text.split("```json\n")[1].split("\n```")[0]) == SETTINGS  # full settings, copy-pasteable
    assert stats.DEFINITIONS["hypervolume"] in text and stats.DEFINITIONS["selected_metric"] in text
    results = text.split("## Results")[1].split("## Pairwise")[0]
    rows = {line.split("|")[2].strip(): line for line in results.splitlines() if line.startswith("| cls |")}
    assert "**" in rows["best"].split("|")[5]  # best median in bold
    assert report.DAGGER in rows["worst"].split("|")[5]  # significantly worse than the best
    assert report.DAGGER not in rows["mid"].split("|")[5]  # mid is not distinguishable from best
    assert f"{report.DAGGER}: significantly worse than the best" in text  # the legend
    assert "![pareto_cls](plots/pareto_cls.png)" in text and "plots/pareto_cls.pdf" in text
    assert "Wilcoxon" in text and "Holm" in text


def test_failures_and_audit_sections():
    text = report.render(SETTINGS, runs_frame())
    failures = text.split("## Failures")[1].split("##")[0]
    assert "| cls | rea | 8 | 1 | failed: out of memory |" in failures
    assert re.search(r"\| cls \| rea \| 7 \| 1 \|", text)  # 7 ok runs, 1 failed in the headline table
    audit = text.split("## Compute audit")[1].split("##")[0]
    assert "| mid | cls | 5 |" in audit and "1 run(s) flagged" in audit
    assert "Mann-Whitney" in text  # rea misses a seed, so its pairs are unpaired


def test_too_few_seeds_report_says_so():
    runs = runs_frame(n_seeds=3, fail=("none", 0))
    text = report.render(SETTINGS, runs)
    assert "Fewer than 5 ok seeds" in text
    assert "too few seeds (n<5)" in text
    results = text.split("## Results")[1].split("## Pairwise")[0]
    table_rows = [line for line in results.splitlines() if line.startswith("| cls |")]
    assert table_rows and not any(report.DAGGER in line for line in table_rows)
    assert "No Friedman test: too few blocks (n<5)" in text


def test_latex_table_is_a_booktabs_tabular():
    runs = runs_frame()
    runs.loc[runs["strategy"] == "rea", "strategy"] = "my_strategy&co"
    d, p = stats.describe(runs), stats.pairwise(runs)
    tex = report.latex_table(d, p)
    lines = tex.strip().splitlines()
    spec = re.fullmatch(r"\\begin\{tabular\}\{([lcr]+)\}", lines[0])
    assert spec and lines[-1] == r"\end{tabular}"
    assert lines[1] == r"\toprule" and lines[-2] == r"\bottomrule" and r"\midrule" in lines
    n_cols = len(spec.group(1))
    body = [ln for ln in lines[1:-1] if not ln.startswith("\\") or ln.startswith("\\textbf")]
    assert body, tex
    for line in body:
        assert line.endswith(r"\\")
        cells = re.split(r"(?<!\\)&", line[:-2])
        assert len(cells) == n_cols, line
    assert r"my\_strategy\&co" in tex and "my_strategy&co" not in tex  # escaped
    assert r"\textbf{" in tex and r"$^\dagger$" in tex
    assert tex.count("{") == tex.count("}")
    assert "best metric" not in tex  # the secondary metric stays out of the headline table


def test_write_report_folder(tmp_path):
    from test_results_api import archive_row, run_record, write_folder  # noqa: F401 (same tests folder)

    runs = [run_record(s, seed, hv=0.4 + 0.1 * (s == "rea") + 0.01 * seed) for s in ("random", "rea", "nsga2")
            for seed in range(5)]
    archive = [archive_row(s, seed, i) for s in ("random", "rea", "nsga2") for seed in range(5) for i in range(3)]
    folder = write_folder(tmp_path / "res", runs, archive, SETTINGS)
    written = report.write_report(folder)
    assert {"stats.csv", "report.md", "headline.tex", "plots/pareto_cls.png", "plots/cd.pdf"} <= set(written)
    table = pd.read_csv(folder / "stats.csv")
    assert list(table.columns) == stats.PAIRWISE_COLUMNS and len(table) == 3 * 2
    text = (folder / "report.md").read_text()
    assert "Test CPU 9000" in text and "![pareto_cls](plots/pareto_cls.png)" in text


def test_anytime_section_names_strategies_without_validation_estimates():
    runs = runs_frame()
    table = pd.DataFrame([{"task": "cls", "strategy": s, "fraction": f, "median": 0.5, "q25": 0.4, "q75": 0.6}
                          for s in ("best", "mid", "worst") for f in (0.5, 1.0)])
    text = report.anytime_block(table, runs=runs)
    assert "no curve: rea (e.g. a zero-shot search" in text and "best" not in text.split("no curve:")[1]
    assert "no curve" not in report.anytime_block(table[table["strategy"] != "rea"], runs=runs[runs["strategy"] != "rea"])
