"""metrics JSON files -> scores_long.csv, one row per model, pipeline, target, seed, language and metric (rule collect_scores)."""

import sys

from xstilts.common.cli import run_job
from xstilts.common.files import atomic_path
from xstilts.reporting.tables import collect


def job(out: str, metrics: list[str]) -> None:
    with atomic_path(out) as tmp:
        collect(metrics).to_csv(tmp, index=False)


if __name__ == "__main__":
    sys.exit(run_job(job, description=__doc__))
