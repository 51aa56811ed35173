"""scores_long.csv + per-example predictions -> confidence.csv and significance.{csv,md,tex} (rule statistics)."""

import sys

import pandas as pd

from xstilts.common.cli import run_job
from xstilts.reporting.tables import write_statistics


def job(params: dict, scores: str, out_dir: str, prediction_files: list[str]) -> None:
    write_statistics(pd.read_csv(scores), prediction_files, out_dir, **params)


if __name__ == "__main__":
    sys.exit(run_job(job, description=__doc__))
