"""scores_long.csv -> the table and figure of one research-question analysis (rules low_resource, scale, order, mixed_language).

`--analysis` names it as the rules pass it (params.command: low-resource, scale, order, mixed-language)."""

import sys

import pandas as pd

from xstilts.common.cli import run_job
from xstilts.reporting.analyses import run_analysis


def job(params: dict, analysis: str, scores: str, prefix: str, figure: str) -> None:
    run_analysis(analysis, pd.read_csv(scores), params, prefix, figure)


if __name__ == "__main__":
    sys.exit(run_job(job, description=__doc__))
