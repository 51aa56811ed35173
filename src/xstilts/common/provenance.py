"""The provenance recorded in every output: the code version (git commit) and the package versions."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

# the repository checkout (src/xstilts/common/ is three levels below it)
REPO_ROOT = Path(__file__).resolve().parents[3]


def code_version() -> str:
    """The git commit of the code that ran (with '+dirty' when the tree had edits), or the version."""
    from xstilts import __version__

    try:
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no", "--", "src", "workflow"],
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()  # fmt: skip
        return f"{__version__}+g{head}{'.dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def package_versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for name in ("xstilts", "torch", "transformers", "tokenizers", "accelerate", "datasets", "numpy", "snakemake"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out
