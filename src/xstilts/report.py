"""Aggregation: the long score table, the transfer matrix (CSV, Markdown, LaTeX) and its heatmap.

``scores_long.csv`` has one row per (model, pipeline, target, seed, language, metric): the input of
every later analysis.  The transfer matrix has one row per (model, pipeline) and one column per
target; a cell is the mean over seeds of the mean over languages (English included, as XTREME's
``evaluate.py`` does) of the target's main metric, with the difference from the ``none`` row.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import pandas as pd

from .utils import atomic_path, read_json

LONG_COLUMNS = ["model", "pipeline", "target", "train_task", "seed", "language", "metric", "value", "main", "split", "n"]
BASELINE = "none"


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


def _fmt(v, digits, signed=False):
    if pd.isna(v):
        return "–"
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def matrix_text(cells: pd.DataFrame, diffs: pd.DataFrame, *, digits: int, scale: float) -> pd.DataFrame:
    """Cells as text: 'score (±diff)' with the baseline row plain."""
    out = cells.copy().astype(object)
    for idx in cells.index:
        for col in cells.columns:
            s = _fmt(cells.at[idx, col] * scale, digits)
            d = diffs.at[idx, col]
            out.at[idx, col] = s if idx[1] == BASELINE or pd.isna(d) else f"{s} ({_fmt(d * scale, digits, True)})"
    return out


def write_tables(long: pd.DataFrame, prefix: str, *, digits: int = 1, scale: float = 100.0, n_seeds: int | None = None) -> None:
    cells, diffs = transfer_matrix(long)
    flat = cells.add_suffix("").copy()
    csv = pd.concat([cells, diffs.add_suffix("_diff")], axis=1).reset_index()
    with atomic_path(f"{prefix}.csv") as tmp:
        csv.to_csv(tmp, index=False, float_format="%.6f")
    text = matrix_text(flat, diffs, digits=digits, scale=scale).reset_index()
    seeds = n_seeds if n_seeds is not None else long["seed"].dropna().nunique()
    caption = (f"Transfer matrix: mean over {seeds} seed(s) of the mean over languages (English included) of each "
               f"target's main metric, x{scale:g}; in brackets the difference from the `{BASELINE}` pipeline.")  # fmt: skip
    with atomic_path(f"{prefix}.md") as tmp, open(tmp, "w") as f:
        f.write(text.to_markdown(index=False) + f"\n\n{caption}\n")
    with atomic_path(f"{prefix}.tex") as tmp, open(tmp, "w") as f:
        latex = text.to_latex(index=False, escape=True, column_format="ll" + "r" * (len(text.columns) - 2))
        latex = latex.replace("\\toprule", "\\toprule").replace("(+", "($+$").replace("(-", "($-$")
        f.write("% " + caption + "\n" + latex)


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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m xstilts.report", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="metrics JSON files -> scores_long.csv")
    c.add_argument("--out", required=True)
    c.add_argument("metrics", nargs="+")
    t = sub.add_parser("table", help="scores_long.csv -> transfer_matrix.{csv,md,tex}")
    t.add_argument("--params", required=True)
    t.add_argument("--scores", required=True)
    t.add_argument("--prefix", required=True)
    fg = sub.add_parser("figure", help="scores_long.csv -> transfer_matrix.png")
    fg.add_argument("--params", required=True)
    fg.add_argument("--scores", required=True)
    fg.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.command == "collect":
        df = collect(args.metrics)
        with atomic_path(args.out) as tmp:
            df.to_csv(tmp, index=False)
    elif args.command == "table":
        params = json.loads(args.params)
        write_tables(pd.read_csv(args.scores), args.prefix, digits=params["digits"], scale=params["scale"])
    else:
        params = json.loads(args.params)
        write_figure(pd.read_csv(args.scores), args.out, **params)
    return 0


if __name__ == "__main__":
    sys.exit(main())
