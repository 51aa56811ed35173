"""The data layer: the task registry (its bottom), the one JSONL row format, and the sources that
fill it -- Hugging Face Hub datasets, release files, XGLUE, and the synthetic world.

Importing the package registers the synthetic world's tasks into the registry (the registry never
imports a source; the sources register into it).
"""

from xstilts.data import synthetic  # noqa: F401 - registers the synthetic world's tasks
