"""Write the synthetic world's POS, NC and MLQA tasks as XGLUE release files (rule synthetic_xglue)."""

import sys

from xstilts.common.cli import run_job
from xstilts.workflow.jobs.data import synthetic_xglue

if __name__ == "__main__":
    sys.exit(run_job(synthetic_xglue, description=__doc__))
