"""Known-answer tests of nasbench.runner.stats: effect sizes, corrections, tests, CIs, ranks, EAF, IGD+."""
from __future__ import annotations

import math

import moocore
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from nasbench import indicators
from nasbench.runner import stats


def frame(values: dict[str, list[float | None]], *, task: str = "cls", metric: str = "hypervolume",
          seeds: dict[str, list[int]] | None = None, status: dict[tuple[str, int], str] | None = None) -> pd.DataFrame:
    """Run rows: one per (strategy, seed) with ``metric`` set; ``status`` overrides "ok" per (strategy, seed)."""
    rows = []
    for strategy, vals in values.items():
        for i, v in enumerate(vals):
            seed = (seeds or {}).get(strategy, list(range(len(vals))))[i]
            rows.append({"strategy": strategy, "task": task, "seed": seed,
                         "status": (status or {}).get((strategy, seed), "ok"), metric: v})
    return pd.DataFrame(rows)


# -- effect size and correction -------------------------------------------------------------------
def test_a12_known_answers():
    assert stats.a12([1, 2, 3], [0, 0, 0]) == 1.0
    assert stats.a12([0, 0, 0], [1, 2, 3]) == 0.0
    assert stats.a12([1, 2, 3], [1, 2, 3]) == 0.5
    assert stats.a12([1, 1], [1, 1]) == 0.5  # ties count half
    assert stats.a12([1, 2], [1, 3]) == pytest.approx((0.5 + 0 + 1 + 0) / 4)
    assert stats.a12([1, 2, 3], [0, 0, 0], direction="lower") == 0.0


def test_holm_known_set():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone: 0.06 for the last
    np.testing.assert_allclose(stats.holm(p), [0.03, 0.06, 0.06, 0.02])
    out = stats.holm([0.2, np.nan, 0.6])
    assert math.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], [0.4, 0.6])  # NaN does not count as a test
    assert stats.holm([0.9, 0.8])[0] == 1.0  # capped at 1


# -- pairwise -------------------------------------------------------------------------------------
def test_pairwise_columns_and_wilcoxon_matches_scipy():
    rng = np.random.default_rng(1)
    a = rng.normal(0.6, 0.05, 8)
    b = a - rng.uniform(0.0, 0.04, 8) + rng.normal(0, 0.01, 8)
    table = stats.pairwise(frame({"x": list(a), "y": list(b)}))
    assert list(table.columns) == stats.PAIRWISE_COLUMNS
    row = table.iloc[0]
    ref = sps.wilcoxon(a, b)
    assert row["statistic"] == pytest.approx(ref.statistic)
    assert row["p_value"] == pytest.approx(ref.pvalue)
    assert row["p_holm"] == pytest.approx(ref.pvalue)  # one pair: Holm leaves p unchanged
    assert row["n"] == 8
    assert row["wins"] + row["ties"] + row["losses"] == 8
    assert row["wins"] == int(np.sum(a > b)) and row["losses"] == int(np.sum(a < b))
    assert row["a12"] == pytest.approx(stats.a12(a, b))


def test_pairwise_mann_whitney_when_seeds_differ():
    a, b = [0.9, 0.8, 0.85, 0.95, 0.88, 0.91], [0.5, 0.6, 0.55, 0.52, 0.58]
    runs = frame({"x": a, "y": b}, seeds={"x": list(range(6)), "y": [0, 1, 2, 3, 7]})
    row = stats.pairwise(runs).iloc[0]
    ref = sps.mannwhitneyu(a, b, alternative="two-sided")
    assert row["statistic"] == pytest.approx(ref.statistic)
    assert row["p_value"] == pytest.approx(ref.pvalue)
    assert row["n"] == 5
    assert row["verdict"] == "a better"
    assert stats.test_used(runs, "cls", "hypervolume", "x", "y") == "Mann-Whitney"


def test_verdict_sides_and_direction():
    good, bad = [0.9, 0.91, 0.92, 0.93, 0.94, 0.95], [0.5, 0.51, 0.52, 0.53, 0.54, 0.55]
    assert stats.pairwise(frame({"a": good, "b": bad})).iloc[0]["verdict"] == "a better"
    assert stats.pairwise(frame({"a": bad, "b": good})).iloc[0]["verdict"] == "b better"
    # igd: lower is better, so the larger values lose
    lower = stats.pairwise(frame({"a": good, "b": bad}, metric="igd"), ["igd"]).iloc[0]
    assert lower["verdict"] == "b better" and lower["a12"] == 0.0 and lower["losses"] == 6
    flipped = stats.pairwise(frame({"a": good, "b": bad}), directions={"hypervolume": "lower"}).iloc[0]
    assert flipped["verdict"] == "b better"


def test_all_zero_differences_give_p_one():
    same = [0.5, 0.6, 0.7, 0.8, 0.9, 0.4]
    row = stats.pairwise(frame({"a": same, "b": list(same)})).iloc[0]
    assert row["p_value"] == 1.0 and row["statistic"] == 0.0
    assert row["verdict"] == "no significant difference"
    assert (row["wins"], row["ties"], row["losses"]) == (0, 6, 0)


def test_holm_is_applied_within_each_task_metric_table():
    rng = np.random.default_rng(3)
    values = {s: list(rng.normal(0.5 + 0.02 * i, 0.02, 7)) for i, s in enumerate("abcd")}
    runs = pd.concat([frame(values, task="cls"), frame(values, task="det")])
    table = stats.pairwise(runs)
    assert len(table) == 2 * 6
    for _, group in table.groupby("task"):
        np.testing.assert_allclose(group["p_holm"], stats.holm(group["p_value"].to_numpy()))


def test_too_few_seeds_no_test():
    table = stats.pairwise(frame({"a": [0.9, 0.8, 0.95, 0.85], "b": [0.1, 0.2, 0.3, 0.25]}))
    row = table.iloc[0]
    assert row["verdict"] == "too few seeds (n<5)"
    assert math.isnan(row["p_value"]) and math.isnan(row["p_holm"]) and math.isnan(row["statistic"])
    assert row["a12"] == 1.0 and row["wins"] == 4  # descriptive columns still filled


def test_failed_runs_excluded_and_counted():
    values = {"a": [0.5, 0.6, 0.7, 0.0, 0.8, 0.9], "b": [0.4] * 6}
    runs = frame(values, status={("a", 3): "failed: out of memory"})
    d = stats.describe(runs, ["hypervolume"])
    a = d[d["strategy"] == "a"].iloc[0]
    assert a["n"] == 5 and a["n_failed"] == 1
    assert a["mean"] == pytest.approx(np.mean([0.5, 0.6, 0.7, 0.8, 0.9]))  # the failed run's 0 is not averaged
    f = stats.failures(runs)
    assert f.set_index("strategy").loc["a", "n_failed"] == 1
    assert f.set_index("strategy").loc["a", "reasons"] == "failed: out of memory"
    # a now misses seed 3: no longer the same seeds, so the unpaired test is used
    assert stats.test_used(runs, "cls", "hypervolume", "a", "b") == "Mann-Whitney"


def test_strategy_whose_runs_all_failed_still_listed():
    runs = frame({"a": [0.5] * 5, "b": [0.4] * 5}, status={("b", s): "timeout: 60s" for s in range(5)})
    d = stats.describe(runs, ["hypervolume"]).set_index("strategy")
    assert d.loc["b", "n"] == 0 and d.loc["b", "n_failed"] == 5 and math.isnan(d.loc["b", "mean"])
    assert stats.pairwise(runs).iloc[0]["verdict"] == "too few seeds (n<5)"


# -- descriptive ----------------------------------------------------------------------------------
def test_bootstrap_ci_contains_mean_and_is_deterministic():
    x = np.random.default_rng(0).normal(10, 2, 30)
    low, high = stats.bootstrap_ci(x)
    assert low < x.mean() < high
    assert (low, high) == stats.bootstrap_ci(x)  # seeded
    assert (low, high) != stats.bootstrap_ci(x, seed=1)
    wider = stats.bootstrap_ci(x, confidence=0.99)
    assert wider[0] < low and wider[1] > high
    # roughly the normal-theory interval
    se = x.std(ddof=1) / math.sqrt(len(x))
    assert high - low == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert stats.bootstrap_ci([3.0]) == (3.0, 3.0)
    assert all(math.isnan(v) for v in stats.bootstrap_ci([]))


def test_describe_known_quantiles():
    d = stats.describe(frame({"a": [1.0, 2.0, 3.0, 4.0, 5.0]}), ["hypervolume"]).iloc[0]
    assert list(d.index) == stats.DESCRIBE_COLUMNS
    assert (d["n"], d["median"], d["q25"], d["q75"], d["mean"]) == (5, 3.0, 2.0, 4.0, 3.0)
    assert d["ci_low"] <= 3.0 <= d["ci_high"]


def test_headline_metrics_per_benchmark():
    emb = frame({"a": [0.5]})
    assert stats.headline_metrics(emb, "cls") == ("hypervolume", "selected_metric")
    nb = frame({"a": [0.9]}, task="cifar10", metric="hv_ratio")
    assert stats.headline_metrics(nb, "cifar10") == ("hv_ratio", "best_test_acc")
    flat = stats.flatten_runs([{"strategy": "a", "task": "cifar10", "seed": 0, "status": "ok",
                                "indicators": {"hv_ratio": 0.9, "best_test_acc": 93.1},
                                "audit": {"flagged": True}, "finals": [{}, {}]}])
    assert flat.iloc[0]["hv_ratio"] == 0.9 and bool(flat.iloc[0]["audit_flagged"]) and flat.iloc[0]["n_proposals"] == 2
    assert all(m in stats.DEFINITIONS for m in stats.HEADLINES_EMBEDDED + stats.HEADLINES_NB201 + stats.SECONDARY)


# -- Friedman / Nemenyi ---------------------------------------------------------------------------
def test_friedman_consistent_order():
    runs = frame({"a": [0.9, 0.8, 0.85, 0.95, 0.7, 0.75], "b": [0.6, 0.5, 0.55, 0.65, 0.4, 0.45],
                  "c": [0.3, 0.2, 0.25, 0.35, 0.1, 0.15]})
    res = stats.friedman(runs)
    assert list(res.ranks["strategy"]) == ["a", "b", "c"]
    np.testing.assert_allclose(res.ranks["mean_rank"], [1, 2, 3])
    values = [runs[runs["strategy"] == s]["hypervolume"].to_numpy() for s in "abc"]
    assert res.p_value == pytest.approx(sps.friedmanchisquare(*values).pvalue)
    assert res.cd == pytest.approx(2.344 * math.sqrt(3 * 4 / (6 * 6)))
    assert res.n_blocks == 6 and res.blocks == "task_seed"


def test_friedman_blocks_by_task_means_and_incomplete_blocks():
    runs = pd.concat([frame({"a": [0.9] * 5, "b": [0.5] * 5, "c": [0.1] * 5}, task=t) for t in ("cls", "det")])
    runs.loc[(runs["strategy"] == "c") & (runs["seed"] == 0) & (runs["task"] == "cls"), "status"] = "failed: x"
    by_seed = stats.friedman(runs)
    assert by_seed.n_blocks == 9 and by_seed.n_dropped == 1
    by_task = stats.friedman(runs, blocks="task")
    assert by_task.n_blocks == 2 and not by_task.tested and "too few blocks" in by_task.note
    two = stats.friedman(frame({"a": [1.0] * 6, "b": [0.0] * 6}))
    assert not two.tested and "3 strategies" in two.note


def test_nemenyi_table_matches_studentized_range():
    for k, q in stats.NEMENYI_Q05.items():
        exact = sps.studentized_range.ppf(0.95, k, np.inf) / math.sqrt(2)
        assert q == pytest.approx(exact, abs=2e-3), k


# -- indicators -----------------------------------------------------------------------------------
def test_igd_plus_known_answer_and_normalisation():
    front = np.array([[0.0, 10.0], [1.0, 0.0]])  # ideal (0, 0), nadir (1, 10)
    assert stats.igd_plus(front, front) == 0.0
    # (0.5, 5) -> (0.5, 0.5): d+ to (0, 1) is 0.5, to (1, 0) is 0.5
    assert stats.igd_plus([[0.5, 5.0]], front) == pytest.approx(0.5)
    pts = np.array([[0.2, 6.0], [0.7, 2.0]])
    ideal, nadir = front.min(0), front.max(0)
    expected = moocore.igd_plus(indicators.normalize(pts, ideal, nadir), ref=indicators.normalize(front, ideal, nadir))
    assert stats.igd_plus(pts, front) == pytest.approx(expected)
    # Pareto compliance: adding a dominated point never makes it worse; a dominating point improves it
    assert stats.igd_plus(np.vstack([pts, [[0.9, 9.0]]]), front) == pytest.approx(stats.igd_plus(pts, front))
    assert stats.igd_plus(np.vstack([pts, [[0.1, 1.0]]]), front) < stats.igd_plus(pts, front)
    assert stats.igd_plus(np.zeros((0, 2)), front) == math.inf


# -- anytime --------------------------------------------------------------------------------------
def _archive_rows(strategy="a", seed=0, task="cls", rows=((10, 0.5, 50), (50, 0.8, 90), (100, 0.9, 20)),
                  test=None):
    out = []
    for i, (used, metric, macs) in enumerate(rows):
        out.append({"strategy": strategy, "task": task, "seed": seed, "index": i, "budget_used": float(used),
                    "budget": 100.0, "metric": metric, "macs": macs, "status": "ok",
                    "test_metric": None if test is None else test[i]})
    return out


def test_anytime_curve_hand_computed():
    runs = pd.DataFrame([{"strategy": "a", "task": "cls", "seed": 0, "status": "ok", "reference_macs": 100.0},
                         {"strategy": "b", "task": "cls", "seed": 0, "status": "failed: x", "reference_macs": 100.0}])
    archive = pd.DataFrame(_archive_rows() + _archive_rows(strategy="b"))
    curves = stats.anytime_curves(archive, runs, fractions=[0.0, 0.1, 0.49, 0.5, 1.0])
    assert set(curves["strategy"]) == {"a"}  # the failed run's archive is not used
    hv = dict(zip(curves["fraction"], curves["hv"]))
    # points (1 - metric, macs / 100): (0.5, 0.5) then (0.2, 0.9) then (0.1, 0.2)
    assert hv[0.0] == 0.0
    assert hv[0.1] == pytest.approx(0.25) and hv[0.49] == pytest.approx(0.25)
    assert hv[0.5] == pytest.approx(0.25 + 0.3 * 0.1)
    assert hv[1.0] == pytest.approx(0.9 * 0.8)
    table = stats.anytime_table(stats.anytime_curves(archive, runs))
    assert list(table["fraction"]) == [0.1, 0.25, 0.5, 1.0]
    assert table["median"].iloc[-1] == pytest.approx(0.72)


def test_anytime_test_side_hv_ratio():
    runs = pd.DataFrame([{"strategy": "a", "task": "c10", "seed": 0, "status": "ok", "reference_macs": 100.0}])
    archive = pd.DataFrame(_archive_rows(task="c10", test=[0.45, 0.7, 0.85]))
    true_front = np.array([[0.05, 10.0], [0.1, 5.0], [0.6, 1.0]])
    curves = stats.anytime_curves(archive, runs, fractions=[0.1, 1.0], true_fronts={"c10": true_front})
    final = curves[curves["fraction"] == 1.0].iloc[0]
    # at 100 % the validation front is the third point alone (it dominates both others on validation)
    assert final["hv_ratio_test"] == pytest.approx(indicators.hv_ratio([[0.15, 20]], true_front))
    first = curves[curves["fraction"] == 0.1].iloc[0]
    assert first["hv_ratio_test"] == pytest.approx(indicators.hv_ratio([[0.55, 50]], true_front))


# -- attainment -----------------------------------------------------------------------------------
def _finals(strategy: str, fronts: dict[int, list[tuple[float, float]]], task: str = "cls") -> pd.DataFrame:
    return pd.DataFrame([{"strategy": strategy, "task": task, "seed": seed, "metric": 1.0 - err, "macs": macs,
                          "status": "ok"} for seed, pts in fronts.items() for err, macs in pts])


def test_eaf_median_of_identical_fronts_is_the_front():
    front = [(0.3, 1e5), (0.2, 1e6), (0.1, 1e7)]
    surf = stats.attainment(_finals("a", {s: front for s in range(5)}))
    for p in (25, 50, 75):
        got = surf[surf["percentile"] == p][["error", "macs"]].to_numpy()
        np.testing.assert_allclose(got, np.array(front), err_msg=str(p))
    assert set(surf["n_sets"]) == {5}


def test_eaf_matches_moocore_and_counts_empty_sets():
    fronts = {s: [(10 - s, s + 1), (5 - s, s + 5)] for s in range(4)}  # (error, macs)
    finals = _finals("a", fronts)
    surf = stats.attainment(finals, percentiles=[50])
    data = np.array([(e, m) for s in range(4) for e, m in fronts[s]], float)
    ref = moocore.eaf(data, np.repeat(np.arange(1, 5), 2), percentiles=[50])
    got = surf[["error", "macs"]].to_numpy()
    np.testing.assert_allclose(got[np.lexsort(got.T[::-1])], ref[np.lexsort(ref[:, :2].T[::-1])][:, :2])
    # two more ok runs without any ok final: 6 sets, so the 75 % surface needs ceil(4.5) = 5 > 4 attaining sets
    runs = pd.DataFrame([{"strategy": "a", "task": "cls", "seed": s, "status": "ok"} for s in range(6)])
    with_empty = stats.attainment(finals, runs)
    assert set(with_empty["n_sets"]) == {6}
    assert with_empty[with_empty["percentile"] == 75].empty
    # 50 % of 6 sets = level 3 of the 4 non-empty ones
    level3 = moocore.eaf(data, np.repeat(np.arange(1, 5), 2), percentiles=[75])[:, :2]
    got = with_empty[with_empty["percentile"] == 50][["error", "macs"]].to_numpy()
    np.testing.assert_allclose(np.sort(got, axis=0), np.sort(level3, axis=0))
