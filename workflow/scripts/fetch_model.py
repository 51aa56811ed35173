"""Download a Hub model at a pinned revision into a declared directory (rule fetch_model)."""

import sys

from xstilts.common.cli import run_job
from xstilts.workflow.jobs.base_models import fetch_model

if __name__ == "__main__":
    sys.exit(run_job(fetch_model, description=__doc__))
