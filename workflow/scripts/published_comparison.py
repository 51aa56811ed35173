"""scores_long.csv -> our scores beside published ones; params: model name -> Hub id (rule published_comparison)."""

import sys

import pandas as pd

from xstilts.common.cli import run_job
from xstilts.reporting.tables import write_published


def job(params: dict, scores: str, prefix: str) -> None:
    write_published(pd.read_csv(scores), params, prefix)


if __name__ == "__main__":
    sys.exit(run_job(job, description=__doc__))
