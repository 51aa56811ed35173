"""Write the first lines of one language of a Hub corpus, for masked-LM mixed in (rule fetch_corpus)."""

import sys

from xstilts.common.cli import run_job
from xstilts.workflow.jobs.data import fetch_corpus

if __name__ == "__main__":
    sys.exit(run_job(fetch_corpus, description=__doc__))
