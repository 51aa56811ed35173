"""The command line every job script shares: its params (JSON), its input and output paths, logging,
and one ``xstilts: ...`` line with a non-zero exit when the job stops on a user error."""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from xstilts.common.errors import XstiltsError
from xstilts.common.files import output_lock, remove_stray_temporaries
from xstilts.common.logs import setup_logging

log = logging.getLogger("xstilts.jobs")


# the arguments that name what a job writes: files or a prefix of files (a folder, out_dir, with the
# `targets` written in it, is handled beside them)
OUTPUTS = ("out", "prefix", "predictions", "figure")


@contextlib.contextmanager
def _job_outputs(kwargs: dict, name: str):
    """Hold the lock of the job's first output while it runs (one writer per output, even across
    checkouts that share a results_dir), and first delete what killed runs of this job left: the
    temporary files of its own outputs.  Under torchrun only the first process does either."""
    if os.environ.get("RANK", "0") != "0":
        yield
        return
    files = [Path(kwargs[k]) for k in OUTPUTS if isinstance(kwargs.get(k), str)]
    if kwargs.get("out_dir"):
        files += [Path(kwargs["out_dir"]) / t for t in kwargs.get("targets", [])]  # {out_dir}/{target}.{ext}
    lock = files[0] if files else Path(kwargs["out_dir"]) / name if kwargs.get("out_dir") else None
    if lock is None:
        yield
        return
    with output_lock(lock, "the job output"):
        for f in files:
            for stray in remove_stray_temporaries(f):
                log.info("removed %s, left by a killed run of this job", stray)
        yield


def run_job(job: Callable, argv: list[str] | None = None, *, description: str | None = None) -> int:
    """Run ``job`` with the arguments its signature names, read from the command line.

    The first parameter, when it is called ``params``, is ``--params JSON`` (the job's settings);
    every other parameter without a default is a required ``--name`` option (a path, dashes for
    underscores), except one annotated as a list, which takes the positional arguments; ``threads``
    is an optional ``--threads N``.  ``--log FILE`` also writes the log to a file."""
    parser = argparse.ArgumentParser(prog=sys.argv[0], description=description or job.__doc__)
    takes_params, many, names = False, None, []
    for name, p in inspect.signature(job).parameters.items():
        if name == "params":
            takes_params = True
            parser.add_argument("--params", required=True, help="the job's settings as JSON")
        elif name == "threads":
            parser.add_argument("--threads", type=int, default=None, help="CPU threads")
        elif "list" in str(p.annotation):
            many = name
            parser.add_argument(name, nargs="+")
        elif p.default is inspect.Parameter.empty:
            names.append(name)
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, required=True)
    parser.add_argument("--log", help="also write the log to this file")
    args = parser.parse_args(argv)
    setup_logging(args.log)
    kwargs = {name: getattr(args, name) for name in names}
    if many:
        kwargs[many] = getattr(args, many)
    if hasattr(args, "threads"):
        kwargs["threads"] = args.threads
    try:
        with _job_outputs(kwargs, Path(parser.prog).stem):
            if takes_params:
                job(json.loads(args.params), **kwargs)
            else:
                job(**kwargs)
    except XstiltsError as e:
        log.error("%s", e)
        print(f"xstilts: {e}", file=sys.stderr)
        return 1
    return 0
