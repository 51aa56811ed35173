"""scores_long.csv -> transfer_matrix.png, the heatmap of gains (rule transfer_matrix_figure)."""

import sys

import pandas as pd

from xstilts.common.cli import run_job
from xstilts.reporting.figures import write_figure


def job(params: dict, scores: str, out: str) -> None:
    write_figure(pd.read_csv(scores), out, **params)


if __name__ == "__main__":
    sys.exit(run_job(job, description=__doc__))
