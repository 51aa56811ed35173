"""Write the synthetic multilingual world of the tiny preset (rule synthesize_world)."""

import sys

from xstilts.common.cli import run_job
from xstilts.workflow.jobs.data import synthesize

if __name__ == "__main__":
    sys.exit(run_job(synthesize, description=__doc__))
