"""Atomic writes and JSON files: a killed job never leaves a half-written output under its real name."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from xstilts.common.errors import DataError


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    A job killed mid-write leaves a stray ``.tmp`` file, never a truncated file under the real
    name that Snakemake (or the next job) would take as finished.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path, obj) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True, ensure_ascii=False, default=str)
        f.write("\n")


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def utf8_lines(path) -> Iterator[tuple[int, str]]:
    """(line number, line) of a UTF-8 text file, newline kept; a byte sequence that is not UTF-8
    stops with a DataError naming the file, the line and the byte offset in it."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                yield lineno, raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(
                    f"{path}, line {lineno}: not UTF-8 (byte {raw[e.start:e.start + 1]!r} at column {e.start + 1}); "
                    f"save the file as UTF-8"
                ) from None


def write_jsonl_atomic(path: str | os.PathLike, rows: Iterable[Mapping]) -> int:
    """Write rows as UTF-8 JSON lines under a temporary name, renamed onto ``path`` once complete."""
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Like :func:`write_json`, for data manifests: every value must be JSON (no ``str`` fallback)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        json.dump(obj, handle, ensure_ascii=False, indent=2, sort_keys=True)
        handle.write("\n")
