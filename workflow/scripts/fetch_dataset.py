"""Write a Hub dataset (pinned revision) or a task's release files as the project's JSONL (rule fetch_dataset)."""

import sys

from xstilts.common.cli import run_job
from xstilts.workflow.jobs.data import fetch_data

if __name__ == "__main__":
    sys.exit(run_job(fetch_data, description=__doc__))
