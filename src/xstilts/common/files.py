"""Files of every job: atomic writes (a killed job never leaves a half-written output under its real name),
JSON, UTF-8 lines that name the line they fail on, and one writer per output (locks, stray temporaries)."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from xstilts.common.errors import DataError, OutputLocked


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


def remove_stray_temporaries(path: str | os.PathLike) -> list[str]:
    """Delete what killed atomic writes of ``path`` left beside it (``.{name}.*.tmp``); call it only
    while holding the output's lock (:func:`output_lock`), so that no live writer loses its file."""
    path = Path(path)
    removed = []
    if path.parent.is_dir():
        for stray in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                stray.unlink()
                removed.append(str(stray))
    return removed


@contextlib.contextmanager
def output_lock(path: str | os.PathLike, what: str):
    """Hold ``.{name}.lock`` beside ``path`` for as long as the block runs: a second process that
    would write the same output (a run from another checkout with the same results_dir) stops
    with a sentence naming the holder.  The operating system releases the lock when its holder
    dies, however it dies, so a killed job never leaves a stale lock; a job that ends removes the
    lock file (after checking, when it took the lock, that the file it locked is still the one at
    that path, so that removing it never lets two holders in)."""
    import fcntl
    import socket

    path = Path(path)
    created = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.parent / f".{path.name}.lock"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise OutputLocked(
                f"{what} '{path}' is being written by {holder} (lock {lock}); two runs share this results folder "
                f"(another checkout with the same results_dir, or a job that outlived its Snakemake): wait for it "
                f"to end, or give this run its own results_dir."
            ) from None
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # the previous holder removed the file between our open and our lock: again
    ok = False
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()} (started {time.strftime('%Y-%m-%d %H:%M:%S')})\n".encode(), 0)
        yield
        ok = True
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()  # still holding the lock: a process that opened it meanwhile sees another inode and retries
        if not ok and created and not any(path.parent.iterdir()):
            for d in created:  # a job that failed before writing anything leaves no folder behind
                with contextlib.suppress(OSError):
                    d.rmdir()
        os.close(fd)  # closing the descriptor releases the lock
