"""Analyses that answer the research questions of config/rq/ presets, from ``scores_long.csv``.

``task_category`` -- which intermediate task categories (NLI, paraphrase, extractive QA, commonsense
multiple choice, syntactic tagging) help syntactic targets (POS, NER) versus semantic ones (XNLI,
PAWS-X, QA, retrieval)?  For every single-task pipeline and target, the gain is the pipeline's cell
minus the ``none`` cell of the same model (main metric, mean over languages, then over seeds); a
category's gain is the mean over its tasks, shown with the per-task points.  The seed spread of each
gain is the standard deviation over seeds of the per-seed difference (seed s of the pipeline against
seed s of ``none``; a seed-free ``none`` cell against every seed).

Four further analyses share one recipe (helpers ``_seed_cells``, ``_paired``, ``_compare``): every
score is the target's main metric, averaged over the languages a quantity covers within one seed,
then over seeds; a gain is paired by seed (``stats.pair_with_baseline``: seed s against seed s, a
seed-free baseline against every seed) and averaged over seeds; "seed sd" is the standard deviation
(ddof=1) over seeds of the per-seed quantity, undefined with one seed.

``low_resource`` -- is zero-shot transfer after English intermediate training more robust on
low-resource languages (Joshi et al. 2020 classes 0-5) than a baseline pipeline?
``scale`` -- do the gains over ``none`` shrink as the base model grows?
``order`` -- does the order of intermediate tasks (or an English-first vs mixed-language curriculum)
matter?  Each pipeline against ``none`` and against its comparison's first pipeline.
``mixed_language`` -- intermediate data mixed from English and translated rows at a ratio: English
and non-English gains over ``none`` against the ratio, the non-English ones also split into the
languages mixed in and the rest.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from xstilts.common.files import atomic_path
from xstilts.reporting.formatting import BASELINE, fmt_number, tex_escape, write_captioned
from xstilts.scoring.stats import MIN_SEEDS, pair_with_baseline

TARGET_GROUPS = ("syntactic", "semantic")


def _per_seed_cells(long: pd.DataFrame) -> pd.DataFrame:
    main = long[long["main"].astype(bool)]
    return main.groupby(["model", "pipeline", "target", "seed"], dropna=False, sort=False)["value"].mean().reset_index()


def _text_table(table: pd.DataFrame, index: list[str], text) -> pd.DataFrame:
    """The printable wide table: one row per ``index``, one column per value of ``table["column"]`` in
    the order they first appear, each cell its ``text`` ('–' where a row has no value)."""
    wide = table.assign(text=text).pivot_table(index=index, columns="column", values="text", aggfunc="first", sort=False)
    rows = list(dict.fromkeys(map(tuple, table[index].itertuples(index=False))))  # pivot_table may reorder rows
    wide = wide.reindex(index=pd.MultiIndex.from_tuples(rows, names=index) if len(index) > 1 else [r[0] for r in rows],
                        columns=list(dict.fromkeys(table["column"]))).fillna("–").reset_index()  # fmt: skip
    wide.columns.name = None
    return wide


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
        text = fmt_number(r["mean"] * scale, digits, True)
        if r["n_tasks"] > 1:
            text += f" ± {fmt_number(r['task_sd'] * scale, digits)}"
        return f"{text} ({r['n_tasks']})"

    wide = _text_table(table, ["model", "category"], table.apply(cell, axis=1))
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


# ----------------------------------------------------------------------------- shared helpers
# The writers below take the settings of every report figure (digits, scale, width, dpi, cmap, font_scale);
# none of their figures is a heatmap, so ``cmap`` (the diverging palette of the heatmaps) goes unused.

ENGLISH = "en"
CELL = ["model", "pipeline", "target"]


def _select(long: pd.DataFrame, baseline: str, pipelines: list[str] | None, what: str) -> tuple[pd.DataFrame, list[str]]:
    """Main-metric rows of the baseline and of ``pipelines`` (None: every other pipeline), and the
    pipelines in order; a missing baseline or pipeline is an error that names it."""
    main = long[long["main"].astype(bool)]
    present = list(dict.fromkeys(main["pipeline"]))
    if baseline not in present:
        raise ValueError(f"{what}: the scores have no main-metric row of the baseline pipeline '{baseline}'.")
    if pipelines is None:
        pipelines = sorted(p for p in present if p != baseline)
    pipelines = [p for p in dict.fromkeys(pipelines) if p != baseline]
    missing = [p for p in pipelines if p not in present]
    if missing:
        raise ValueError(f"{what}: the scores have no main-metric row of pipeline(s) {', '.join(map(repr, missing))}.")
    if not pipelines:
        raise ValueError(f"{what}: no pipeline other than the baseline '{baseline}' to compare with it.")
    return main[main["pipeline"].isin([baseline, *pipelines])], pipelines


def _seed_cells(main: pd.DataFrame, by=()) -> pd.DataFrame:
    """One row per (model, pipeline, target, seed, *by): the mean ``value`` over the rest (languages).
    A seed-free row (a retrieval baseline) keeps seed NaN."""
    keys = [*CELL, "seed", *by]
    return main.groupby(keys, dropna=False, sort=False)["value"].mean().reset_index()


def _with_target_mean(cells: pd.DataFrame, name: str = "mean") -> pd.DataFrame:
    """``cells`` plus, per (model, pipeline, seed), the mean over all of the model's targets (target
    ``name``); a seed-free target joins every seed, a seed missing a target gets no mean."""
    rows = []
    for (model, pipeline), g in cells.groupby(["model", "pipeline"], sort=False):
        targets = list(dict.fromkeys(cells.loc[cells["model"] == model, "target"]))
        free = g[g["seed"].isna()].groupby("target")["value"].mean()
        seeded = g[g["seed"].notna()]
        for seed in list(dict.fromkeys(seeded["seed"])) or [np.nan]:
            own = seeded[seeded["seed"] == seed].groupby("target")["value"].mean()
            values = [own.get(t, free.get(t, np.nan)) for t in targets]
            if not np.isnan(values).any():
                rows.append({"model": model, "pipeline": pipeline, "target": name, "seed": seed, "value": float(np.mean(values))})
    return pd.concat([cells, pd.DataFrame(rows, columns=[*CELL, "seed", "value"])], ignore_index=True)


def _paired(cells: pd.DataFrame, reference: str, by=(), role: str = "the baseline pipeline") -> pd.DataFrame:
    """Per-seed differences of every other pipeline's cells from pipeline ``reference``'s, same model,
    target and ``by``: seed s against seed s, a seed-free reference against every seed."""
    out = []
    ref_all = cells[cells["pipeline"] == reference]
    for (model, target), g in cells[cells["pipeline"] != reference].groupby(["model", "target"], sort=False):
        ref = ref_all[(ref_all["model"] == model) & (ref_all["target"] == target)]
        if ref.empty:
            raise ValueError(f"no scores of {role} '{reference}' for model '{model}' on target '{target}' to compare with.")
        paired = pair_with_baseline(g, ref[["seed", *by, "value"]], list(by))
        if paired.empty:
            raise ValueError(f"model '{model}' on target '{target}': {role} '{reference}' shares no seed with "
                             f"{', '.join(map(repr, dict.fromkeys(g['pipeline'])))}.")  # fmt: skip
        out.append(paired.assign(value=paired["value"] - paired["baseline"]).drop(columns="baseline"))
    return pd.concat(out, ignore_index=True) if out else cells.iloc[:0]


def _summary(cells: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean, seed sd (ddof=1; NaN for one seed) and number of seeds of ``value`` per ``keys``."""
    s = cells.groupby(keys, dropna=False, sort=False)["value"].agg(["mean", "std", "count"]).reset_index()
    return s.rename(columns={"std": "sd", "count": "n_seeds"})


def _compare(cells: pd.DataFrame, reference: str, by=(), role: str = "the baseline pipeline") -> pd.DataFrame:
    """Per (model, pipeline, target, *by): score and its seed sd, number of seeds, and the gain over
    pipeline ``reference`` paired by seed with its seed sd (NaN on the reference's own rows)."""
    keys = [*CELL, *by]
    scores = _summary(cells, keys).rename(columns={"mean": "score", "sd": "score_sd"})
    gains = _summary(_paired(cells, reference, by, role), keys).rename(columns={"mean": "gain", "sd": "gain_sd"})
    return scores.merge(gains.drop(columns="n_seeds"), on=keys, how="left")


def _sorted(df: pd.DataFrame, orders: dict[str, list]) -> pd.DataFrame:
    """Rows sorted by the columns of ``orders``, each in the order of its list."""
    ranks = {col: {v: k for k, v in enumerate(values)} for col, values in orders.items()}
    return df.sort_values(list(orders), key=lambda s: s.map(ranks[s.name]), kind="stable", ignore_index=True)


def _pm(mean, sd, digits: int, scale: float, signed: bool = False) -> str:
    """'mean ± sd' (x scale), no ± when sd is undefined, '–' when there is no mean."""
    if pd.isna(mean):
        return "–"
    text = fmt_number(mean * scale, digits, signed)
    return text if pd.isna(sd) else f"{text} ± {fmt_number(sd * scale, digits)}"


def _seeds_text(n: int) -> str:
    text = f"{n} seed{'s' if n != 1 else ''}"
    if n < MIN_SEEDS:
        text += f" (fewer than {MIN_SEEDS}: the evidence is weak)"
    return text


SD_TEXT = "± is the standard deviation (ddof=1) over seeds of the per-seed quantity (absent with a single seed)"


def _n_seeds(main: pd.DataFrame) -> int:
    return int(main["seed"].dropna().nunique()) or 1


def _tex(wide: pd.DataFrame, caption: str, n_labels: int) -> str:
    """Booktabs LaTeX of a text table whose first ``n_labels`` columns are names (escaped); signs of
    the numbers in math mode."""

    def cell(v):
        v = tex_escape(str(v)).replace("±", "$\\pm$").replace("–", "--")
        return re.sub(r"(?<![\w.$])([+-])(?=\d)", r"$\1$", v)

    lines = ["% " + caption, "\\begin{tabular}{" + "l" * n_labels + "r" * (wide.shape[1] - n_labels) + "}", "\\toprule",
             " & ".join(tex_escape(str(c)) for c in wide.columns) + " \\\\", "\\midrule"]  # fmt: skip
    for row in wide.itertuples(index=False):
        lines.append(" & ".join(tex_escape(str(v)) if k < n_labels else cell(v) for k, v in enumerate(row)) + " \\\\")
    return "\n".join([*lines, "\\bottomrule", "\\end{tabular}", ""])


def _write_csv(frame: pd.DataFrame, path: str) -> None:
    """Machine-readable: every float at full precision."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _write_table(prefix: str, text: pd.DataFrame, caption: str, n_labels: int) -> None:
    write_captioned(prefix, text, _tex(text, caption, n_labels), caption)


def _pyplot(font_scale: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", font_scale=font_scale)
    return plt, sns


def _grid(plt, n_panels: int, width: float, panel_height: float, min_panel_width: float = 2.3):
    """A figure of ``width`` inches with as many panel columns as fit ``min_panel_width`` each."""
    ncols = max(1, min(n_panels, int(width // min_panel_width)))
    nrows = math.ceil(n_panels / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, panel_height * nrows + 0.5), squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_axis_off()
    return fig, list(axes.flat[:n_panels])


def _save(plt, fig, path: str, dpi: int, handles=(), seeds: int | None = None) -> None:
    """Save as PNG (atomically), with the legend ``handles`` above the panels in as many columns as the
    width allows, titled with the number of seeds and what the whiskers are."""
    width, height = fig.get_size_inches()
    title = None if seeds is None else f"{seeds} seed{'s' if seeds != 1 else ''}; error bars: seed sd"
    top = 1.0
    if handles or title:
        longest = max([len(h.get_label()) for h in handles] or [1])
        ncol = max(1, min(len(handles) or 1, int((width - 0.3) / (0.45 + 0.07 * longest))))
        rows = math.ceil(len(handles) / ncol) + (title is not None)
        top = 1.0 - (0.18 * rows + 0.06) / height
        fig.legend(handles=list(handles), title=title, loc="upper center", ncol=ncol, frameon=False, fontsize="x-small",
                   title_fontsize="x-small", bbox_to_anchor=(0.5, 1.0))  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, top))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)


def _panel_title(*parts) -> str:
    return " · ".join(str(p) for p in parts if p is not None)


def _whiskers(ax, x, y, sd, **kw) -> None:
    """Seed-sd error bars where the sd is defined (two seeds or more)."""
    x, y, sd = (np.asarray(a, dtype=float) for a in (x, y, sd))
    ok = np.isfinite(sd) & np.isfinite(y)
    if ok.any():
        ax.errorbar(x[ok], y[ok], yerr=sd[ok], fmt="none", ecolor=kw.pop("ecolor", "0.15"), elinewidth=0.7, capsize=1.8, **kw)


def _zero(ax) -> None:
    ax.axhline(0.0, color="0.3", lw=0.8, zorder=1)


# ----------------------------------------------------------------------------- low-resource languages


def _language_classes(languages, classes: dict[str, int]) -> dict[str, int]:
    """Each language's resource class; English defaults to 5, any other language without one is an error."""
    out = {}
    for lang in dict.fromkeys(languages):
        k = classes.get(lang, 5 if lang == ENGLISH else None)
        if k is None:
            raise ValueError(f"low_resource: language '{lang}' has no resource class in params 'classes'.")
        if int(k) != k or not 0 <= k <= 5:
            raise ValueError(f"low_resource: the resource class of '{lang}' is {k!r}, not an integer from 0 to 5.")
        out[lang] = int(k)
    return out


def low_resource_tables(long: pd.DataFrame, classes: dict[str, int], baseline: str, pipelines: list[str] | None):
    """(table, languages): one row per (model, target, pipeline) with scores per resource class, English,
    transfer gap, worst non-English language, the mean over languages and gains over ``baseline``;
    and one row per (model, target, pipeline, language) with its score and gain."""
    main, pipelines = _select(long, baseline, pipelines, "low_resource")
    cls = _language_classes(main["language"], classes)
    main = main.assign(**{"class": main["language"].map(cls)})
    order = {"model": list(dict.fromkeys(main["model"])), "target": list(dict.fromkeys(main["target"])),
             "pipeline": [baseline, *pipelines]}  # fmt: skip
    overall = _sorted(_compare(_seed_cells(main), baseline), order)
    by_class = _compare(_seed_cells(main, ["class"]), baseline, ["class"]).set_index([*CELL, "class"]).sort_index()
    langs = _compare(_seed_cells(main, ["language", "class"]), baseline, ["language", "class"])
    langs = _sorted(langs.sort_values(["class", "language"], kind="stable"), order)
    # transfer gap per seed: English minus the mean of the other languages
    part = _seed_cells(main.assign(part=np.where(main["language"] == ENGLISH, "en", "other")), ["part"])
    gap = part[part["part"] == "en"].merge(part[part["part"] == "other"], on=[*CELL, "seed"], suffixes=("_en", ""))
    gap = _summary(gap.assign(value=gap["value_en"] - gap["value"]), CELL).set_index(CELL)
    present = sorted(set(cls.values()))
    rows = []
    for r in overall.itertuples(index=False):
        key = (r.model, r.pipeline, r.target)
        own = langs[(langs["model"] == r.model) & (langs["pipeline"] == r.pipeline) & (langs["target"] == r.target)]
        english = own.loc[own["language"] == ENGLISH, "score"]
        others = own[own["language"] != ENGLISH]
        worst = (others if not others.empty else own).sort_values(["score", "language"]).iloc[0]
        row = {"model": r.model, "target": r.target, "pipeline": r.pipeline, "n_seeds": r.n_seeds}
        for k in present:
            c = by_class.loc[(*key, k)] if (*key, k) in by_class.index else None
            row[f"class {k}"] = np.nan if c is None else c["score"]
            row[f"gain class {k}"] = np.nan if c is None else c["gain"]
            row[f"gain class {k} sd"] = np.nan if c is None else c["gain_sd"]
        row.update({"English": english.iloc[0] if not english.empty else np.nan,
                    "gap": gap.loc[key, "mean"] if key in gap.index else np.nan,
                    "worst language": worst["language"], "worst": worst["score"],
                    "mean": r.score, "seed sd": r.score_sd, "gain mean": r.gain, "gain mean sd": r.gain_sd})  # fmt: skip
        rows.append(row)
    table = pd.DataFrame(rows)
    languages = langs[["model", "target", "pipeline", "language", "class", "score", "score_sd", "gain", "gain_sd", "n_seeds"]]
    return table, languages


def write_low_resource(long: pd.DataFrame, classes: dict[str, int], prefix: str, figure: str, *, baseline: str = BASELINE,
                       pipelines: list[str] | None = None, digits: int = 1, scale: float = 100.0, width: float = 7.0,
                       dpi: int = 200, cmap: str = "RdBu", font_scale: float = 0.9) -> None:  # fmt: skip
    """``{prefix}.csv``, ``{prefix}_languages.csv``, ``{prefix}.md``/``.tex`` and the per-language gain figure."""
    table, languages = low_resource_tables(long, classes, baseline, pipelines)
    _write_csv(table, f"{prefix}.csv")
    _write_csv(languages, f"{prefix}_languages.csv")
    class_cols = [c for c in table.columns if re.fullmatch(r"class \d", c)]

    def text(r):
        out = {"model": r["model"], "target": r["target"], "pipeline": r["pipeline"]}
        for c in class_cols:
            out[c] = fmt_number(r[c] * scale, digits)
            if r["pipeline"] != baseline and not pd.isna(r[f"gain {c}"]):
                out[c] += f" ({_pm(r[f'gain {c}'], r[f'gain {c} sd'], digits, scale, True)})"
        out.update({"English": fmt_number(r["English"] * scale, digits), "gap": fmt_number(r["gap"] * scale, digits, True),
                    "worst": f"{fmt_number(r['worst'] * scale, digits)} ({r['worst language']})",
                    "mean": _pm(r["mean"], r["seed sd"], digits, scale)})  # fmt: skip
        return pd.Series(out)

    shown = table.apply(text, axis=1)
    n = _n_seeds(long[long["pipeline"].isin(set(table["pipeline"]))])
    caption = (f"Zero-shot scores by language resource class (Joshi et al. 2020; 0 = fewest resources, 5 = most; English "
               f"class 5 unless given), main metric x{scale:g}, each the mean over {_seeds_text(n)} of the per-seed mean "
               f"over the class's languages; in brackets the gain over `{baseline}` paired by seed (seed s against seed "
               f"s, a seed-free `{baseline}` against every seed), ± its seed spread. `gap`: English minus the mean of "
               f"the other languages (– without English); `worst`: the lowest-scoring non-English language; `mean`: "
               f"all languages, ± the seed spread. {SD_TEXT}. Per-language scores and gains: "
               f"{prefix.rsplit('/', 1)[-1]}_languages.csv.")  # fmt: skip
    _write_table(prefix, shown, caption, 3)
    _low_resource_figure(languages[languages["pipeline"] != baseline], figure, baseline=baseline, scale=scale, width=width,
                         dpi=dpi, font_scale=font_scale, seeds=n)  # fmt: skip


def _low_resource_figure(d: pd.DataFrame, path: str, *, baseline, scale, width, dpi, font_scale, seeds) -> None:
    """One panel per target (a column per model): bars = gain over the baseline per language, languages
    ordered by resource class, bars coloured by class, hatched by pipeline, whiskers = seed sd."""
    from matplotlib.patches import Patch

    plt, sns = _pyplot(font_scale)
    targets, models, pipes = (list(dict.fromkeys(d[c])) for c in ("target", "model", "pipeline"))
    palette = sns.color_palette("rocket_r", 8)[1:7]  # classes 0..5, light to dark
    hatches = ["", "////", "....", "xxxx", "\\\\\\\\", "oo"]
    fig, axes = plt.subplots(len(targets), len(models), figsize=(width, 2.5 * len(targets) + 0.5), squeeze=False)
    bw = 0.8 / len(pipes)
    for row, target in zip(axes, targets):
        for ax, model in zip(row, models):
            g = d[(d["model"] == model) & (d["target"] == target)]
            order = g[["language", "class"]].drop_duplicates().sort_values(["class", "language"])
            pos = {lang: i for i, lang in enumerate(order["language"])}
            for j, p in enumerate(pipes):
                gp = g[g["pipeline"] == p]
                x = gp["language"].map(pos).to_numpy() - 0.4 + bw * (j + 0.5)
                ax.bar(x, gp["gain"] * scale, width=bw, color=[palette[k] for k in gp["class"]], hatch=hatches[j % len(hatches)],
                       edgecolor="0.25" if len(pipes) > 1 else "none", linewidth=0.3, zorder=2)  # fmt: skip
                _whiskers(ax, x, gp["gain"] * scale, gp["gain_sd"] * scale, zorder=3)
            for i in np.flatnonzero(np.diff(order["class"].to_numpy())):
                ax.axvline(i + 0.5, color="0.45", lw=0.6, ls="--", zorder=1)
            _zero(ax)
            ax.set_xticks(range(len(pos)))
            ax.set_xticklabels(list(pos), rotation=90 if len(pos) > 12 else 0, fontsize="x-small")
            ax.set_xlim(-0.6, len(pos) - 0.4)
            ax.grid(axis="x", visible=False)
            ax.set_xlabel("")
            ax.set_ylabel(f"Δ vs {baseline} (x{scale:g})", fontsize="small")
            ax.set_title(_panel_title(model if len(models) > 1 else None, target), fontsize="small")
    handles = [Patch(facecolor=palette[k], label=f"class {k}") for k in sorted(set(d["class"]))]
    if len(pipes) > 1:
        handles += [Patch(facecolor="white", edgecolor="0.25", hatch=hatches[j % len(hatches)], label=p) for j, p in enumerate(pipes)]
    _save(plt, fig, path, dpi, handles, seeds)


# ----------------------------------------------------------------------------- model scale


def scale_table(long: pd.DataFrame, params_millions: dict[str, float], baseline: str, pipelines: list[str] | None) -> pd.DataFrame:
    """One row per (pipeline, model, column) -- columns the targets then ``mean`` (the mean over targets
    of the per-seed gain) -- with the model's parameter count and the gain over ``baseline``."""
    main, pipelines = _select(long, baseline, pipelines, "scale")
    missing = [m for m in dict.fromkeys(main["model"]) if m not in params_millions]
    if missing:
        raise ValueError(f"scale: model(s) {', '.join(map(repr, missing))} have no size in params 'params_millions'.")
    cells = _with_target_mean(_seed_cells(main))
    table = _compare(cells, baseline)
    table = table[table["pipeline"] != baseline].rename(columns={"target": "column"})
    table.insert(2, "params_millions", table["model"].map(params_millions).astype(float))
    models = sorted(dict.fromkeys(table["model"]), key=lambda m: (params_millions[m], m))
    return _sorted(table, {"pipeline": pipelines, "model": models, "column": [*dict.fromkeys(main["target"]), "mean"]})


def _wide_numbers(table: pd.DataFrame, index: list[str], fields: dict[str, str]) -> pd.DataFrame:
    """A wide CSV: per column ``c`` of ``table['column']``, one column per field (``c`` + suffix)."""
    wide = table.pivot_table(index=index, columns="column", values=list(fields), aggfunc="first", sort=False)
    out = pd.DataFrame(index=wide.index)
    for col in dict.fromkeys(table["column"]):
        for field, suffix in fields.items():
            out[f"{col}{suffix}"] = wide[(field, col)] if (field, col) in wide.columns else np.nan
            if field == "n_seeds":
                out[f"{col}{suffix}"] = out[f"{col}{suffix}"].astype("Int64")
    return out.reset_index()


def write_scale(long: pd.DataFrame, params_millions: dict[str, float], prefix: str, figure: str, *, baseline: str = BASELINE,
                pipelines: list[str] | None = None, digits: int = 1, scale: float = 100.0, width: float = 7.0, dpi: int = 200,
                cmap: str = "RdBu", font_scale: float = 0.9) -> None:  # fmt: skip
    """``{prefix}.csv``, ``{prefix}.md``/``.tex`` and the gain-against-size figure."""
    table = scale_table(long, params_millions, baseline, pipelines)
    _write_csv(_wide_numbers(table, ["pipeline", "model", "params_millions"], {"gain": "", "gain_sd": "_sd", "n_seeds": "_seeds"}),
               f"{prefix}.csv")  # fmt: skip
    shown = _text_table(table, ["pipeline", "model", "params_millions"],
                        [_pm(g, s, digits, scale, True) for g, s in zip(table["gain"], table["gain_sd"])])  # fmt: skip
    shown["params_millions"] = [f"{v:g}" for v in shown["params_millions"]]
    shown = shown.rename(columns={"params_millions": "params (M)"})
    n = _n_seeds(long[long["pipeline"].isin(set(table["pipeline"]))])
    caption = (f"Gain over `{baseline}` by base-model size (rows: pipeline, then models from smallest to largest, with "
               f"their parameter counts in millions), main metric x{scale:g}: the mean over {_seeds_text(n)} of the "
               f"per-seed difference of the mean over languages (seed s against seed s of `{baseline}`, a seed-free "
               f"`{baseline}` against every seed); `mean`: per seed the mean over targets of that difference. {SD_TEXT}.")  # fmt: skip
    _write_table(prefix, shown, caption, 2)
    _scale_figure(table, figure, baseline=baseline, scale=scale, width=width, dpi=dpi, font_scale=font_scale, seeds=n)


def _scale_figure(table: pd.DataFrame, path: str, *, baseline, scale, width, dpi, font_scale, seeds) -> None:
    """Gain (y) against parameter count (x, log scale when the sizes span a factor 3 or more): one
    panel per target and one for the mean over targets, one line per pipeline, error bars = seed sd."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullLocator

    plt, sns = _pyplot(font_scale)
    columns, pipes = list(dict.fromkeys(table["column"])), list(dict.fromkeys(table["pipeline"]))
    sizes = table.drop_duplicates("model").sort_values("params_millions")
    palette = sns.color_palette("colorblind", len(pipes))
    fig, axes = _grid(plt, len(columns), width, 2.4, min_panel_width=3.2)  # room for the size labels
    for ax, col in zip(axes, columns):
        for color, p in zip(palette, pipes):
            s = table[(table["pipeline"] == p) & (table["column"] == col)].sort_values("params_millions")
            ax.plot(s["params_millions"], s["gain"] * scale, marker="o", ms=3.5, lw=1.2, color=color, zorder=3)
            _whiskers(ax, s["params_millions"], s["gain"] * scale, s["gain_sd"] * scale, ecolor=color, zorder=3)
        _zero(ax)
        lo, hi = sizes["params_millions"].min(), sizes["params_millions"].max()
        log = hi / lo >= 3  # sizes within a factor 3 (one family cut to fewer layers): a linear axis keeps them apart
        if log:
            ax.set_xscale("log")
            ax.set_xlim(lo / 1.5, hi * 1.5)
        else:
            pad = max(hi - lo, 1.0) * 0.12
            ax.set_xlim(lo - pad, hi + pad)
        ax.set_xticks(sizes["params_millions"])
        ax.set_xticklabels([f"{m}\n{v:.0f}M" for m, v in zip(sizes["model"], sizes["params_millions"])], fontsize="x-small",
                           rotation=30 if len(sizes) > 2 else 0, ha="right" if len(sizes) > 2 else "center")  # fmt: skip
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_title("mean over targets" if col == "mean" else col, fontsize="small")
        ax.set_ylabel(f"Δ vs {baseline} (x{scale:g})", fontsize="small")
        ax.set_xlabel(f"parameters ({'log' if log else 'linear'} scale)", fontsize="x-small")
    handles = [Line2D([], [], color=c, marker="o", ms=3.5, label=p) for c, p in zip(palette, pipes)]
    _save(plt, fig, path, dpi, handles, seeds)


# ----------------------------------------------------------------------------- order of intermediate tasks


def order_table(long: pd.DataFrame, comparisons: dict[str, list[str]], baseline: str) -> pd.DataFrame:
    """One row per (comparison, model, pipeline, column) -- columns the targets then ``mean`` (per seed
    the mean over targets) -- with the score, the gain over ``baseline`` and ``vs_first``, the
    difference from the comparison's first pipeline paired by seed, each with its seed sd."""
    if not comparisons:
        raise ValueError("order: params 'comparisons' names no comparison.")
    wanted = [p for ps in comparisons.values() for p in ps]
    main, _ = _select(long, baseline, wanted, "order")
    cells = _with_target_mean(_seed_cells(main))
    against_base = _compare(cells, baseline)
    parts = []
    for name, pipes in comparisons.items():
        if not pipes:
            raise ValueError(f"order: comparison '{name}' lists no pipeline.")
        mine = cells[cells["pipeline"].isin(pipes)]
        vs_first = _summary(_paired(mine, pipes[0], role=f"the first pipeline of comparison '{name}'"), CELL)
        vs_first = vs_first.rename(columns={"mean": "vs_first", "sd": "vs_first_sd"}).drop(columns="n_seeds")
        part = against_base[against_base["pipeline"].isin(pipes)].merge(vs_first, on=CELL, how="left")
        order = {"model": list(dict.fromkeys(main["model"])), "pipeline": list(pipes),
                 "target": [*dict.fromkeys(main["target"]), "mean"]}  # fmt: skip
        parts.append(_sorted(part, order).assign(comparison=name))
    table = pd.concat(parts, ignore_index=True).rename(columns={"target": "column"})
    return table[["comparison", "model", "pipeline", "column", "score", "score_sd", "gain", "gain_sd", "vs_first", "vs_first_sd", "n_seeds"]]


def write_order(long: pd.DataFrame, comparisons: dict[str, list[str]], prefix: str, figure: str, *, baseline: str = BASELINE,
                digits: int = 1, scale: float = 100.0, width: float = 7.0, dpi: int = 200, cmap: str = "RdBu",
                font_scale: float = 0.9) -> None:  # fmt: skip
    """``{prefix}.csv`` (long: one row per comparison, model, pipeline and column), ``.md``/``.tex`` and the figure."""
    table = order_table(long, comparisons, baseline)
    _write_csv(table, f"{prefix}.csv")

    def cell(r):
        text = f"{_pm(r.score, r.score_sd, digits, scale)} ({_pm(r.gain, r.gain_sd, digits, scale, True)})"
        return text if pd.isna(r.vs_first) else f"{text} [{_pm(r.vs_first, r.vs_first_sd, digits, scale, True)}]"

    shown = _text_table(table, ["comparison", "model", "pipeline"], [cell(r) for r in table.itertuples()])
    n = _n_seeds(long[long["pipeline"].isin(set(table["pipeline"]))])
    caption = (f"Order of intermediate tasks: per comparison and model, each pipeline's score, main metric x{scale:g}, the "
               f"mean over {_seeds_text(n)} of the per-seed mean over languages, ± its seed spread; in round brackets the "
               f"gain over `{baseline}` and in square brackets the difference from the comparison's first pipeline, both "
               f"paired by seed (seed s against seed s; a seed-free `{baseline}` against every seed), ± the seed spread "
               f"of the per-seed difference. `mean`: per seed the mean over targets. {SD_TEXT}.")  # fmt: skip
    _write_table(prefix, shown, caption, 3)
    _order_figure(table, figure, baseline=baseline, scale=scale, width=width, dpi=dpi, font_scale=font_scale, seeds=n)


def _order_figure(table: pd.DataFrame, path: str, *, baseline, scale, width, dpi, font_scale, seeds) -> None:
    """One panel per comparison (a column per model): x = target, hue = pipeline, bars = gain over the
    baseline, whiskers = seed sd."""
    plt, sns = _pyplot(font_scale)
    names, models = list(dict.fromkeys(table["comparison"])), list(dict.fromkeys(table["model"]))
    columns = list(dict.fromkeys(table["column"]))
    fig, axes = plt.subplots(len(names), len(models), figsize=(width, 2.6 * len(names) + 0.3), squeeze=False)
    for row, name in zip(axes, names):
        for ax, model in zip(row, models):
            d = table[(table["comparison"] == name) & (table["model"] == model)]
            pipes = list(dict.fromkeys(d["pipeline"]))
            palette = sns.color_palette("colorblind", len(pipes))
            bw = 0.8 / len(pipes)
            for j, (color, p) in enumerate(zip(palette, pipes)):
                dp = d[d["pipeline"] == p].set_index("column").reindex(columns)
                x = np.arange(len(columns)) - 0.4 + bw * (j + 0.5)
                ax.bar(x, dp["gain"] * scale, width=bw, color=color, label=p, zorder=2)
                _whiskers(ax, x, dp["gain"] * scale, dp["gain_sd"] * scale, zorder=3)
            _zero(ax)
            ax.set_xticks(range(len(columns)))
            ax.set_xticklabels(columns, rotation=30 if len(columns) > 5 else 0, fontsize="x-small")
            ax.grid(axis="x", visible=False)
            ax.set_ylabel(f"Δ vs {baseline} (x{scale:g})", fontsize="small")
            ax.set_title(_panel_title(name, model if len(models) > 1 else None), fontsize="small")
            ax.legend(fontsize="x-small", ncol=min(3, len(pipes)), loc="best", frameon=True)
    _save(plt, fig, path, dpi, (), seeds)


# ----------------------------------------------------------------------------- mixed-language intermediate data


MIXED_PARTS = ("English", "non-English", "mixed in", "not mixed in")


def _mixed_group(main: pd.DataFrame, baseline: str, translated: set[str]) -> pd.DataFrame:
    """The scores of one group of rows (and the baseline) by part: English, non-English and, where
    ``translated`` splits a target's other languages into two non-empty sets, mixed in / not mixed in."""
    english = main["language"] == ENGLISH
    parts = [main.assign(part=np.where(english, "English", "non-English"))]
    if translated:
        other = main[~english]
        split = other.assign(part=np.where(other["language"].isin(translated), "mixed in", "not mixed in"))
        both = split.groupby("target")["part"].nunique()  # a target whose languages all fall on one side gains nothing
        parts.append(split[split["target"].isin(both[both == 2].index)])
    return _compare(_seed_cells(pd.concat(parts, ignore_index=True), ["part"]), baseline, ["part"])


def mixed_language_table(long: pd.DataFrame, ratios: dict[str, float], baseline: str,
                         translated: dict[str, list[str]] | list[str] | None = None,
                         data: dict[str, str] | None = None) -> pd.DataFrame:  # fmt: skip
    """One row per (model, data, ratio, pipeline, target, part), with the score and the gain over
    ``baseline`` (NaN ratio: the baseline itself).  ``data`` names each pipeline's intermediate data
    (its task): the pipelines of one name are one curve over the ratio, each shown beside the baseline.
    ``part``: ``English``, ``non-English`` (the mean over the other languages) and, where the languages
    whose translations the group mixes in (``translated``: per pipeline, or one list for all) split a
    target's other languages into two non-empty sets, ``mixed in`` and ``not mixed in``."""
    if not ratios:
        raise ValueError("mixed_language: params 'ratios' names no pipeline.")
    for p, r in ratios.items():
        if not isinstance(r, (int, float)) or not 0.0 <= r <= 1.0:
            raise ValueError(f"mixed_language: the ratio of pipeline '{p}' is {r!r}, not a fraction from 0 to 1.")
    main, pipelines = _select(long, baseline, list(ratios), "mixed_language")
    data = {p: (data or {}).get(p, "-") for p in pipelines}
    if not isinstance(translated, dict):
        translated = {p: list(translated or ()) for p in pipelines}
    tables = []
    for name in dict.fromkeys(data[p] for p in pipelines):
        members = [p for p in pipelines if data[p] == name]
        langs = {lang for p in members for lang in translated.get(p, ())}
        table = _mixed_group(main[main["pipeline"].isin([baseline, *members])], baseline, langs)
        tables.append(table.assign(data=name))
    table = pd.concat(tables, ignore_index=True)
    table.insert(1, "ratio", table["pipeline"].map(lambda p: np.nan if p == baseline else float(ratios[p])))
    by_ratio = [baseline, *sorted(pipelines, key=lambda p: (ratios[p], p))]
    order = {"model": list(dict.fromkeys(main["model"])), "data": list(dict.fromkeys(data.values())), "pipeline": by_ratio,
             "target": list(dict.fromkeys(main["target"])), "part": list(MIXED_PARTS)}  # fmt: skip
    columns = ["model", "data", "ratio", "pipeline", "target", "part", "score", "score_sd", "gain", "gain_sd", "n_seeds"]
    return _sorted(table, order)[columns]


def write_mixed_language(long: pd.DataFrame, ratios: dict[str, float], prefix: str, figure: str, *, baseline: str = BASELINE,
                         translated: dict[str, list[str]] | list[str] | None = None, data: dict[str, str] | None = None,
                         digits: int = 1, scale: float = 100.0, width: float = 7.0, dpi: int = 200, cmap: str = "RdBu",
                         font_scale: float = 0.9) -> None:  # fmt: skip
    """``{prefix}.csv`` (long), ``.md``/``.tex`` (rows model, data, ratio, pipeline) and the
    gain-against-ratio figure."""
    table = mixed_language_table(long, ratios, baseline, translated, data)
    _write_csv(table, f"{prefix}.csv")
    text = [fmt_number(s * scale, digits) + ("" if pd.isna(g) else f" ({_pm(g, sd, digits, scale, True)})")
            for s, g, sd in zip(table["score"], table["gain"], table["gain_sd"])]  # fmt: skip
    labelled = table.assign(column=table["target"] + ": " + table["part"], ratio=table["ratio"].map(lambda r: "–" if pd.isna(r) else f"{r:g}"))
    shown = _text_table(labelled, ["model", "data", "ratio", "pipeline"], text)
    n = _n_seeds(long[long["pipeline"].isin(set(table["pipeline"]))])
    split = ""
    if set(table["part"]) & {"mixed in", "not mixed in"}:
        split = (" Where a target has both, the other languages are also split into those whose translations some "
                 "row of the group mixes in and the rest (mixed in / not mixed in).")  # fmt: skip
    caption = (f"Mixed-language intermediate data: rows by model, intermediate data and ratio (the fraction of translated "
               f"target-language rows; 0 = English only; – = `{baseline}`, repeated beside each group). Per target, the "
               f"English score and the mean over the other languages, main metric x{scale:g}, each the mean over "
               f"{_seeds_text(n)} of the per-seed value; in brackets the gain over `{baseline}` paired by seed (seed s "
               f"against seed s, a seed-free `{baseline}` against every seed).{split} {SD_TEXT}.")  # fmt: skip
    _write_table(prefix, shown, caption, 4)
    _mixed_language_figure(table[table["pipeline"] != baseline], figure, baseline=baseline, scale=scale, width=width, dpi=dpi,
                           font_scale=font_scale, seeds=n)  # fmt: skip


def _mixed_language_figure(d: pd.DataFrame, path: str, *, baseline, scale, width, dpi, font_scale, seeds) -> None:
    """Gain over the baseline (y) against the ratio (x), one panel per target: solid = non-English
    mean (or, where the table splits them, solid = languages mixed in and dotted = the rest), dashed
    = English, a colour per (model, intermediate data), error bars = seed sd."""
    from matplotlib.lines import Line2D

    plt, sns = _pyplot(font_scale)
    targets = list(dict.fromkeys(d["target"]))
    curves = list(dict.fromkeys(zip(d["model"], d["data"])))
    palette = sns.color_palette("colorblind", len(curves))
    styles = {"non-English": ("-", "o"), "mixed in": ("-", "^"), "not mixed in": (":", "v"), "English": ("--", "s")}
    shown = set()
    fig, axes = _grid(plt, len(targets), width, 2.4)
    for ax, target in zip(axes, targets):
        for color, (model, data) in zip(palette, curves):
            c = d[(d["target"] == target) & (d["model"] == model) & (d["data"] == data)]
            parts = set(c["part"]) - ({"non-English"} if "mixed in" in set(c["part"]) else set())
            shown |= parts
            for part, (ls, marker) in styles.items():
                s = c[c["part"] == part].sort_values("ratio")
                if part not in parts or s.empty:
                    continue
                ax.plot(s["ratio"], s["gain"] * scale, ls=ls, marker=marker, ms=3.5, lw=1.2, color=color, zorder=3)
                _whiskers(ax, s["ratio"], s["gain"] * scale, s["gain_sd"] * scale, ecolor=color, zorder=3)
        _zero(ax)
        ax.set_xlim(-0.05, 1.05)
        ax.set_title(target, fontsize="small")
        ax.set_xlabel("share of translated rows", fontsize="x-small")
        ax.set_ylabel(f"Δ vs {baseline} (x{scale:g})", fontsize="small")
    handles = [Line2D([], [], color="0.2", ls=ls, marker=m, ms=3.5, label=part) for part, (ls, m) in styles.items() if part in shown]
    if len(curves) > 1:
        one_model = len({m for m, _ in curves}) == 1
        handles += [Line2D([], [], color=c, lw=2, label=data if one_model else f"{model}: {data}") for c, (model, data) in zip(palette, curves)]
    _save(plt, fig, path, dpi, handles, seeds)


# ----------------------------------------------------------------------------- command line

ANALYSES = {  # name as the rules pass it (params.command): (writer, required params keys, optional params keys)
    "low-resource": (write_low_resource, ("classes",), ("baseline", "pipelines")),
    "scale": (write_scale, ("params_millions",), ("baseline", "pipelines")),
    "order": (write_order, ("comparisons",), ("baseline",)),
    "mixed-language": (write_mixed_language, ("ratios",), ("baseline", "translated", "data")),
}
SETTINGS = ("digits", "scale", "width", "dpi", "cmap", "font_scale")  # table and figure settings every writer takes


def run_analysis(command: str, long: pd.DataFrame, params: dict, prefix: str, figure: str) -> None:
    """Run one research-question analysis (workflow/scripts/research_question.py) with its params JSON:
    the required keys of ``ANALYSES``, any optional ones (``baseline`` defaults to ``none``) and any of
    ``SETTINGS``."""
    writer, required, optional = ANALYSES[command]
    missing = [k for k in required if k not in params]
    if missing:
        raise ValueError(f"{command}: the params JSON lacks the key(s) {', '.join(map(repr, missing))}.")
    unknown = [k for k in params if k not in (*required, *optional, *SETTINGS)]
    if unknown:
        raise ValueError(f"{command}: unknown params key(s) {', '.join(map(repr, unknown))}.")
    writer(long, *(params[k] for k in required), prefix, figure, **{k: v for k, v in params.items() if k not in required})
