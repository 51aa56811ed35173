"""scores_long.csv -> gains by intermediate-task category on syntactic and semantic targets (rule task_category)."""

import sys

import pandas as pd

from xstilts.common.cli import run_job
from xstilts.reporting.analyses import write_task_category


def job(params: dict, scores: str, prefix: str, figure: str) -> None:
    params = dict(params)
    categories, groups = params.pop("categories"), params.pop("groups")
    write_task_category(pd.read_csv(scores), categories, groups, prefix, figure, **params)


if __name__ == "__main__":
    sys.exit(run_job(job, description=__doc__))
