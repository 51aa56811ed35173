"""`python -m xstilts.cost`: the cost plan of a configured grid from the command line (xstilts.workflow.cost)."""

import sys

from xstilts.workflow.cost import main

if __name__ == "__main__":
    sys.exit(main())
