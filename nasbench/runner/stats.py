"""Statistics a reviewer accepts, over the runs of one comparison.

Pure functions over pandas DataFrames of run rows (one row per (strategy, task, seed) with
``status`` and metric columns; NAS-Bench-201's ``indicators`` flattened to columns, see
:func:`flatten_runs`), of archive rows (anytime curves) and of final-candidate rows (attainment).

Rules applied everywhere:
- only runs with status ``"ok"`` enter statistics; failed runs are counted (``n_failed``), never
  averaged as 0; an ok run with a missing value for a metric is left out of that metric only;
- every headline metric is "higher is better" (see :data:`DIRECTIONS` for the others);
- with fewer than ``min_seeds`` (5) values per strategy no test is run: the verdict says so.
Nothing here imports ``spaces`` or ``strategies``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Iterable, Mapping, Sequence

import moocore
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as sps

from nasbench import indicators

# -- metric definitions ---------------------------------------------------------------------------
HEADLINES_EMBEDDED: tuple[str, ...] = ("hypervolume", "selected_metric")
HEADLINES_NB201: tuple[str, ...] = ("hv_ratio", "best_test_acc")
SECONDARY: tuple[str, ...] = ("best_metric",)

#: One-line definition of every metric the report shows.
DEFINITIONS: dict[str, str] = {
    "hypervolume": "hypervolume of the final (test-split) front of the run's proposals on "
                   "(1 - test metric, MACs / MACs of the space's largest network), reference point (1, 1); in [0, 1]",
    "selected_metric": "test metric of the proposal the search rated best on the validation split (what would be deployed)",
    "hv_ratio": "HV of the proposals' test front / HV of the true Pareto front of the table, both normalised "
                "by the true front's ideal and nadir (EvoXBench convention; 1 = the true front)",
    "best_test_acc": "test accuracy (%) of the proposal the search rated best on the validation split",
    "best_metric": "secondary: best test metric among the proposals, chosen on the test split (optimistic)",
    "igd": "IGD of the proposals' test front to the true front, normalised objectives (lower is better)",
    "igd_plus": "IGD+ (Pareto-compliant IGD) of the proposals' test front to the true front, normalised objectives "
                "(lower is better)",
}

#: "higher" or "lower" is better; metrics not listed are "higher".
DIRECTIONS: dict[str, str] = {"igd": "lower", "igd_plus": "lower"}

#: Nemenyi two-tailed critical values q_0.05 (studentized range / sqrt 2, infinite df), k = 2..20
#: (Demšar 2006, Table 5a, extended with scipy.stats.studentized_range).
NEMENYI_Q05: dict[int, float] = {
    2: 1.960, 3: 2.344, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164,
    11: 3.219, 12: 3.268, 13: 3.313, 14: 3.354, 15: 3.391, 16: 3.426, 17: 3.458, 18: 3.489, 19: 3.517, 20: 3.544,
}

MIN_SEEDS = 5
PAIRWISE_COLUMNS: list[str] = [
    "task", "metric", "strategy_a", "strategy_b", "n", "statistic", "p_value", "p_holm", "a12",
    "wins", "ties", "losses", "verdict",
]
DESCRIBE_COLUMNS: list[str] = [
    "task", "metric", "strategy", "n", "n_failed", "median", "q25", "q75", "mean", "ci_low", "ci_high",
]


def direction(metric: str) -> str:
    """'higher' or 'lower': which way ``metric`` is better."""
    return DIRECTIONS.get(metric, "higher")


# -- run rows -------------------------------------------------------------------------------------
def flatten_runs(runs: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Run records (as in runs.jsonl) as one flat row each: ``indicators`` become columns,
    ``audit`` becomes ``audit_flagged``/``audit_expected_seconds``/``audit_unaccounted_seconds``,
    ``finals`` becomes ``n_proposals``; a frame that is already flat is returned as a copy."""
    if isinstance(runs, pd.DataFrame):
        if "indicators" not in runs.columns and "audit" not in runs.columns:
            return runs.copy()
        runs = runs.to_dict("records")
    rows = []
    for record in runs:
        row = {k: v for k, v in record.items() if k not in ("indicators", "audit", "finals")}
        for key, value in (record.get("indicators") or {}).items():
            row[key] = value
        audit = record.get("audit") or {}
        row["audit_flagged"] = bool(audit.get("flagged", False))
        row["audit_expected_seconds"] = audit.get("expected_seconds")
        row["audit_unaccounted_seconds"] = audit.get("unaccounted_seconds")
        if "finals" in record:
            row["n_proposals"] = len(record.get("finals") or [])
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col in ("strategy", "task", "seed", "status"):
        if col not in frame.columns:
            frame[col] = pd.Series(dtype=object)
    return frame


def is_ok(runs: pd.DataFrame) -> pd.Series:
    """Boolean mask of the runs that enter statistics (status exactly "ok")."""
    return runs["status"].astype(str) == "ok"


def ok_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Only the runs with status "ok"."""
    return runs[is_ok(runs)]


def is_nb201_task(runs: pd.DataFrame, task: str) -> bool:
    """True when ``task``'s rows carry an ``hv_ratio`` (a tabular benchmark with a known true front)."""
    if "hv_ratio" not in runs.columns:
        return False
    return bool(runs.loc[runs["task"] == task, "hv_ratio"].notna().any())


def headline_metrics(runs: pd.DataFrame, task: str) -> tuple[str, ...]:
    """The headline metrics of ``task``: (hv_ratio, best_test_acc) on NAS-Bench-201, else
    (hypervolume, selected_metric)."""
    return HEADLINES_NB201 if is_nb201_task(runs, task) else HEADLINES_EMBEDDED


def _tasks(runs: pd.DataFrame) -> list[str]:
    return sorted(runs["task"].dropna().astype(str).unique())


def _strategies(runs: pd.DataFrame, task: str | None = None) -> list[str]:
    rows = runs if task is None else runs[runs["task"] == task]
    return sorted(rows["strategy"].dropna().astype(str).unique())


def _metrics_for(runs: pd.DataFrame, task: str, metrics: Sequence[str] | None, secondary: bool) -> list[str]:
    if metrics is None:
        metrics = list(headline_metrics(runs, task)) + (list(SECONDARY) if secondary else [])
    return [m for m in metrics if m in runs.columns]


def failures(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (task, strategy): n_runs, n_ok, n_failed and the distinct non-ok statuses (reasons)."""
    rows = []
    for (task, strategy), group in runs.groupby(["task", "strategy"], sort=True):
        ok = is_ok(group)
        reasons = sorted(set(group.loc[~ok, "status"].astype(str)))
        rows.append({"task": task, "strategy": strategy, "n_runs": len(group), "n_ok": int(ok.sum()),
                     "n_failed": int((~ok).sum()), "reasons": "; ".join(reasons)})
    return pd.DataFrame(rows, columns=["task", "strategy", "n_runs", "n_ok", "n_failed", "reasons"])


def values_by_seed(runs: pd.DataFrame, task: str, metric: str, strategy: str) -> pd.Series:
    """Values of ``metric`` of ``strategy``'s ok runs on ``task``, indexed by seed (missing values dropped)."""
    rows = runs[(runs["task"] == task) & (runs["strategy"] == strategy) & is_ok(runs)]
    series = pd.Series(pd.to_numeric(rows[metric], errors="coerce").to_numpy(dtype=float),
                       index=rows["seed"].to_numpy())
    series = series[~series.index.duplicated(keep="last")].dropna()
    return series.sort_index()


# -- descriptive statistics -----------------------------------------------------------------------
def bootstrap_ci(values: ArrayLike, *, n_boot: int = 10_000, confidence: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean (numpy only, seeded: deterministic).

    One value gives a degenerate interval (the value itself); none gives (nan, nan).
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return math.nan, math.nan
    if len(x) == 1 or np.all(x == x[0]):
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    chunk = max(1, 2_000_000 // len(x))  # bounded memory for many seeds
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        means[start:stop] = x[rng.integers(0, len(x), size=(stop - start, len(x)))].mean(axis=1)
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def describe(runs: pd.DataFrame, metrics: Sequence[str] | None = None, *, n_boot: int = 10_000,
             confidence: float = 0.95, seed: int = 0, secondary: bool = True) -> pd.DataFrame:
    """Per (task, metric, strategy): n (ok runs with a value), n_failed (runs not ok), median,
    q25, q75, mean and the ``confidence`` bootstrap CI of the mean (``seed``-ed, deterministic).

    ``metrics`` defaults to each task's headline metrics plus ``best_metric`` (secondary).
    A strategy whose runs all failed still gets a row (n = 0, NaN statistics).
    """
    runs = flatten_runs(runs)
    rows = []
    for task in _tasks(runs):
        task_rows = runs[runs["task"] == task]
        for metric in _metrics_for(runs, task, metrics, secondary):
            for strategy in _strategies(runs, task):
                mine = task_rows[task_rows["strategy"] == strategy]
                x = values_by_seed(runs, task, metric, strategy).to_numpy()
                n_failed = int((~is_ok(mine)).sum())
                if len(x):
                    q25, med, q75 = np.quantile(x, [0.25, 0.5, 0.75])
                    low, high = bootstrap_ci(x, n_boot=n_boot, confidence=confidence, seed=seed)
                    stats_ = dict(median=float(med), q25=float(q25), q75=float(q75), mean=float(x.mean()),
                                  ci_low=low, ci_high=high)
                else:
                    stats_ = dict(median=math.nan, q25=math.nan, q75=math.nan, mean=math.nan,
                                  ci_low=math.nan, ci_high=math.nan)
                rows.append({"task": task, "metric": metric, "strategy": strategy, "n": len(x),
                             "n_failed": n_failed, **stats_})
    return pd.DataFrame(rows, columns=DESCRIBE_COLUMNS)


# -- pairwise tests -------------------------------------------------------------------------------
def a12(a: ArrayLike, b: ArrayLike, direction: str = "higher") -> float:
    """Vargha-Delaney A12: probability that a value of ``a`` beats one of ``b`` (ties count half),
    over all pairs; "beats" means larger when ``direction`` is "higher", smaller when "lower"."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) == 0 or len(y) == 0:
        return math.nan
    if direction == "lower":
        x, y = -x, -y
    elif direction != "higher":
        raise ValueError(f"direction must be 'higher' or 'lower', got {direction!r}")
    greater = (x[:, None] > y[None, :]).sum()
    equal = (x[:, None] == y[None, :]).sum()
    return float((greater + 0.5 * equal) / (len(x) * len(y)))


def holm(pvalues: ArrayLike) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1); NaN entries are
    passed through and do not count towards the number of tests."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = len(valid)
    if m == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out


def paired_wilcoxon(a: ArrayLike, b: ArrayLike) -> tuple[float, float, float]:
    """Two-sided Wilcoxon signed-rank test of paired ``a - b`` (scipy, zero differences dropped).

    Returns (statistic, p_value, signed rank sum r_plus - r_minus); all-zero differences give
    (0, 1, 0) instead of scipy's warning.
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    nonzero = d[d != 0]
    if len(nonzero) == 0:
        return 0.0, 1.0, 0.0
    ranks = sps.rankdata(np.abs(nonzero))
    signed = float(ranks[nonzero > 0].sum() - ranks[nonzero < 0].sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = sps.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
    return float(result.statistic), float(result.pvalue), signed


def mann_whitney(a: ArrayLike, b: ArrayLike) -> tuple[float, float]:
    """Two-sided Mann-Whitney U test (scipy); returns (U of ``a``, p_value); p = 1 when every value is equal."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if np.all(np.concatenate([x, y]) == x[0]):
        return float(len(x) * len(y) / 2), 1.0
    result = sps.mannwhitneyu(x, y, alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


def test_used(runs: pd.DataFrame, task: str, metric: str, strategy_a: str, strategy_b: str,
              min_seeds: int = MIN_SEEDS) -> str:
    """Which test :func:`pairwise` runs for this pair: "Wilcoxon" (same seeds), "Mann-Whitney" or "none"."""
    a = values_by_seed(runs, task, metric, strategy_a)
    b = values_by_seed(runs, task, metric, strategy_b)
    paired = len(a) > 0 and len(a) == len(b) and set(a.index) == set(b.index)
    n = len(a) if paired else min(len(a), len(b))
    if n < min_seeds:
        return "none"
    return "Wilcoxon" if paired else "Mann-Whitney"


def pairwise(runs: pd.DataFrame, metrics: Sequence[str] | None = None, *, alpha: float = 0.05,
             min_seeds: int = MIN_SEEDS, secondary: bool = False,
             directions: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Every pair of strategies in each (task, metric) table, compared on ok runs.

    Test: paired Wilcoxon signed-rank by seed when both strategies have values for exactly the
    same seeds, else Mann-Whitney U; Holm correction over the pairs of one (task, metric) table.
    ``n`` is the number of paired seeds for Wilcoxon, else the smaller sample size; ``statistic``
    is Wilcoxon's W or a's U. ``a12`` is P(a beats b) over all value pairs (ties half); wins /
    ties / losses compare a with b seed by seed on their common seeds. Verdict at ``alpha`` on
    ``p_holm``: "a better" / "b better" (side from the signed-rank sum, or A12 for Mann-Whitney),
    "no significant difference"; below ``min_seeds`` values no test is run (p columns null)
    and the verdict is "too few seeds (n<5)". Output columns: :data:`PAIRWISE_COLUMNS`.
    """
    runs = flatten_runs(runs)
    directions = {**DIRECTIONS, **(directions or {})}
    too_few = f"too few seeds (n<{min_seeds})"
    tables = []
    for task in _tasks(runs):
        for metric in _metrics_for(runs, task, metrics, secondary):
            sense = directions.get(metric, "higher")
            sign = 1.0 if sense == "higher" else -1.0
            values = {s: values_by_seed(runs, task, metric, s) for s in _strategies(runs, task)}
            rows = []
            for sa, sb in combinations(sorted(values), 2):
                a, b = values[sa], values[sb]
                common = a.index.intersection(b.index)
                diff = sign * (a[common].to_numpy() - b[common].to_numpy())
                row = {"task": task, "metric": metric, "strategy_a": sa, "strategy_b": sb,
                       "statistic": math.nan, "p_value": math.nan, "p_holm": math.nan,
                       "a12": a12(a.to_numpy(), b.to_numpy(), sense),
                       "wins": int((diff > 0).sum()), "ties": int((diff == 0).sum()), "losses": int((diff < 0).sum()),
                       "_side": 0.0}
                paired = len(a) > 0 and len(a) == len(b) and len(common) == len(a)
                row["n"] = len(common) if paired else min(len(a), len(b))
                if row["n"] < min_seeds:
                    row["verdict"] = too_few
                elif paired:
                    row["statistic"], row["p_value"], signed = paired_wilcoxon(a[common], b[common])
                    row["_side"] = sign * signed
                else:
                    row["statistic"], row["p_value"] = mann_whitney(a.to_numpy(), b.to_numpy())
                    row["_side"] = row["a12"] - 0.5
                rows.append(row)
            if not rows:
                continue
            table = pd.DataFrame(rows)
            table["p_holm"] = holm(table["p_value"].to_numpy())
            tested = table["p_value"].notna()
            significant = tested & (table["p_holm"] < alpha)
            table.loc[tested, "verdict"] = "no significant difference"
            table.loc[significant & (table["_side"] > 0), "verdict"] = "a better"
            table.loc[significant & (table["_side"] < 0), "verdict"] = "b better"
            table.loc[significant & (table["_side"] == 0), "verdict"] = "no significant difference"
            tables.append(table)
    if not tables:
        return pd.DataFrame(columns=PAIRWISE_COLUMNS)
    out = pd.concat(tables, ignore_index=True)[PAIRWISE_COLUMNS]
    return out.astype({"n": int, "wins": int, "ties": int, "losses": int})


def significantly_worse_than_best(describe_table: pd.DataFrame, pairwise_table: pd.DataFrame,
                                  directions: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per (task, metric): the best strategy (by median, then mean; direction-aware) and, per
    strategy, whether pairwise() found it significantly worse than that best one.

    Columns: task, metric, strategy, best (bool), worse (bool), tested (bool: a test was run
    against the best one).
    """
    directions = {**DIRECTIONS, **(directions or {})}
    rows = []
    for (task, metric), group in describe_table.groupby(["task", "metric"], sort=False):
        group = group[group["n"] > 0]
        if group.empty:
            continue
        sign = 1.0 if directions.get(metric, "higher") == "higher" else -1.0
        ranked = group.assign(_m=-sign * group["median"], _mean=-sign * group["mean"]).sort_values(["_m", "_mean"])
        best = str(ranked["strategy"].iloc[0])
        for strategy in group["strategy"]:
            worse, tested = False, False
            if strategy != best:
                pair = pairwise_table[(pairwise_table["task"] == task) & (pairwise_table["metric"] == metric)
                                      & pairwise_table["strategy_a"].isin([best, strategy])
                                      & pairwise_table["strategy_b"].isin([best, strategy])]
                if len(pair):
                    p = pair.iloc[0]
                    tested = bool(pd.notna(p["p_value"]))
                    best_side = "a better" if p["strategy_a"] == best else "b better"
                    worse = p["verdict"] == best_side
            rows.append({"task": task, "metric": metric, "strategy": strategy, "best": strategy == best,
                         "worse": bool(worse), "tested": tested})
    return pd.DataFrame(rows, columns=["task", "metric", "strategy", "best", "worse", "tested"])


# -- Friedman / Nemenyi ---------------------------------------------------------------------------
def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """Nemenyi critical value q_alpha for ``k`` strategies (table for alpha 0.05, k <= 20; scipy otherwise)."""
    if k < 2:
        raise ValueError("the Nemenyi test needs at least 2 strategies")
    if alpha == 0.05 and k in NEMENYI_Q05:
        return NEMENYI_Q05[k]
    return float(sps.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2))


def critical_difference(k: int, n_blocks: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks: q_alpha * sqrt(k (k + 1) / (6 N))."""
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6.0 * n_blocks))


@dataclass
class FriedmanResult:
    """Average ranks (1 = best) of the strategies over complete blocks, Friedman's test and Nemenyi's CD."""

    metric: str
    blocks: str
    ranks: pd.DataFrame  # strategy, mean_rank (ascending)
    n_blocks: int
    n_dropped: int
    statistic: float = math.nan
    p_value: float = math.nan
    cd: float = math.nan
    alpha: float = 0.05
    note: str = ""
    per_task_metric: dict[str, str] = field(default_factory=dict)

    @property
    def tested(self) -> bool:
        return not math.isnan(self.p_value)


def friedman(runs: pd.DataFrame, metric: str | None = None, *, blocks: str = "task_seed", alpha: float = 0.05,
             min_blocks: int = MIN_SEEDS, directions: Mapping[str, str] | None = None) -> FriedmanResult:
    """Average ranks per strategy across tasks, Friedman chi-square and Nemenyi critical difference.

    Blocks: ``"task_seed"`` (default) ranks the strategies within every (task, seed) pair. Runs
    of different seeds are independent, so under H0 the ranks within each block are exchangeable
    and the test is valid; it has power with the few tasks a comparison usually has (with
    per-task means, 3 tasks give at most 3 blocks, too few for any test). Its conclusion covers
    these tasks, not tasks in general. ``"task"`` ranks per-task means (Demšar 2006: datasets
    as blocks), preferable with about ten or more tasks. Only complete blocks (every strategy
    has an ok value) are used; ``n_dropped`` counts the others. ``metric`` defaults to each
    task's first headline metric (hypervolume, or hv_ratio on NAS-Bench-201). The test needs
    >= 3 strategies and ``min_blocks`` blocks; the CD is given from 2 strategies on.
    """
    if blocks not in ("task_seed", "task"):
        raise ValueError(f"blocks must be 'task_seed' or 'task', got {blocks!r}")
    runs = flatten_runs(runs)
    directions = {**DIRECTIONS, **(directions or {})}
    strategies = _strategies(runs)
    per_task = {t: (metric or headline_metrics(runs, t)[0]) for t in _tasks(runs)}
    per_task = {t: m for t, m in per_task.items() if m in runs.columns}
    block_rows: list[np.ndarray] = []
    n_dropped = 0
    for task, m in per_task.items():
        sign = 1.0 if directions.get(m, "higher") == "higher" else -1.0
        vals = {s: values_by_seed(runs, task, m, s) for s in strategies}
        if blocks == "task":
            means = [vals[s].mean() if len(vals[s]) else math.nan for s in strategies]
            candidates = [np.array(means)]
        else:
            seeds = sorted(set().union(*[set(v.index) for v in vals.values()]))
            candidates = [np.array([vals[s].get(seed, math.nan) for s in strategies], dtype=float) for seed in seeds]
        for row in candidates:
            if np.isnan(row).any():
                n_dropped += 1
            else:
                block_rows.append(sps.rankdata(-sign * row))
    label = metric or "/".join(sorted(set(per_task.values())))
    if not block_rows:
        return FriedmanResult(label, blocks, pd.DataFrame({"strategy": strategies, "mean_rank": math.nan}),
                              0, n_dropped, alpha=alpha, note="no complete block", per_task_metric=per_task)
    ranks = np.vstack(block_rows)
    table = pd.DataFrame({"strategy": strategies, "mean_rank": ranks.mean(axis=0)}).sort_values(
        ["mean_rank", "strategy"], ignore_index=True)
    k, n = len(strategies), len(block_rows)
    result = FriedmanResult(label, blocks, table, n, n_dropped, alpha=alpha, per_task_metric=per_task)
    if k >= 2:
        result.cd = critical_difference(k, n, alpha)
    if k < 3:
        result.note = "Friedman's test needs at least 3 strategies"
    elif n < min_blocks:
        result.note = f"too few blocks (n<{min_blocks}): no test"
    else:
        # Pass the original values' ranks (within-block ranks leave the statistic unchanged).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = sps.friedmanchisquare(*ranks.T)
        result.statistic, result.p_value = float(res.statistic), float(res.pvalue)
        if math.isnan(result.p_value):  # every block ranks all strategies equal
            result.statistic, result.p_value = 0.0, 1.0
    return result


# -- indicators -----------------------------------------------------------------------------------
def igd_plus(points: ArrayLike, front: ArrayLike) -> float:
    """IGD+ (Pareto-compliant IGD, moocore) of ``points`` to a true ``front``, both minimised and
    normalised by the front's ideal and nadir exactly as :func:`nasbench.indicators.igd_to_front`
    does; ``inf`` when ``points`` is empty."""
    ref = indicators.as_points(front)
    if len(ref) == 0:
        raise ValueError("the true front is empty")
    pts = indicators.as_points(points)
    if len(pts) == 0:
        return math.inf
    ideal, nadir = ref.min(axis=0), ref.max(axis=0)
    return float(moocore.igd_plus(indicators.normalize(pts, ideal, nadir), ref=indicators.normalize(ref, ideal, nadir)))


def _hv(points: np.ndarray) -> float:
    """Hypervolume of minimised 2-D points with reference (1, 1) (points not dominating it add nothing)."""
    if len(points) == 0:
        return 0.0
    return float(moocore.hypervolume(points, ref=np.ones(points.shape[1])))


class _TrueFrontRatio:
    """HV ratio against one true front (the indicators.hv_ratio convention), with the front's HV cached."""

    def __init__(self, front: ArrayLike) -> None:
        self.front = indicators.as_points(front)
        self.ideal, self.nadir = self.front.min(axis=0), self.front.max(axis=0)
        self.best = _hv(indicators.normalize(self.front, self.ideal, self.nadir))

    def __call__(self, points: np.ndarray) -> float:
        if self.best == 0.0:
            return math.nan
        if len(points) == 0:
            return 0.0
        return _hv(indicators.normalize(points, self.ideal, self.nadir)) / self.best


# -- anytime curves -------------------------------------------------------------------------------
ANYTIME_FRACTIONS: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)


def _reference_macs(runs: pd.DataFrame, archive: pd.DataFrame) -> dict[tuple, float]:
    ref: dict[tuple, float] = {}
    if "reference_macs" in runs.columns:
        for row in runs[["strategy", "task", "seed", "reference_macs"]].itertuples(index=False):
            if pd.notna(row.reference_macs) and row.reference_macs > 0:
                ref[(row.strategy, row.task, row.seed)] = float(row.reference_macs)
    return ref


def anytime_curves(archive: pd.DataFrame, runs: pd.DataFrame, *, fractions: ArrayLike | None = None,
                   true_fronts: Mapping[str, ArrayLike] | None = None) -> pd.DataFrame:
    """Per ok run, the hypervolume of its validation front as a function of the budget fraction.

    At fraction f the front is built from the run's evaluations with budget_used <= f x budget
    (status ok, metric known), on (1 - metric, MACs / reference_macs) with reference (1, 1); the
    run's ``reference_macs`` comes from ``runs`` (the largest MACs in that task's archive when it
    is missing). With ``true_fronts[task]`` ((1 - test metric, MACs) rows) and ``test_metric`` in
    the archive, ``hv_ratio_test`` is the HV ratio of the test values of the architectures on that
    validation front (what the search would propose if stopped at f). Columns: strategy, task,
    seed, fraction, hv[, hv_ratio_test]. ``fractions`` defaults to 0, 0.01, ..., 1.
    """
    grid = np.round(np.linspace(0.0, 1.0, 101), 10) if fractions is None else np.asarray(fractions, dtype=float)
    runs = flatten_runs(runs)
    ok = ok_runs(runs)
    ok_keys = set(zip(ok["strategy"], ok["task"], ok["seed"]))
    ref_macs = _reference_macs(ok, archive)
    true_fronts = true_fronts or {}
    ratio_of = {task: _TrueFrontRatio(front) for task, front in true_fronts.items() if front is not None and len(front)}
    has_test = "test_metric" in archive.columns
    columns = ["strategy", "task", "seed", "fraction", "hv"] + (["hv_ratio_test"] if ratio_of and has_test else [])
    if archive.empty or not ok_keys:
        return pd.DataFrame(columns=columns)
    rows = []
    task_max = archive.groupby("task")["macs"].max().to_dict()
    run_budget = {(r.strategy, r.task, r.seed): r.budget for r in ok.itertuples(index=False)} if "budget" in ok else {}
    for (strategy, task, seed), group in archive.groupby(["strategy", "task", "seed"], sort=True):
        if (strategy, task, seed) not in ok_keys:
            continue
        ref = ref_macs.get((strategy, task, seed)) or float(task_max.get(task) or 1.0)
        sort_cols = ["budget_used", "index"] if "index" in group.columns else ["budget_used"]
        group = group.sort_values(sort_cols, kind="stable")
        status_ok = group["status"].astype(str) == "ok" if "status" in group.columns else True
        good = group[status_ok & group["metric"].notna() & group["macs"].notna()]
        fallback = float(run_budget.get((strategy, task, seed)) or math.nan)  # rows without their own budget
        budget = (pd.to_numeric(good["budget"], errors="coerce").fillna(fallback).to_numpy(dtype=float)
                  if "budget" in good else np.full(len(good), fallback))
        used = pd.to_numeric(good["budget_used"], errors="coerce").to_numpy(dtype=float)
        frac = np.where(budget > 0, used / np.where(budget > 0, budget, 1.0), np.nan)
        val = np.column_stack([1.0 - good["metric"].to_numpy(dtype=float), good["macs"].to_numpy(dtype=float) / ref])
        ratio = ratio_of.get(task) if has_test else None
        test = None
        if ratio is not None:
            tm = pd.to_numeric(good["test_metric"], errors="coerce").to_numpy(dtype=float)
            test = np.column_stack([1.0 - tm, good["macs"].to_numpy(dtype=float)])
            if np.isnan(tm).all():  # no test values for this run: the ratio is unknown, not 0
                test = None
        cache: dict[int, tuple[float, float]] = {}
        for f in grid:
            count = int(np.sum(frac <= f + 1e-12))
            if count not in cache:
                prefix = val[:count]
                hv = _hv(prefix)
                r = math.nan
                if test is not None:
                    mask = moocore.is_nondominated(prefix, keep_weakly=True) if count else np.zeros(0, bool)
                    chosen = test[:count][mask]
                    chosen = chosen[~np.isnan(chosen).any(axis=1)]
                    r = ratio(chosen)
                cache[count] = (hv, r)
            hv, r = cache[count]
            row = {"strategy": strategy, "task": task, "seed": seed, "fraction": float(f), "hv": hv}
            if len(columns) == 6:
                row["hv_ratio_test"] = r
            rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def anytime_summary(curves: pd.DataFrame, value: str = "hv") -> pd.DataFrame:
    """Median and IQR band across seeds per (task, strategy, fraction): n, median, q25, q75."""
    cols = ["task", "strategy", "fraction", "n", "median", "q25", "q75"]
    if curves.empty or value not in curves.columns:
        return pd.DataFrame(columns=cols)
    grouped = curves.dropna(subset=[value]).groupby(["task", "strategy", "fraction"], sort=True)[value]
    out = pd.DataFrame({
        "n": grouped.count(), "median": grouped.median(),
        "q25": grouped.quantile(0.25), "q75": grouped.quantile(0.75),
    }).reset_index()
    return out[cols]


def anytime_table(curves: pd.DataFrame, fractions: Sequence[float] = ANYTIME_FRACTIONS, value: str = "hv") -> pd.DataFrame:
    """The anytime summary at the given budget fractions (default 10/25/50/100 %)."""
    summary = anytime_summary(curves, value)
    if summary.empty:
        return summary
    keep = np.zeros(len(summary), dtype=bool)
    for f in fractions:
        keep |= np.isclose(summary["fraction"].to_numpy(dtype=float), f)
    return summary[keep].reset_index(drop=True)


# -- attainment -----------------------------------------------------------------------------------
def attainment(finals: pd.DataFrame, runs: pd.DataFrame | None = None, *,
               percentiles: Sequence[float] = (25, 50, 75)) -> pd.DataFrame:
    """Empirical attainment surfaces (moocore.eaf) of each strategy's final fronts across seeds.

    Objectives are (1 - test metric, MACs), both minimised (raw MACs: the EAF is invariant to
    monotone per-objective scaling). One set per ok run (seed); an ok run with no ok final is an
    empty set that still counts in the number of sets n. The p % surface is the boundary of the
    region attained by at least ceil(p n / 100) sets (moocore's convention). Columns: task,
    strategy, percentile, n_sets, error, macs; surface points sorted by MACs.
    """
    cols = ["task", "strategy", "percentile", "n_sets", "error", "macs"]
    good = finals[(finals["status"].astype(str) == "ok") & finals["metric"].notna() & finals["macs"].notna()]
    if runs is not None:
        flat = ok_runs(flatten_runs(runs))
        keys = flat[["strategy", "task", "seed"]].drop_duplicates()
        good = good.merge(keys, on=["strategy", "task", "seed"], how="inner")
    else:
        keys = good[["strategy", "task", "seed"]].drop_duplicates()
    rows = []
    for (task, strategy), sets in keys.groupby(["task", "strategy"], sort=True):
        n_sets = len(sets)
        pts = good[(good["task"] == task) & (good["strategy"] == strategy)]
        if pts.empty:
            continue
        data = np.column_stack([1.0 - pts["metric"].to_numpy(dtype=float), pts["macs"].to_numpy(dtype=float)])
        seeds = pts["seed"].to_numpy()
        _, set_ids = np.unique(seeds, return_inverse=True)
        n_nonempty = int(set_ids.max()) + 1
        surf = moocore.eaf(data, set_ids + 1)
        levels = np.rint(surf[:, -1] * n_nonempty / 100.0).astype(int)
        for p in percentiles:
            k = max(1, math.ceil(p * n_sets / 100.0 - 1e-9))
            chosen = surf[levels == k]
            chosen = chosen[np.argsort(chosen[:, 1], kind="stable")]
            for err, macs in chosen[:, :2]:
                rows.append({"task": task, "strategy": strategy, "percentile": float(p), "n_sets": n_sets,
                             "error": float(err), "macs": float(macs)})
    return pd.DataFrame(rows, columns=cols)
