"""scores_long.csv -> per-language gain bar charts, one per target (rule language_figures)."""

import sys

import pandas as pd

from xstilts.common.cli import run_job
from xstilts.reporting.figures import write_language_figure


def job(params: dict, scores: str, out_dir: str, targets: list[str]) -> None:
    long = pd.read_csv(scores)
    for target in targets:
        write_language_figure(long, target, f"{out_dir}/{target}.png", **params)


if __name__ == "__main__":
    sys.exit(run_job(job, description=__doc__))
