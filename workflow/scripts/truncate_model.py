"""A smaller model of one family: the embeddings and first layers of another (rule truncate_model)."""

import sys

from xstilts.common.cli import run_job
from xstilts.workflow.jobs.base_models import truncate_model

if __name__ == "__main__":
    sys.exit(run_job(truncate_model, description=__doc__))
