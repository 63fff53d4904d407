"""report.md of a comparison: reproducible settings, headline definitions, the headline table
with significance marks, pairwise tests, Friedman ranks, anytime table, compute and audit,
failures and plots; plus a LaTeX (booktabs) export of the headline table.

:func:`render` is pure (settings and tables in, markdown out); :func:`write_report` reads a
results folder and writes report.md, stats.csv, headline.tex and plots/ into it.
Nothing here imports ``spaces`` or ``strategies``.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd

from nasbench.runner import stats
from nasbench.files import atomic_write
from nasbench.runner.store import csv_text

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.results import Results

DAGGER = "†"
PAIRWISE_METHOD = (
    "Pairwise tests: paired Wilcoxon signed-rank test by seed when both strategies have ok values for exactly "
    "the same seeds, Mann-Whitney U test otherwise (two-sided); p-values Holm-corrected over the pairs of each "
    "(task, metric) table; A12 = probability that a value of a beats one of b (ties count half; 0.5 = no "
    "effect; Vargha-Delaney: 0.56 small, 0.64 medium, 0.71 large); wins/ties/losses compare a and b seed by seed. "
    "Only runs with status ok enter statistics; failed runs are counted, never scored as 0."
)


# -- formatting -----------------------------------------------------------------------------------
def fmt(value: Any, metric: str = "") -> str:
    """A number for a table: 2 decimals for percentages (best_test_acc), 4 otherwise; '–' when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    digits = 2 if metric == "best_test_acc" else 4
    return f"{float(value):.{digits}f}"


def fmt_p(p: Any) -> str:
    """A p-value: 3 significant digits, '<1e-4' below that; '–' when no test was run."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    return "<1e-4" if p < 1e-4 else f"{p:.3g}"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(x: Any) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _compact(value: Any) -> str:
    """A settings value on one line; runs of consecutive integers shortened to 'a..b (n values)'."""
    if isinstance(value, list) and len(value) > 4 and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        if value == list(range(value[0], value[0] + len(value))):
            return f"{value[0]}..{value[-1]} ({len(value)} values)"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isfinite(value) and abs(value) >= 1e6 and float(f"{value:g}") == value:
        return f"{value:g}"  # 1.2e+13, not 12000000000000.0 (exact: the JSON block below)
    return json.dumps(value, sort_keys=False, default=str)


def _flatten(settings: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            items += _flatten(value, name + ".")
        else:
            items.append((name, _compact(value)))
    return items


def _json_compact(value: Any, indent: int = 0) -> str:
    """Indented JSON whose lists of scalars stay on one line (seed lists do not take 100 lines)."""
    pad = "  " * (indent + 1)
    if isinstance(value, Mapping) and value:
        items = [f"{pad}{json.dumps(str(k))}: {_json_compact(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(value, (list, tuple)) and any(isinstance(v, (Mapping, list, tuple)) for v in value):
        items = [f"{pad}{_json_compact(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    return json.dumps(value, default=str)


# -- sections -------------------------------------------------------------------------------------
def settings_block(settings: Mapping[str, Any]) -> str:
    """Every setting as given (nested keys dotted; top-level sections as sub-headings), then the
    full settings as JSON in a collapsible block for copy-paste."""
    out = ["## Settings (everything needed to reproduce)", ""]
    loose = [(k, v) for k, v in settings.items() if not (isinstance(v, Mapping) and v)]
    if loose:
        out += [f"- `{k}`: {v}" for k, v in _flatten(dict(loose))] + [""]
    for key, value in settings.items():
        if isinstance(value, Mapping) and value:
            out += [f"### {key}", ""] + [f"- `{k}`: {v}" for k, v in _flatten(value)] + [""]
    out += ["<details><summary>settings as JSON</summary>", "", "```json",
            _json_compact(settings), "```", "", "</details>", ""]
    return "\n".join(out)


def definitions_block(runs: pd.DataFrame) -> str:
    """One line per headline metric in use (and the secondary ones), with direction."""
    used: list[str] = []
    for task in sorted(runs["task"].unique()):
        used += [m for m in stats.headline_metrics(runs, task) if m not in used]
    lines = ["## Headline metrics", ""]
    lines += [f"- **{m}** (headline; {stats.direction(m)} is better): {stats.DEFINITIONS[m]}" for m in used]
    extra = [m for m in (*stats.SECONDARY, "igd", "igd_plus") if m in runs.columns and m not in used]
    lines += [f"- {m} ({stats.direction(m)} is better): {stats.DEFINITIONS.get(m, m)}" for m in extra]
    return "\n".join(lines + [""])


def _marks(describe_table: pd.DataFrame, pairwise_table: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    """(task, metric, strategy) -> 'best' | 'worse' | ''."""
    flags = stats.significantly_worse_than_best(describe_table, pairwise_table)
    out = {}
    for row in flags.itertuples(index=False):
        out[(row.task, row.metric, row.strategy)] = "best" if row.best else ("worse" if row.worse else "")
    return out


def _task_groups(describe_table: pd.DataFrame, runs: pd.DataFrame) -> list[tuple[tuple[str, ...], list[str]]]:
    """Tasks grouped by their headline metrics (one table per benchmark)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for task in sorted(describe_table["task"].unique()):
        groups.setdefault(tuple(stats.headline_metrics(runs, task)), []).append(task)
    return list(groups.items())


def headline_table(describe_table: pd.DataFrame, pairwise_table: pd.DataFrame, runs: pd.DataFrame) -> str:
    """Markdown: per task and strategy, ok runs, failed runs, and per headline metric the median
    [IQR] and the mean (95 % bootstrap CI); bold = best median, † = significantly worse than it."""
    marks = _marks(describe_table, pairwise_table)
    out = []
    for metrics, tasks in _task_groups(describe_table, runs):
        header = ["task", "strategy", "ok runs", "failed"]
        for m in metrics:
            header += [f"{m} median [IQR]", f"{m} mean (95% CI)"]
        rows = []
        for task in tasks:
            d = describe_table[describe_table["task"] == task]
            for strategy in sorted(d["strategy"].unique()):
                mine = d[d["strategy"] == strategy]
                first = mine.iloc[0]
                n_ok = int(mine["n"].max()) if len(mine) else 0
                row = [task, strategy, n_ok, int(first["n_failed"])]
                for m in metrics:
                    r = mine[mine["metric"] == m]
                    if r.empty or int(r["n"].iloc[0]) == 0:
                        row += ["–", "–"]
                        continue
                    r = r.iloc[0]
                    median = fmt(r["median"], m)
                    mark = marks.get((task, m, strategy), "")
                    if mark == "best":
                        median = f"**{median}**"
                    elif mark == "worse":
                        median = f"{median}{DAGGER}"
                    row += [f"{median} [{fmt(r['q25'], m)}, {fmt(r['q75'], m)}]",
                            f"{fmt(r['mean'], m)} ({fmt(r['ci_low'], m)}, {fmt(r['ci_high'], m)})"]
                rows.append(row)
        out.append(_md_table(header, rows))
    legend = (f"**Bold**: best median of the task (ties broken by the mean). {DAGGER}: significantly worse than "
              f"the best one (pairwise test, Holm-corrected, alpha 0.05). Runs that failed are counted in 'failed' "
              f"and left out of every statistic.")
    return "\n\n".join(out + [legend])


def terminal_table(runs: pd.DataFrame) -> str:
    """The headline table alone, for the terminal at the end of a comparison."""
    if runs.empty:
        return "(no runs)"
    return headline_table(stats.describe(runs), stats.pairwise(runs), runs)


def too_few_note(pairwise_table: pd.DataFrame, min_seeds: int = stats.MIN_SEEDS) -> str:
    """A sentence naming the (task, metric) tables where too few seeds prevented testing ('' if none)."""
    if pairwise_table.empty:
        return ""
    few = pairwise_table[pairwise_table["verdict"].astype(str).str.startswith("too few seeds")]
    if few.empty:
        return ""
    where = sorted({f"{t}/{m}" for t, m in zip(few["task"], few["metric"])})
    return (f"Fewer than {min_seeds} ok seeds for some strategies ({', '.join(where)}): no significance test was "
            f"run for those pairs (verdict 'too few seeds'); the {DAGGER} mark is therefore absent there, and the "
            f"medians are descriptive only. Run at least {min_seeds} seeds to test.")


def pairwise_block(pairwise_table: pd.DataFrame, runs: pd.DataFrame | None = None) -> str:
    """The pairwise table as markdown (the same rows as stats.csv), with the test used when ``runs`` is given."""
    if pairwise_table.empty:
        return "No pair of strategies to compare."
    rows = []
    for r in pairwise_table.itertuples(index=False):
        test = [stats.test_used(runs, r.task, r.metric, r.strategy_a, r.strategy_b)] if runs is not None else []
        rows.append([r.task, r.metric, r.strategy_a, r.strategy_b, *test, r.n,
                     "–" if pd.isna(r.statistic) else f"{r.statistic:g}", fmt_p(r.p_value), fmt_p(r.p_holm),
                     f"{r.a12:.2f}" if pd.notna(r.a12) else "–", f"{r.wins}/{r.ties}/{r.losses}", r.verdict])
    header = ["task", "metric", "a", "b", *(["test"] if runs is not None else []), "n", "statistic (W or U)", "p",
              "p (Holm)", "A12", "a wins/ties/losses", "verdict"]
    return _md_table(header, rows)


def friedman_block(result: stats.FriedmanResult) -> str:
    """Average ranks, Friedman's test and Nemenyi's CD as markdown."""
    blocks = "(task, seed) pairs" if result.blocks == "task_seed" else "tasks (per-task means)"
    lines = [f"Metric: {result.metric}; blocks: {result.n_blocks} {blocks}, {result.n_dropped} incomplete dropped "
             f"(a strategy had no ok value). Rank 1 = best."]
    if result.tested:
        p = fmt_p(result.p_value)
        lines.append(f"Friedman chi-square = {result.statistic:.3f}, p {p if p.startswith('<') else '= ' + p}; Nemenyi critical "
                     f"difference at alpha {result.alpha:g}: CD = {result.cd:.3f} (mean ranks further apart differ "
                     f"significantly).")
    else:
        lines.append(f"No Friedman test: {result.note}." + (f" Nemenyi CD would be {result.cd:.3f}."
                                                            if math.isfinite(result.cd) else ""))
    table = _md_table(["strategy", "mean rank"],
                      [[r.strategy, fmt(r.mean_rank)] for r in result.ranks.itertuples(index=False)])
    return "\n\n".join([" ".join(lines), table])


def anytime_block(table: pd.DataFrame, value_name: str = "validation hypervolume", runs: pd.DataFrame | None = None) -> str:
    """Median [IQR] across seeds of the anytime value at each budget fraction (columns), naming the
    strategies that recorded no validation estimates (zero-shot searches score proxies only)."""
    curved = set() if table is None or table.empty else set(table["strategy"])
    ok = runs[runs["status"] == "ok"] if runs is not None and len(runs) else None
    silent = sorted(set(ok["strategy"]) - curved) if ok is not None else []
    none = (f"\n\nNo validation estimates recorded, so no curve: {', '.join(silent)} (e.g. a zero-shot "
            "search, whose data-free proxy scores are not validation metrics).") if silent else ""
    if table is None or table.empty:
        return "No archive rows: no anytime curves." + none
    fractions = sorted(table["fraction"].unique())
    header = ["task", "strategy"] + [f"{100 * f:g}% of budget" for f in fractions]
    rows = []
    for (task, strategy), g in table.groupby(["task", "strategy"], sort=True):
        cells = []
        for f in fractions:
            r = g[np.isclose(g["fraction"], f)]
            cells.append("–" if r.empty else f"{fmt(r['median'].iloc[0])} [{fmt(r['q25'].iloc[0])}, {fmt(r['q75'].iloc[0])}]")
        rows.append([task, strategy, *cells])
    return f"{value_name}, median [IQR] across ok seeds:\n\n" + _md_table(header, rows) + none


def compute_block(runs: pd.DataFrame) -> str:
    """Compute used / budget per (task, strategy) over all runs (failed ones spent compute too)."""
    rows = []
    for (task, strategy), g in runs.groupby(["task", "strategy"], sort=True):
        used = pd.to_numeric(g.get("compute_used"), errors="coerce")
        budget = pd.to_numeric(g.get("budget"), errors="coerce")
        frac = (used / budget.where(budget > 0)).dropna()
        unit = ", ".join(sorted(g["budget_unit"].dropna().astype(str).unique())) if "budget_unit" in g else ""
        macs = pd.to_numeric(g["compute_used_macs"], errors="coerce") if "compute_used_macs" in g else pd.Series(dtype=float)
        wall = pd.to_numeric(g["wall_seconds"], errors="coerce") if "wall_seconds" in g else pd.Series(dtype=float)
        rows.append([task, strategy, len(g), unit, f"{budget.median():.4g}" if budget.notna().any() else "–",
                     f"{100 * frac.median():.1f}% [{100 * frac.min():.1f}, {100 * frac.max():.1f}]" if len(frac) else "–",
                     f"{macs.sum():.3g}" if macs.notna().any() else "–",
                     f"{wall.median():.1f}" if wall.notna().any() else "–"])
    header = ["task", "strategy", "runs", "unit", "budget (median)", "used / budget: median [min, max]",
              "MACs used (sum)", "wall s (median)"]
    return _md_table(header, rows)


def audit_block(runs: pd.DataFrame) -> str:
    """The runs whose audit flagged unaccounted time, or a sentence saying there are none."""
    if "audit_flagged" not in runs.columns:
        return "No audit information in the runs."
    flagged = runs[runs["audit_flagged"].fillna(False).astype(bool)]
    if flagged.empty:
        return "No run was flagged by the compute audit."
    rows = [[r["strategy"], r["task"], r["seed"], r["status"], fmt(r.get("wall_seconds")),
             fmt(r.get("audit_expected_seconds")), fmt(r.get("audit_unaccounted_seconds"))]
            for _, r in flagged.sort_values(["task", "strategy", "seed"]).iterrows()]
    return (f"{len(flagged)} run(s) flagged (wall time not explained by the charged compute):\n\n"
            + _md_table(["strategy", "task", "seed", "status", "wall s", "expected s", "unaccounted s"], rows))


def failures_block(runs: pd.DataFrame) -> str:
    """Failed runs per (task, strategy) with their reasons, or a sentence saying there are none."""
    table = stats.failures(runs)
    failed = table[table["n_failed"] > 0]
    if failed.empty:
        return "No run failed."
    return _md_table(["task", "strategy", "runs", "failed", "reasons"],
                     [[r.task, r.strategy, r.n_runs, r.n_failed, r.reasons] for r in failed.itertuples(index=False)])


def plots_block(plots: Sequence[Path | str], base: Path | str | None = None) -> str:
    """Markdown images for the PNGs (PDF twins listed beside them), paths relative to ``base``."""
    paths = [Path(p) for p in plots]
    pngs = [p for p in paths if p.suffix == ".png"]
    if not pngs:
        return "No plots."
    lines = []
    for p in pngs:
        rel = os.path.relpath(p, base) if base is not None else str(p)
        pdf = p.with_suffix(".pdf")
        twin = f" ([PDF]({os.path.relpath(pdf, base) if base is not None else pdf}))" if pdf in paths else ""
        lines.append(f"- {p.stem}{twin}\n\n  ![{p.stem}]({rel})")
    return "\n".join(lines)


# -- the report -----------------------------------------------------------------------------------
def recipe_block(finals: pd.DataFrame | None) -> str:
    """Architecture vs recipe: each proposal's test metric with the shared final recipe and with the
    recipe its strategy recommended (strategies that search recipes only); '' when there is none."""
    if finals is None or "own_recipe_metric" not in finals.columns:
        return ""
    own = finals[pd.to_numeric(finals["own_recipe_metric"], errors="coerce").notna()].copy()
    if own.empty:
        return ""
    own["shared"] = pd.to_numeric(own["metric"], errors="coerce")
    own["own"] = pd.to_numeric(own["own_recipe_metric"], errors="coerce")
    rows = [[task, strategy, len(g), fmt(g["shared"].mean()), fmt(g["own"].mean()), fmt((g["own"] - g["shared"]).mean())]
            for (task, strategy), g in own.groupby(["task", "strategy"])]
    return "\n".join(["## Architecture vs recipe", "",
                      "Each proposal trained with the shared final recipe (the comparison's column) and with the "
                      "recipe its strategy recommended: what the architecture search bought, and what the recipe adds.", "",
                      _md_table(["task", "strategy", "proposals", "shared recipe (mean)", "own recipe (mean)", "recipe gain"], rows), ""])


def render(settings: Mapping[str, Any], runs: pd.DataFrame, archive: pd.DataFrame | None = None, *,
           describe_table: pd.DataFrame | None = None, pairwise_table: pd.DataFrame | None = None,
           friedman_result: stats.FriedmanResult | None = None, anytime_table: pd.DataFrame | None = None,
           plots: Sequence[Path | str] = (), plots_base: Path | str | None = None,
           title: str = "NAS strategy comparison", finals: pd.DataFrame | None = None) -> str:
    """report.md as a string. Tables not given are computed here from ``runs`` (and ``archive``)."""
    runs = stats.flatten_runs(runs)
    describe_table = stats.describe(runs) if describe_table is None else describe_table
    pairwise_table = stats.pairwise(runs) if pairwise_table is None else pairwise_table
    friedman_result = stats.friedman(runs) if friedman_result is None else friedman_result
    if anytime_table is None and archive is not None and len(archive):
        anytime_table = stats.anytime_table(stats.anytime_curves(archive, runs))
    n_ok = int(stats.is_ok(runs).sum())
    seeds = sorted(runs["seed"].unique().tolist()) if len(runs) else []
    parts = [
        f"# {title}", "",
        f"{len(runs)} runs ({n_ok} ok, {len(runs) - n_ok} failed) of {runs['strategy'].nunique()} strategies on "
        f"{runs['task'].nunique()} task(s), {len(seeds)} seed(s).", "",
        settings_block(settings),
        definitions_block(runs),
        "## Results", "",
        "Median [interquartile range] and mean (95 % percentile-bootstrap CI of the mean, 10,000 resamples, "
        "seeded) over the ok seeds.", "",
        headline_table(describe_table, pairwise_table, runs), "",
    ]
    note = too_few_note(pairwise_table)
    if note:
        parts += [f"> {note}", ""]
    parts += ["## Pairwise comparisons", "", PAIRWISE_METHOD, ""]
    parts += [note, ""] if note else []
    parts += [pairwise_block(pairwise_table, runs), "",
              "## Ranks across tasks (Friedman, Nemenyi)", "", friedman_block(friedman_result), "",
              "## Anytime performance", "",
              "Hypervolume of each run's validation front (1 - validation metric, MACs / reference MACs; "
              "reference point (1, 1)) after each fraction of its budget.", "",
              anytime_block(anytime_table, runs=runs), "",
              recipe_block(finals),
              "## Compute used", "", compute_block(runs), "",
              "## Compute audit", "", audit_block(runs), "",
              "## Failures", "", failures_block(runs), "",
              "## Plots", "", plots_block(plots, plots_base), ""]
    return "\n".join(parts)


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex_table(describe_table: pd.DataFrame, pairwise_table: pd.DataFrame | None = None, *,
                runs: pd.DataFrame | None = None, metrics: Sequence[str] | None = None) -> str:
    """The headline table as a booktabs ``tabular``: task, strategy, then per metric
    "median [q25, q75]"; \\textbf = best median, $^\\dagger$ = significantly worse than the best
    (Holm 0.05). Needs \\usepackage{booktabs}. ``metrics`` defaults to every metric in the table
    except the secondary ones."""
    if metrics is None:
        metrics = [m for m in dict.fromkeys(describe_table["metric"]) if m not in stats.SECONDARY]
    marks = _marks(describe_table, pairwise_table) if pairwise_table is not None else {}
    header = ["Task", "Strategy"] + [_latex_escape(m.replace("_", " ")) for m in metrics]
    lines = [r"\begin{tabular}{ll" + "r" * len(metrics) + "}", r"\toprule", " & ".join(header) + r" \\", r"\midrule"]
    tasks = sorted(describe_table["task"].unique())
    for i, task in enumerate(tasks):
        d = describe_table[describe_table["task"] == task]
        for strategy in sorted(d["strategy"].unique()):
            cells = [_latex_escape(str(task)), _latex_escape(str(strategy))]
            for m in metrics:
                r = d[(d["strategy"] == strategy) & (d["metric"] == m)]
                if r.empty or int(r["n"].iloc[0]) == 0:
                    cells.append("--")
                    continue
                r = r.iloc[0]
                median = fmt(r["median"], m)
                mark = marks.get((task, m, strategy), "")
                median = rf"\textbf{{{median}}}" if mark == "best" else (median + r"$^\dagger$" if mark == "worse" else median)
                cells.append(f"{median} [{fmt(r['q25'], m)}, {fmt(r['q75'], m)}]")
            lines.append(" & ".join(cells) + r" \\")
        if i < len(tasks) - 1:
            lines.append(r"\midrule")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


# -- files ----------------------------------------------------------------------------------------


def write_report(folder: Path | str, results: "Results | None" = None, *, true_fronts: Mapping[str, Any] | None = None,
                 make_plots: bool = True, metric_names: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Write stats.csv (the pairwise table), report.md, headline.tex and plots/*.png|pdf of ``results``
    (default: the folder's own, read with nasbench.results.load) into ``folder``, atomically. Returns name -> path."""
    from nasbench.results import load
    from nasbench.runner import plots as plotting

    folder = Path(folder)
    res = results if results is not None else load(folder)
    runs, archive, finals = res.runs, res.archive, res.finals
    describe_table = stats.describe(runs)
    pairwise_table = stats.pairwise(runs)
    friedman_result = stats.friedman(runs)
    curves = stats.anytime_curves(archive, runs, true_fronts=true_fronts) if len(archive) else None
    anytime = stats.anytime_table(curves) if curves is not None else None
    written: dict[str, Path] = {}
    plot_paths: list[Path] = []
    if make_plots and len(runs):
        plot_paths = plotting.plot_all(runs, finals, archive if len(archive) else None, folder / "plots",
                                       true_fronts=true_fronts, metric_names=metric_names,
                                       friedman_result=friedman_result)
    rows = pairwise_table.astype(object).where(pairwise_table.notna(), None).to_dict("records")
    written["stats.csv"] = atomic_write(folder, "stats.csv", csv_text(rows, list(pairwise_table.columns)))
    written["headline.tex"] = atomic_write(folder, "headline.tex", latex_table(describe_table, pairwise_table))
    text = render(res.settings, runs, archive, describe_table=describe_table, pairwise_table=pairwise_table,
                  friedman_result=friedman_result, anytime_table=anytime, plots=plot_paths, plots_base=folder,
                  finals=finals)
    written["report.md"] = atomic_write(folder, "report.md", text)
    written.update({f"plots/{p.name}": p for p in plot_paths})
    return written
