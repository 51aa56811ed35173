"""Train one intermediate or target model from an encoder, resumably (rules train_intermediate, train_target)."""

import sys

from xstilts.common.cli import run_job
from xstilts.workflow.jobs.training import train

if __name__ == "__main__":
    sys.exit(run_job(train, description=__doc__))
