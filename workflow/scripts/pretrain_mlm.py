"""Masked-LM pretraining of a small BERT and its tokenizer on the synthetic corpus (rule pretrain_mlm)."""

import sys

from xstilts.common.cli import run_job
from xstilts.workflow.jobs.base_models import pretrain

if __name__ == "__main__":
    sys.exit(run_job(pretrain, description=__doc__))
