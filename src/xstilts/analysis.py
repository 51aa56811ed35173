"""Analyses that answer the research questions of config/rq/ presets, from ``scores_long.csv``.

``task_category`` -- which intermediate task categories (NLI, paraphrase, extractive QA, commonsense
multiple choice, syntactic tagging) help syntactic targets (POS, NER) versus semantic ones (XNLI,
PAWS-X, QA, retrieval)?  For every single-task pipeline and target, the gain is the pipeline's cell
minus the ``none`` cell of the same model (main metric, mean over languages, then over seeds); a
category's gain is the mean over its tasks, shown with the per-task points.  The seed spread of each
gain is the standard deviation over seeds of the per-seed difference (seed s of the pipeline against
seed s of ``none``; a seed-free ``none`` cell against every seed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .report import BASELINE, _fmt, write_captioned
from .stats import pair_with_baseline
from .utils import atomic_path

TARGET_GROUPS = ("syntactic", "semantic")


def _per_seed_cells(long: pd.DataFrame) -> pd.DataFrame:
    main = long[long["main"].astype(bool)]
    return main.groupby(["model", "pipeline", "target", "seed"], dropna=False, sort=False)["value"].mean().reset_index()


def task_gains(long: pd.DataFrame, pipeline_category: dict[str, str], target_group: dict[str, str]) -> pd.DataFrame:
    """One row per (model, pipeline, target): the pipeline's intermediate category, the target's group,
    the gain over ``none`` (mean over seeds) and its spread over seeds."""
    cells = _per_seed_cells(long)
    rows = []
    for (model, pipeline, target), g in cells.groupby(["model", "pipeline", "target"], sort=False):
        if pipeline == BASELINE or pipeline not in pipeline_category or target not in target_group:
            continue
        base = cells[(cells["model"] == model) & (cells["pipeline"] == BASELINE) & (cells["target"] == target)]
        if base.empty:
            continue
        paired = pair_with_baseline(g, base, [])
        diffs = (paired["value"] - paired["baseline"]).to_numpy()
        if diffs.size == 0:
            continue
        rows.append({"model": model, "pipeline": pipeline, "category": pipeline_category[pipeline], "target": target,
                     "group": target_group[target], "gain": float(diffs.mean()),
                     "seed_sd": float(diffs.std(ddof=1)) if diffs.size > 1 else np.nan, "n_seeds": int(diffs.size)})  # fmt: skip
    return pd.DataFrame(rows, columns=["model", "pipeline", "category", "target", "group", "gain", "seed_sd", "n_seeds"])


def category_table(gains: pd.DataFrame) -> pd.DataFrame:
    """Rows (model, category), columns the targets then the two group means: the mean gain over the
    category's tasks, the spread over those tasks, and how many tasks."""
    parts = []
    for col, sel in [*((t, gains["target"] == t) for t in dict.fromkeys(gains["target"])),
                     *((f"all {g}", gains["group"] == g) for g in TARGET_GROUPS)]:  # fmt: skip
        # a group column: first the mean over the group's targets per task, then over the category's tasks
        per_task = gains[sel].groupby(["model", "category", "pipeline"], sort=False)["gain"].mean().reset_index()
        if per_task.empty:
            continue
        agg = per_task.groupby(["model", "category"], sort=False)["gain"].agg(["mean", "std", "count"]).reset_index()
        parts.append(agg.assign(column=col))
    return pd.concat(parts, ignore_index=True).rename(columns={"std": "task_sd", "count": "n_tasks"})


def write_task_category(long: pd.DataFrame, pipeline_category: dict[str, str], target_group: dict[str, str], prefix: str,
                        figure: str, *, digits: int = 1, scale: float = 100.0, width: float = 8.0, dpi: int = 200,
                        cmap: str = "RdBu", font_scale: float = 0.9) -> None:  # fmt: skip
    gains = task_gains(long, pipeline_category, target_group)
    if gains.empty:
        raise ValueError("task_category: no single-task pipeline has both its scores and a `none` baseline to compare with.")
    table = category_table(gains)
    with atomic_path(f"{prefix}.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")
    with atomic_path(f"{prefix}_points.csv") as tmp:
        gains.to_csv(tmp, index=False, float_format="%.6f")

    def cell(r):
        text = _fmt(r["mean"] * scale, digits, True)
        if r["n_tasks"] > 1:
            text += f" ± {_fmt(r['task_sd'] * scale, digits)}"
        return f"{text} ({r['n_tasks']})"

    wide = table.assign(text=table.apply(cell, axis=1)).pivot_table(
        index=["model", "category"], columns="column", values="text", aggfunc="first", sort=False)  # fmt: skip
    wide = wide.reindex(columns=list(dict.fromkeys(table["column"]))).fillna("–").reset_index()
    wide.columns.name = None
    seeds = int(gains["n_seeds"].max())
    groups = {g: sorted(t for t, v in target_group.items() if v == g and t in set(gains["target"])) for g in TARGET_GROUPS}
    caption = (f"Gain over `{BASELINE}` by intermediate-task category (rows) and target (columns), x{scale:g}: the mean over "
               f"the category's single-task pipelines of (pipeline cell - `{BASELINE}` cell), each cell the mean over "
               f"{seeds} seed(s) of the mean over languages of the main metric; ± is the spread over the category's "
               f"tasks, (n) how many tasks. Syntactic targets: {', '.join(groups['syntactic']) or 'none'}; semantic: "
               f"{', '.join(groups['semantic']) or 'none'}; the `all` columns average a task's gains over the group's "
               f"targets first. Per-task points and their seed spread: {prefix.rsplit('/', 1)[-1]}_points.csv.")  # fmt: skip
    write_captioned(prefix, wide, wide, caption)
    _figure(gains, table, figure, scale=scale, width=width, dpi=dpi, cmap=cmap, font_scale=font_scale, seeds=seeds)


def _figure(gains, table, path, *, scale, width, dpi, cmap, font_scale, seeds):
    """Left: heatmap of the mean gain per category and target (diverging, centred on zero); right: every
    single-task pipeline's gain averaged over each target group, with the category means."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", font_scale=font_scale)
    models = list(dict.fromkeys(gains["model"]))
    heights = [max(2.8, 0.5 * gains[gains["model"] == m]["category"].nunique() + 2.0) for m in models]
    fig, axes = plt.subplots(len(models), 2, figsize=(width, sum(heights)), squeeze=False,
                             gridspec_kw={"width_ratios": [1.4, 1.0]})  # fmt: skip
    targets = list(dict.fromkeys(gains["target"]))
    for (ax_h, ax_p), model in zip(axes, models):
        t = table[(table["model"] == model) & table["column"].isin(targets)]
        heat = t.pivot_table(index="category", columns="column", values="mean", sort=False).reindex(columns=targets) * scale
        vmax = float(np.nanmax(np.abs(heat.values))) if np.isfinite(heat.values).any() else 1.0
        sns.heatmap(heat, ax=ax_h, cmap=cmap, center=0.0, vmin=-vmax, vmax=vmax, annot=True, fmt="+.1f", linewidths=0.5,
                    cbar_kws={"label": f"Δ vs {BASELINE} (x{scale:g})"})  # fmt: skip
        ax_h.set_title(f"{model}: gain by category ({seeds} seed{'s' if seeds != 1 else ''})", fontsize="medium")
        ax_h.set_xlabel("target")
        ax_h.set_ylabel("intermediate category")
        ax_h.tick_params(axis="x", rotation=30)
        ax_h.tick_params(axis="y", rotation=0)
        g = gains[gains["model"] == model]
        per_task = g.groupby(["category", "pipeline", "group"], sort=False)["gain"].mean().reset_index()
        per_task["gain"] *= scale
        sns.stripplot(data=per_task, y="category", x="gain", hue="group", hue_order=list(TARGET_GROUPS), dodge=True,
                      ax=ax_p, size=5, alpha=0.8, palette=["#b2182b", "#2166ac"])  # fmt: skip
        sns.pointplot(data=per_task, y="category", x="gain", hue="group", hue_order=list(TARGET_GROUPS), dodge=0.4,
                      ax=ax_p, errorbar=None, markers="D", linestyles="none", palette=["#67001f", "#053061"], legend=False)  # fmt: skip
        ax_p.axvline(0.0, color="0.3", lw=0.8)
        ax_p.set_xlabel(f"gain per task (x{scale:g})")
        ax_p.set_ylabel("")
        ax_p.set_title("task ● · category mean ◆", fontsize="small")
        ax_p.legend(title="targets", fontsize="x-small", title_fontsize="x-small", loc="lower left", bbox_to_anchor=(0.0, 1.08), ncol=2,
                    frameon=False)  # fmt: skip
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
