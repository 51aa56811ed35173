"""Write a machine-translated copy of a task's training data from the Hub as JSONL (rule fetch_translation)."""

import sys

from xstilts.common.cli import run_job
from xstilts.workflow.jobs.data import fetch_translation

if __name__ == "__main__":
    sys.exit(run_job(fetch_translation, description=__doc__))
