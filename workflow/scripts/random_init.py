"""A randomly initialised copy of another base model: the control row (rule random_init)."""

import sys

from xstilts.common.cli import run_job
from xstilts.workflow.jobs.base_models import random_init

if __name__ == "__main__":
    sys.exit(run_job(random_init, description=__doc__))
