"""The cost plan of the configured grid: jobs per rule, GPU-hours and checkpoint disk (rule cost_plan).

The same command line as `python -m xstilts.cost`."""

import sys

from xstilts.workflow.cost import main

if __name__ == "__main__":
    sys.exit(main())
