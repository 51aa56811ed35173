"""The figures of the transfer matrix: its heatmap of gains and the per-language gain bar charts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xstilts.common.files import atomic_path
from xstilts.reporting.formatting import BASELINE
from xstilts.reporting.tables import transfer_matrix
from xstilts.scoring.stats import pair_with_baseline


def write_language_figure(long: pd.DataFrame, target: str, path: str, *, width=6.0, height=None, dpi=200, cmap="RdBu",
                          font_scale=0.9, scale: float = 100.0) -> None:  # fmt: skip
    """Per-language gain over ``none`` of every pipeline on one target: grouped bars (languages on x),
    error bars = standard deviation over seeds of the per-seed difference (seed s against seed s of
    ``none``; a seed-free ``none`` against every seed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    main = long[long["main"].astype(bool) & (long["target"] == target)]
    rows = []
    for (model, pipeline), g in main.groupby(["model", "pipeline"], sort=False):
        if pipeline == BASELINE:
            continue
        base = main[(main["model"] == model) & (main["pipeline"] == BASELINE)]
        if base.empty:
            continue
        for r in pair_with_baseline(g, base, ["language"]).itertuples():
            rows.append({"model": model, "pipeline": pipeline, "language": r.language, "gain": (r.value - r.baseline) * scale})
    data = pd.DataFrame(rows, columns=["model", "pipeline", "language", "gain"])
    models = list(dict.fromkeys(data["model"])) or ["(none)"]
    seeds = main["seed"].dropna().nunique()
    sns.set_theme(style="whitegrid", font_scale=font_scale)
    n_lang = max(1, data["language"].nunique())
    fig, axes = plt.subplots(len(models), 1, figsize=(max(width, 0.45 * n_lang + 2), height or 2.8 * len(models)), squeeze=False)
    for ax, model in zip(axes[:, 0], models):
        d = data[data["model"] == model]
        if d.empty:
            ax.set_axis_off()
            ax.set_title(f"{model}: no pipeline to compare with {BASELINE}", fontsize="medium")
            continue
        sns.barplot(data=d, x="language", y="gain", hue="pipeline", ax=ax, errorbar="sd", capsize=0.1, err_kws={"linewidth": 0.8},
                    palette="colorblind")  # fmt: skip
        ax.axhline(0.0, color="0.3", lw=0.8)
        ax.set_ylabel(f"Δ vs {BASELINE} (x{scale:g})")
        ax.set_xlabel("language")
        ax.set_title(f"{model} on {target}: gain per language ({seeds} seed{'s' if seeds != 1 else ''}; whiskers: sd)", fontsize="medium")
        ax.legend(title="pipeline", fontsize="x-small", title_fontsize="x-small", ncol=min(4, d["pipeline"].nunique()), loc="best")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)


def write_figure(long: pd.DataFrame, path: str, *, width=6.0, height=None, dpi=200, cmap="RdBu", font_scale=0.9,
                 scale: float = 100.0) -> None:  # fmt: skip
    """Annotated heatmap of the differences from ``none`` (one panel per model), centred on zero."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    cells, diffs = transfer_matrix(long)
    models = list(diffs.index.get_level_values("model").unique())
    sns.set_theme(style="white", font_scale=font_scale)
    rows = [diffs.loc[m].drop(index=BASELINE, errors="ignore") for m in models]
    n_rows = sum(max(1, len(r)) for r in rows)
    fig_h = height or max(1.8, 0.42 * n_rows + 1.1 * len(models))
    fig, axes = plt.subplots(len(models), 1, figsize=(width, fig_h), squeeze=False)
    vmax = np.nanmax(np.abs(diffs.values)) * scale if np.isfinite(diffs.values).any() else 1.0
    seeds = long["seed"].dropna().nunique()
    for ax, model, data in zip(axes[:, 0], models, rows):
        data = data * scale
        if data.empty:
            ax.set_axis_off()
            continue
        sns.heatmap(data, ax=ax, cmap=cmap, center=0.0, vmin=-vmax, vmax=vmax, annot=True, fmt="+.1f",
                    linewidths=0.5, cbar_kws={"label": f"Δ vs {BASELINE} (x{scale:g})"})  # fmt: skip
        ax.set_title(f"{model}: gain over no intermediate training ({seeds} seed{'s' if seeds != 1 else ''})", fontsize="medium")
        ax.set_xlabel("target task")
        ax.set_ylabel("intermediate pipeline")
        ax.tick_params(axis="x", rotation=30)
        ax.tick_params(axis="y", rotation=0)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
