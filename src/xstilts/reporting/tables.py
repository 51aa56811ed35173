"""Aggregation: the long score table, the transfer matrix and the other tables (CSV, Markdown, LaTeX).

``scores_long.csv`` has one row per (model, pipeline, target, seed, language, metric): the input of
every later analysis.  The transfer matrix has one row per (model, pipeline) and one column per
target; a cell is the mean over seeds of the mean over languages (English included, as XTREME's
``evaluate.py`` does) of the target's main metric, with the difference from the ``none`` row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xstilts.common.files import atomic_path, read_json
from xstilts.reporting.formatting import BASELINE, fmt_number, latex_table, write_captioned

LONG_COLUMNS = ["model", "pipeline", "target", "train_task", "seed", "language", "metric", "value", "main", "split", "n"]


def collect(metrics_files: list[str]) -> pd.DataFrame:
    rows = []
    for path in metrics_files:
        m = read_json(path)
        seed = m.get("seed")
        for bench, b in m["benchmarks"].items():
            for lang, values in b["languages"].items():
                for metric, value in values.items():
                    if metric in ("n", "split"):
                        continue
                    rows.append({
                        "model": m["model"], "pipeline": m["pipeline"], "target": bench,
                        "train_task": m.get("train_task", ""), "seed": seed, "language": lang, "metric": metric,
                        "value": value, "main": metric == b["main_metric"], "split": values.get("split", b["split"]), "n": values.get("n"),
                    })  # fmt: skip
    df = pd.DataFrame(rows, columns=LONG_COLUMNS)
    df["seed"] = df["seed"].astype("Int64")
    return df.sort_values(["model", "pipeline", "target", "seed", "language", "metric"], kind="stable", ignore_index=True)


def _pipeline_order(pipelines) -> list[str]:
    names = list(dict.fromkeys(pipelines))
    return ([BASELINE] if BASELINE in names else []) + sorted(n for n in names if n != BASELINE)


def transfer_matrix(long: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scores, differences from the baseline row of the same model); index (model, pipeline)."""
    main = long[long["main"]]
    per_seed = main.groupby(["model", "pipeline", "target", "seed"], dropna=False)["value"].mean()
    cells = per_seed.groupby(["model", "pipeline", "target"]).mean().unstack("target")
    targets = list(dict.fromkeys(long["target"]))
    cells = cells.reindex(columns=targets)
    order = [(m, p) for m in sorted(long["model"].unique()) for p in _pipeline_order(long[long["model"] == m]["pipeline"])]
    cells = cells.reindex(pd.MultiIndex.from_tuples(order, names=["model", "pipeline"]))
    diffs = cells.copy()
    for model in cells.index.get_level_values("model").unique():
        if (model, BASELINE) in cells.index:
            diffs.loc[model] = (cells.loc[model] - cells.loc[(model, BASELINE)]).values
        else:
            diffs.loc[model] = np.nan
    cells["mean"] = cells[targets].mean(axis=1)
    diffs["mean"] = diffs[targets].mean(axis=1)
    return cells, diffs


def matrix_text(cells: pd.DataFrame, diffs: pd.DataFrame, *, digits: int, scale: float) -> pd.DataFrame:
    """Cells as text: 'score (±diff)' with the baseline row plain."""
    out = cells.copy().astype(object)
    for idx in cells.index:
        for col in cells.columns:
            s = fmt_number(cells.at[idx, col] * scale, digits)
            d = diffs.at[idx, col]
            out.at[idx, col] = s if idx[1] == BASELINE or pd.isna(d) else f"{s} ({fmt_number(d * scale, digits, True)})"
    return out


XTREME_TARGETS = ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc", "tatoeba")


def seed_scores(long: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, pipeline, target, seed, metric): the mean over languages; ``main`` marks
    the target's main metric.  A seed-free row (retrieval's ``none``) has seed NA."""
    keys = ["model", "pipeline", "target", "seed", "metric"]
    out = long.groupby(keys, dropna=False, sort=False).agg(value=("value", "mean"), main=("main", "first"))
    return out.reset_index()


def score_column(targets: list[str]) -> str:
    """The overall column: the XTREME score when the matrix has XTREME's nine targets, else a plain mean."""
    return "XTREME" if set(XTREME_TARGETS) <= set(targets) else "mean"


def _overall_per_seed(per_seed: pd.DataFrame, targets: list[str], name: str) -> pd.DataFrame:
    """The overall score of every (model, pipeline, seed): XTREME's ``all_task`` (its evaluate.py: the
    plain mean of exactly its nine tasks, QA counting (EM + F1) / 2; any other target, XCOPA say, is
    left out) or the mean of the main metrics of every target; a seed-free target joins every seed."""
    from xstilts.scoring.metrics import xtreme_score

    if name == "XTREME":
        targets = list(XTREME_TARGETS)
    rows = []
    for (model, pipeline), g in per_seed.groupby(["model", "pipeline"], sort=False):
        seeds = sorted(int(x) for x in g["seed"].dropna().unique()) or [None]
        for seed in seeds:
            scores = {}
            for t in targets:
                tg = g[g["target"] == t]
                tg = tg[tg["seed"] == seed] if seed is not None and (tg["seed"] == seed).any() else tg[tg["seed"].isna()]
                if tg.empty:
                    break
                scores[t] = tg
            else:
                if name == "XTREME":
                    value = xtreme_score({t: dict(zip(v["metric"], v["value"])) for t, v in scores.items()})
                else:
                    value = float(np.mean([v.loc[v["main"].astype(bool), "value"].iloc[0] for v in scores.values()]))
                rows.append({"model": model, "pipeline": pipeline, "target": name, "seed": seed, "value": value})
    return pd.DataFrame(rows, columns=["model", "pipeline", "target", "seed", "value"])


def main_table(long: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The paper's main table, long: one row per (model, pipeline, column) with the mean and standard
    deviation over seeds of the per-seed mean over languages (main metric), the number of seeds and
    the difference of the means from the model's ``none`` row.  Columns are the targets and the
    overall score (second return value: its name)."""
    per_seed = seed_scores(long)
    targets = list(dict.fromkeys(long["target"]))
    name = score_column(targets)
    main = per_seed[per_seed["main"].astype(bool)][["model", "pipeline", "target", "seed", "value"]]
    both = pd.concat([main, _overall_per_seed(per_seed, targets, name)], ignore_index=True)
    stats = both.groupby(["model", "pipeline", "target"], sort=False)["value"].agg(["mean", "std", "count"]).reset_index()
    stats = stats.rename(columns={"target": "column"})
    return _seed_stats(stats, long, [*targets, name]), name


def _seed_stats(stats: pd.DataFrame, long: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Finish a table of (model, pipeline, column, mean, std, count) over seeds: ``sd`` (none below two
    seeds), ``n_seeds``, the difference of the means from the model's ``none`` row, and rows in model,
    pipeline (``none`` first) and ``columns`` order."""
    stats = stats.rename(columns={"std": "sd", "count": "n_seeds"})
    stats.loc[stats["n_seeds"] < 2, "sd"] = np.nan
    base = stats[stats["pipeline"] == BASELINE].set_index(["model", "column"])["mean"]
    stats["delta"] = [m - base.get((mo, c), np.nan) for mo, c, m in zip(stats["model"], stats["column"], stats["mean"])]
    order = {(m, p): k for k, (m, p) in enumerate(
        (m, p) for m in sorted(long["model"].unique()) for p in _pipeline_order(long[long["model"] == m]["pipeline"]))}  # fmt: skip
    cols = {c: k for k, c in enumerate(columns)}
    stats["_o"] = [order[(m, p)] * 1000 + cols[c] for m, p, c in zip(stats["model"], stats["pipeline"], stats["column"])]
    return stats.sort_values("_o").drop(columns="_o").reset_index(drop=True)


def _cell_text(mean, sd, delta, *, baseline: bool, digits: int, scale: float) -> str:
    text = fmt_number(mean * scale, digits)
    if not pd.isna(sd):
        text += f" ± {fmt_number(sd * scale, digits)}"
    if not baseline and not pd.isna(delta):
        text += f" ({fmt_number(delta * scale, digits, True)})"
    return text


def _wide(stats: pd.DataFrame, *, digits: int, scale: float, bold: tuple[str, str]) -> pd.DataFrame:
    """Text cells, rows (model, pipeline), the best mean of each column per model wrapped in ``bold``."""
    best = stats.groupby(["model", "column"])["mean"].transform("max")
    text = [
        (bold[0] + t + bold[1]) if m == b and not pd.isna(m) and (stats["model"] == mo).sum() > len(stats["column"].unique()) else t
        for t, m, b, mo in zip(
            (_cell_text(r.mean, r.sd, r.delta, baseline=r.pipeline == BASELINE, digits=digits, scale=scale) for r in stats.itertuples()),
            stats["mean"], best, stats["model"])
    ]  # fmt: skip
    wide = stats.assign(text=text).pivot_table(index=["model", "pipeline"], columns="column", values="text", aggfunc="first", sort=False)
    wide = wide.reindex(columns=list(dict.fromkeys(stats["column"])))
    wide.columns.name = None
    return wide.fillna("–").reset_index()


def write_tables(long: pd.DataFrame, prefix: str, *, digits: int = 1, scale: float = 100.0, n_seeds: int | None = None) -> None:
    """The main table: ``{prefix}.csv`` (numbers), ``.md`` and ``.tex`` (mean ± sd over seeds, the
    difference from ``none`` in brackets, the best mean of each column in bold)."""
    stats, name = main_table(long)
    wide_num = stats.pivot_table(index=["model", "pipeline"], columns="column", values=["mean", "sd", "n_seeds", "delta"],
                                 aggfunc="first", sort=False, dropna=False)  # fmt: skip (one seed: sd is all NaN)
    csv = pd.DataFrame(index=wide_num.index)
    for col in dict.fromkeys(stats["column"]):
        csv[col] = wide_num[("mean", col)]
        csv[f"{col}_sd"] = wide_num[("sd", col)]
        csv[f"{col}_diff"] = wide_num[("delta", col)]
        csv[f"{col}_seeds"] = wide_num[("n_seeds", col)]
    with atomic_path(f"{prefix}.csv") as tmp:
        csv.reset_index().to_csv(tmp, index=False, float_format="%.6f")
    seeds = n_seeds if n_seeds is not None else long["seed"].dropna().nunique()
    overall = ("the XTREME score (mean over the nine tasks; QA counts (EM + F1) / 2, as XTREME's evaluate.py)"
               if name == "XTREME" else "the mean over targets")  # fmt: skip
    caption = (f"Mean ± standard deviation over {seeds} seed(s) of the mean over languages (English included) of each "
               f"target's main metric, x{scale:g}; in brackets the difference of the means from the `{BASELINE}` pipeline "
               f"(no intermediate training); best mean per column in bold; `{name}`: {overall}.  A seed-free cell "
               f"(retrieval from the base model) has no ±.")  # fmt: skip
    write_captioned(prefix, *_bold_md_tex(stats, digits, scale), caption)


def _bold_md_tex(stats: pd.DataFrame, digits: int, scale: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The text table twice: best cells in Markdown bold and in LaTeX bold."""
    return (_wide(stats, digits=digits, scale=scale, bold=("**", "**")),
            _wide(stats, digits=digits, scale=scale, bold=("\\textbf{", "}")))  # fmt: skip


def language_table(long: pd.DataFrame, target: str) -> pd.DataFrame:
    """One target: rows (model, pipeline), columns languages then 'mean'; mean, sd, seeds per cell."""
    main = long[long["main"] & (long["target"] == target)]
    per_lang = main.groupby(["model", "pipeline", "language"], sort=False)["value"].agg(["mean", "std", "count"]).reset_index()
    per_seed = main.groupby(["model", "pipeline", "seed"], dropna=False, sort=False)["value"].mean().reset_index()
    overall = per_seed.groupby(["model", "pipeline"], sort=False)["value"].agg(["mean", "std", "count"]).reset_index().assign(language="mean")
    stats = pd.concat([per_lang, overall], ignore_index=True).rename(columns={"language": "column"})
    return _seed_stats(stats, main, [*dict.fromkeys(main["language"]), "mean"])


def write_language_tables(long: pd.DataFrame, out_dir: str, targets: list[str], *, digits: int = 1, scale: float = 100.0) -> None:
    """``{out_dir}/{target}.{csv,md,tex}`` for every target: per-language scores of every pipeline."""
    for target in targets:
        stats = language_table(long, target)
        if stats.empty:
            raise ValueError(f"no scores for target '{target}' in the long table.")
        prefix = f"{out_dir}/{target}"
        with atomic_path(f"{prefix}.csv") as tmp:
            stats.to_csv(tmp, index=False, float_format="%.6f")
        seeds = long[long["target"] == target]["seed"].dropna().nunique()
        metric = long[long["main"] & (long["target"] == target)]["metric"].iloc[0]
        caption = (f"{target}: {metric} per language, mean ± standard deviation over {seeds} seed(s), x{scale:g}; in "
                   f"brackets the difference from `{BASELINE}`; best per language in bold.")  # fmt: skip
        write_captioned(prefix, *_bold_md_tex(stats, digits, scale), caption)


def write_statistics(long: pd.DataFrame, prediction_files: list[str], prefix_dir: str, *, n_resamples: int = 1000,
                     confidence: float = 0.95, seed: int = 0, digits: int = 1, scale: float = 100.0) -> None:  # fmt: skip
    """``confidence.csv`` (bootstrap intervals per language and cell) and ``significance.{csv,md,tex}``
    (each pipeline against ``none``: difference, paired bootstrap interval, Wilcoxon and t-test)."""
    from xstilts.scoring.stats import MIN_SEEDS, confidence_table, load_examples, significance_table

    ex = load_examples(prediction_files, long)
    conf = confidence_table(long, ex, n_resamples=n_resamples, confidence=confidence, seed=seed)
    with atomic_path(f"{prefix_dir}/confidence.csv") as tmp:
        conf.to_csv(tmp, index=False, float_format="%.6f")
    sig = significance_table(long, ex, n_resamples=n_resamples, confidence=confidence, seed=seed)
    with atomic_path(f"{prefix_dir}/significance.csv") as tmp:
        sig.to_csv(tmp, index=False, float_format="%.6g")
    pct = f"{confidence * 100:g} %"
    text = pd.DataFrame({
        "model": sig["model"], "pipeline": sig["pipeline"], "target": sig["target"],
        "Δ": [fmt_number(v * scale, digits, True) for v in sig["delta"]],
        f"{pct} interval of Δ": [("–" if pd.isna(lo) else f"[{fmt_number(lo * scale, digits, True)}, {fmt_number(hi * scale, digits, True)}]")
                                 for lo, hi in zip(sig["ci_low"], sig["ci_high"])],
        "Wilcoxon p": ["–" if pd.isna(v) else f"{v:.3g}" for v in sig["wilcoxon_p"]],
        "t-test p": ["–" if pd.isna(v) else f"{v:.3g}" for v in sig["ttest_p"]],
        "pairs (seeds x languages)": [f"{n} ({s} x {lang})" for n, s, lang in zip(sig["n_pairs"], sig["n_seeds"], sig["n_languages"])],
        "evidence": sig["evidence"],
    }) if not sig.empty else pd.DataFrame(columns=["model", "pipeline", "target"])  # fmt: skip
    seeds = long["seed"].dropna().nunique()
    caption = (f"Each pipeline against `{BASELINE}` (same model, same target), main metric x{scale:g}. Δ: mean difference over "
               f"the (seed, language) pairs (same target-training seed, same test set; a seed-free baseline pairs with "
               f"every seed). Interval: {pct} percentile bootstrap of the difference of the cells over test examples "
               f"({n_resamples} resamples, the same resample for both pipelines and every seed; BUCC has none). Wilcoxon "
               f"signed-rank and paired t-test over the pairs (scipy); pairs that share a seed are not independent, so "
               f"the p-values overstate the evidence. {seeds} seed(s): with fewer than {MIN_SEEDS} the evidence is called "
               f"weak whatever the p-values; no stars are printed.")  # fmt: skip
    tex = text.rename(columns={"Δ": "$\\Delta$", f"{pct} interval of Δ": f"{pct} interval"}).copy()
    tex = tex.map(lambda v: str(v).replace("–", "--").replace("%", "\\%")) if not tex.empty else tex
    tex.columns = [c.replace("%", "\\%") for c in tex.columns]
    write_captioned(f"{prefix_dir}/significance", text,
                    latex_table(tex, caption).replace("{ll", "{lll", 1) if not tex.empty else "% " + caption + "\n", caption)  # fmt: skip


def published_table(long: pd.DataFrame, model_ids: dict[str, str]) -> pd.DataFrame:
    """Our scores beside published ones (xstilts.reporting.published) for the same base model, pipeline, target
    and metric: ours is the mean over seeds of the mean over languages, on the published 0-100 scale."""
    from xstilts.reporting.published import PUBLISHED

    rows = []
    for model, hub_id in model_ids.items():
        entry = PUBLISHED.get(hub_id)
        if entry is None:
            continue
        mine = long[(long["model"] == model) & (long["pipeline"] == entry["pipeline"])]
        for target, metrics in entry["scores"].items():
            for metric, published in metrics.items():
                sel = mine[(mine["target"] == target) & (mine["metric"] == metric)]
                if sel.empty:
                    continue
                per_seed = sel.groupby("seed", dropna=False)["value"].mean()
                ours = float(per_seed.mean()) * 100
                rows.append({"model": model, "pipeline": entry["pipeline"], "target": target, "metric": metric,
                             "ours": ours, "published": published, "difference": ours - published,
                             "languages": int(sel["language"].nunique()), "seeds": int(per_seed.size),
                             "source": entry["source"]})  # fmt: skip
    return pd.DataFrame(rows, columns=["model", "pipeline", "target", "metric", "ours", "published", "difference",
                                       "languages", "seeds", "source"])  # fmt: skip


def write_published(long: pd.DataFrame, model_ids: dict[str, str], prefix: str) -> None:
    table = published_table(long, model_ids)
    with atomic_path(f"{prefix}.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    caption = ("Our results beside published ones for the same base model (xstilts/published.py, where each number's "
               "source is given): ours is the mean over seeds of the mean over the configured languages (comparable "
               "only when they are XTREME's), x100; difference = ours - published.")  # fmt: skip
    if table.empty:
        body = f"No published numbers are on record for the models of this experiment ({', '.join(model_ids.values()) or 'none from the Hub'})."
    else:
        shown = table.drop(columns="source").assign(**{c: table[c].map(lambda v: f"{v:.1f}") for c in ("ours", "published")},
                                                     difference=table["difference"].map(lambda v: f"{v:+.1f}"))  # fmt: skip
        body = shown.to_markdown(index=False) + "\n\nSources: " + "; ".join(sorted(set(table["source"])))
    with atomic_path(f"{prefix}.md") as tmp, open(tmp, "w") as f:
        f.write(body + f"\n\n{caption}\n")
