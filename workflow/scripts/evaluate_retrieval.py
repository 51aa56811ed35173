"""Score the retrieval benchmarks straight from a base or intermediate encoder (rule evaluate_retrieval)."""

import sys

from xstilts.common.cli import run_job
from xstilts.workflow.jobs.evaluation import retrieval

if __name__ == "__main__":
    sys.exit(run_job(retrieval, description=__doc__))
