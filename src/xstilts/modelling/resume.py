"""Resumable training: the state a killed, preempted or timed-out training job carries on from.

What: one file, ``state.pt``, with everything the rest of the run depends on -- the weights of the
whole model (encoder and heads, frozen parameters included), optimizer, learning-rate schedule,
gradient scaler, the counters (step, micro-step, epoch and how many batches of that epoch's plan
are done), the random number generators (Python, NumPy, torch CPU and CUDA: dropout included), the
best validation so far with its weights, the validation history, the patience count and the token
count.  A run resumed from it continues bit for bit as if it had never stopped (on CPU; on a GPU as
far as its kernels are deterministic).

When: at the end of every ``save_every``-th optimizer step, and at the first step boundary after
SIGTERM or SIGUSR1 (SLURM's warning before preemption or the time limit), after which the job
exits with status 128 + the signal number (143 for SIGTERM), so that Snakemake or SLURM retries it.
A kill without warning (SIGKILL, node failure) loses the steps since the last periodic save.

How: written under a temporary name, flushed to disk, then renamed over the previous state, so a
kill during the save leaves the previous state whole; only ``state.pt`` is ever read (a left-over
temporary file is deleted, an unreadable state is ignored with a warning).

Where: one folder per job under the scratch root (``$XSTILTS_SCRATCH_DIR``, default
``$XSTILTS_CACHE_DIR/train-state``), never inside a declared output, which Snakemake deletes before
a job starts.  The folder is named after a hash of the job's exact params JSON and its ``--init`` and
``--out`` paths: an edited config gives another folder, so stale state is never resumed.  The state
also records its inputs (the initial encoder's files and the training data: sizes and modification
times); if they changed -- a retrained intermediate model, re-fetched data -- the state is dropped.
On a cluster the scratch root must be on a file system every node sees (not node-local /tmp).  The
folder is deleted once the job's checkpoint is saved.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import random
import shutil
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from xstilts.common.files import atomic_path, write_json
from xstilts.common.provenance import code_version

log = logging.getLogger(__name__)

SCRATCH_ENV = "XSTILTS_SCRATCH_DIR"
STATE_FILE = "state.pt"
FORMAT = 1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


def scratch_root() -> str:
    """``$XSTILTS_SCRATCH_DIR``, else ``train-state`` in the tokenisation cache (``$XSTILTS_CACHE_DIR``,
    which the workflow sets; ``results/.cache`` outside it)."""
    if os.environ.get(SCRATCH_ENV):
        return os.environ[SCRATCH_ENV]
    return os.path.join(os.environ.get("XSTILTS_CACHE_DIR") or os.path.join("results", ".cache"), "train-state")


def job_key(params: dict, init: str, out: str) -> str:
    """A hash of what defines a training job: its params (canonical JSON) and its init and output paths
    (two target jobs that differ only in the intermediate model they start from have equal params)."""
    doc = json.dumps({"params": params, "init": os.path.normpath(init), "out": os.path.normpath(out)},
                     sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)  # fmt: skip
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


def file_fingerprint(paths) -> list:
    """(path, size, mtime_ns) of each file, None for a missing one: changes when a file is rewritten."""
    out = []
    for p in sorted(set(map(str, paths))):
        try:
            st = os.stat(p)
            out.append([p, st.st_size, st.st_mtime_ns])
        except FileNotFoundError:
            out.append([p, None, None])
    return out


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving its state; rerunning the job resumes it."""

    def __init__(self, signum: int, step: int, path: str):
        self.signum, self.step, self.path = signum, step, path
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(f"{name} received: training state at step {step} saved to {path}; rerun the job to resume "
                         f"(exit status {self.exit_code})")  # fmt: skip


class StopSignals:
    """While active, SIGTERM and SIGUSR1 only set ``received``; training saves and stops at the next
    step boundary.  The previous handlers come back on exit.  Inactive, or outside the main thread
    (where Python cannot install handlers), it changes nothing."""

    def __init__(self, active: bool = True):
        self.active = active
        self.received: int | None = None
        self._previous = {}

    def _handle(self, signum, frame):  # no logging here: a handler may interrupt the logging module
        self.received = signum

    def __enter__(self):
        if self.active and threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}
        return self

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        return False


# ----------------------------------------------------------------------------- what is saved


@dataclass
class Progress:
    """The training loop's counters and records (everything but tensors)."""

    step: int = 0  # optimizer steps done
    micro: int = 0  # micro-batches done
    epoch: int = 0
    batch: int = 0  # batches of this epoch's plan done
    tokens: int = 0
    bad_evals: int = 0
    elapsed: float = 0.0  # seconds trained by earlier processes of this job
    history: list = field(default_factory=list)
    best: dict = field(default_factory=lambda: {"score": -math.inf, "step": 0, "scores": {}})
    resumed_from: list = field(default_factory=list)  # the step of each resumption


def rng_state() -> dict:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _cpu(obj):
    if torch.is_tensor(obj):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu(v) for v in obj)
    return obj


def capture(progress: Progress, model, optimizer, scheduler, scaler, best_weights) -> dict:
    """The full training state, on the CPU.  The best weights are stored once when they are the
    current ones."""
    best_is_current = best_weights is not None and progress.best["step"] == progress.step
    return {
        "progress": dataclasses.asdict(progress),
        "model": _cpu(model.state_dict()),
        "optimizer": _cpu(optimizer.state_dict()),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "best_weights": None if best_is_current else best_weights,
        "best_is_current": best_is_current,
        "rng": rng_state(),
    }


def restore(state: dict, model, optimizer, scheduler, scaler) -> tuple[Progress, dict | None]:
    """Load a captured state into freshly built training objects (random generators last)."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state["scaler"] is not None:
        scaler.load_state_dict(state["scaler"])
    best_weights = state["model"] if state["best_is_current"] else state["best_weights"]
    set_rng_state(state["rng"])
    return Progress(**state["progress"]), best_weights


# ----------------------------------------------------------------------------- where it is saved


class StateStore:
    """The folder holding one job's training state.  ``fingerprint`` (JSON-able) identifies what the
    state belongs to; a saved state with another fingerprint is never loaded."""

    def __init__(self, directory, fingerprint=None):
        self.dir = Path(directory)
        self.path = self.dir / STATE_FILE
        self.fingerprint = fingerprint
        self._code = None

    @property
    def code(self) -> str:
        if self._code is None:
            self._code = code_version()
        return self._code

    @classmethod
    def for_job(cls, params: dict, init: str, out: str, inputs=()) -> StateStore:
        key = job_key(params, init, out)
        store = cls(Path(scratch_root()) / f"{params.get('phase', 'train')}-{key[:20]}",
                    {"job": key, "inputs": file_fingerprint([init, *inputs])})  # fmt: skip
        if not (store.dir / "job.json").exists():  # for people looking at the scratch folder
            write_json(store.dir / "job.json", {"init": init, "out": out, "key": key, "params": params})
        return store

    def save(self, state: dict) -> None:
        doc = {**state, "format": FORMAT, "fingerprint": self.fingerprint, "code_version": self.code}
        with atomic_path(self.path) as tmp, open(tmp, "wb") as f:
            torch.save(doc, f)
            f.flush()
            os.fsync(f.fileno())
        log.info("saved the training state at step %d to %s", state["progress"]["step"], self.path)

    def load(self) -> dict | None:
        """The saved state, or None when there is none that belongs to this job."""
        for stray in self.dir.glob(f".{STATE_FILE}.*.tmp"):  # a save cut short
            stray.unlink(missing_ok=True)
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - any unreadable state is simply not used
            log.warning("training state %s is unreadable (%s: %s); starting afresh", self.path, type(e).__name__, e)
            return None
        if not isinstance(state, dict) or state.get("format") != FORMAT or state.get("fingerprint") != self.fingerprint:
            log.warning("training state %s belongs to other inputs or an older format; starting afresh", self.path)
            return None
        if state.get("code_version") != self.code:
            log.warning("training state %s was saved by code version %s, this is %s", self.path, state.get("code_version"), self.code)
        return state

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
