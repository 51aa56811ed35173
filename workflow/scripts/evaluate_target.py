"""Score one trained target model on every benchmark and language scored from it (rule evaluate_target)."""

import sys

from xstilts.common.cli import run_job
from xstilts.workflow.jobs.evaluation import evaluate

if __name__ == "__main__":
    sys.exit(run_job(evaluate, description=__doc__))
