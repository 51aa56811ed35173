"""The command line every job script shares: its params (JSON), its input and output paths, logging,
and one ``xstilts: ...`` line with a non-zero exit when the job stops on a user error."""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import sys
from collections.abc import Callable

from xstilts.common.errors import XstiltsError
from xstilts.common.logs import setup_logging

log = logging.getLogger("xstilts.jobs")


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
        if takes_params:
            job(json.loads(args.params), **kwargs)
        else:
            job(**kwargs)
    except XstiltsError as e:
        log.error("%s", e)
        print(f"xstilts: {e}", file=sys.stderr)
        return 1
    return 0
