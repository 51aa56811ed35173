"""scores_long.csv -> transfer_matrix.{csv,md,tex}: the main table (rule transfer_matrix_table)."""

import sys

import pandas as pd

from xstilts.common.cli import run_job
from xstilts.reporting.tables import write_tables


def job(params: dict, scores: str, prefix: str) -> None:
    write_tables(pd.read_csv(scores), prefix, digits=params["digits"], scale=params["scale"])


if __name__ == "__main__":
    sys.exit(run_job(job, description=__doc__))
