"""scores_long.csv -> per-language tables, one per target (rule language_tables)."""

import sys

import pandas as pd

from xstilts.common.cli import run_job
from xstilts.reporting.tables import write_language_tables


def job(params: dict, scores: str, out_dir: str, targets: list[str]) -> None:
    write_language_tables(pd.read_csv(scores), out_dir, targets, digits=params["digits"], scale=params["scale"])


if __name__ == "__main__":
    sys.exit(run_job(job, description=__doc__))
