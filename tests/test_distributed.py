"""The training job launched as several processes (``torchrun ... workflow/scripts/train_model.py``, DDP through
Accelerate), as the workflow launches it on several GPUs: here 2 processes on the CPU (gloo), so the
multi-process path is tested on every machine."""

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT
from safetensors.torch import load_file
from test_resume import CLS, TAG, _checkpoint, _data_root, _params

from xstilts.modelling.models import load_task_model
from xstilts.modelling.resume import SCRATCH_ENV
from xstilts.modelling.training import rank_plan
from xstilts.workflow.jobs import training as jobs

# test_resume's toy data, multitask (each batch leaves the other task's head without a gradient):
# 18 + 14 examples in batches of 4 = 9 micro-batches per epoch, an odd number.  Accumulation 2,
# 4 epochs: one process runs 9 // 2 = 4 steps per epoch, 16 in all; each of 2 processes runs
# ceil(9 / 2) = 5 micro-batches per epoch (one batch padded), so 5 // 2 = 2 steps per epoch, 8 in
# all.  Validation every 2 steps; the state is saved every 5 steps.
EVAL_EVERY, SAVE_EVERY = 2, 5
STEPS = {1: 16, 2: 8}

# the job, except that process 1 (only) is sent SIGUSR1 at its micro-batch 7, in step 4
CHILD = r"""
import os, signal, sys
import xstilts.modelling.training as T
from xstilts.common.cli import run_job
from xstilts.workflow.jobs.training import train

real, calls = T.collate, [0]

def collate(*args, **kwargs):
    calls[0] += 1
    if calls[0] == 7 and os.environ["RANK"] == "1":
        os.kill(os.getpid(), signal.SIGUSR1)
    return real(*args, **kwargs)

T.collate = collate
sys.exit(run_job(train, sys.argv[1:]))
"""


def test_rank_plan_gives_every_process_as_many_batches():
    plan = list(range(9))
    assert rank_plan(plan, 0, 1) is plan
    assert [rank_plan(plan, r, 2) for r in range(2)] == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 0]]  # padded by wrapping around
    for n in (2, 3, 4, 8, 16):
        shares = [rank_plan(plan, r, n) for r in range(n)]
        assert {len(s) for s in shares} == {math.ceil(9 / n)}
        assert {b for s in shares for b in s} == set(plan)  # nothing dropped
    assert rank_plan([], 1, 2) == []


def _torchrun(params: dict, init: str, out: Path, work: Path, log: Path, *, script=None, scratch=None, timeout: int = 300):
    """``torchrun --standalone --nproc_per_node 2 workflow/scripts/train_model.py ...`` (or ``script``) with the
    output of all processes in ``log``, as the rules write it; returns the exit status and the log."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",  # CPU processes: gloo
           "XSTILTS_CACHE_DIR": str(work / "cache"), SCRATCH_ENV: str(scratch or work / "scratch"),
           "XSTILTS_SAVE_EVERY": str(SAVE_EVERY),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    # (not --log FILE: torchrun would take it for an ambiguous abbreviation of its own --log-dir)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script or ROOT / "workflow" / "scripts" / "train_model.py"),
           "--params", json.dumps(params), "--init", init, "--out", str(out), "--threads", "1"]  # fmt: skip
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:  # a hang (mismatched collectives): kill torchrun and its workers
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(f"torchrun did not finish in {timeout} s (deadlock?):\n{log.read_text()[-4000:]}")
    return proc.returncode, log.read_text()


@pytest.fixture(scope="module")
def ddp(tmp_path_factory, tiny_encoder_dir):
    """One uninterrupted 2-process run."""
    work = tmp_path_factory.mktemp("ddp")
    params = _params(_data_root(work / "data"), eval_every=EVAL_EVERY)
    init, out = os.path.join(tiny_encoder_dir, "config.json"), work / "ref/checkpoint.json"
    code, log = _torchrun(params, init, out, work, work / "ref.log")
    assert code == 0, f"torchrun failed ({code}):\n{log[-6000:]}"
    return {"work": work, "params": params, "init": init, "out": out, "log": log}


def test_two_processes(ddp, tmp_path, monkeypatch):
    log, out = ddp["log"], ddp["out"]
    assert "process 0 of 2" in log and "process 1 of 2" in log  # both ranks trained
    assert log.count(f"saved the training state at step {SAVE_EVERY}") == 1  # only the first process saves state ...
    assert log.count(f"saved {out.parent} (best validation") == 1  # ... and the checkpoint
    assert log.count(f"step {STEPS[2]}/{STEPS[2]}: validation") == 2  # both processes got to the end

    result = json.loads(out.read_text())["result"]
    assert result["processes"] == 2 and result["steps"] == STEPS[2] and result["resumed_from"] == []
    assert [h["step"] for h in result["history"]] == list(range(EVAL_EVERY, STEPS[2] + 1, EVAL_EVERY))
    assert math.isfinite(result["best_validation"]) and 0 <= result["best_validation"] <= 1
    assert set(result["best_validation_tasks"]) == {"toy_cls", "toy_tag"}
    files = {p.name for p in out.parent.iterdir()}
    assert {"checkpoint.json", "model.safetensors", "heads.safetensors"} <= files
    assert not [f for f in files if f.startswith(".")]  # no staging folder or temporary file left
    assert os.listdir(ddp["work"] / "scratch") == []  # the state is deleted once the checkpoint is saved
    heads = load_file(out.parent / "heads.safetensors")
    assert {k.split(".")[0] for k in heads} == {"toy_cls", "toy_tag"}
    assert all(torch.isfinite(v).all() for v in [*heads.values(), *load_file(out.parent / "model.safetensors").values()])
    model = load_task_model(str(out.parent), {CLS.name: CLS, TAG.name: TAG})
    assert sorted(model.heads) == ["toy_cls", "toy_tag"]

    # the same job as one process (this one): twice the optimizer steps
    monkeypatch.setenv(SCRATCH_ENV, str(tmp_path / "scratch"))
    n = torch.get_num_threads()
    try:
        jobs.train(ddp["params"], ddp["init"], str(tmp_path / "single/checkpoint.json"), threads=1)
    finally:
        torch.set_num_threads(n)
    single = json.loads((tmp_path / "single/checkpoint.json").read_text())["result"]
    assert single["processes"] == 1 and single["steps"] == STEPS[1] and math.isfinite(single["best_validation"])


def test_two_processes_stop_together_and_resume_exactly(ddp, tmp_path):
    """A signal to one process stops both at the same step; the first saves the state, and the
    rerun (both processes load it) ends with exactly the weights of the uninterrupted run."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    work, out, scratch = ddp["work"], tmp_path / "model/checkpoint.json", tmp_path / "scratch"
    code, log = _torchrun(ddp["params"], ddp["init"], out, work, tmp_path / "stopped.log", script=script, scratch=scratch)
    assert code != 0 and not out.exists(), log[-4000:]  # torchrun exits 1; its processes 128 + SIGUSR1
    assert log.count("saved the training state at step 4") == 1 and log.count("SIGUSR1 received") == 2, log[-4000:]

    code, log = _torchrun(ddp["params"], ddp["init"], out, work, tmp_path / "resumed.log", scratch=scratch)
    assert code == 0, f"torchrun failed ({code}):\n{log[-6000:]}"
    assert log.count(f"step 4 of {STEPS[2]} (epoch 1, batch 3)") == 2  # both processes resumed
    weights, result = _checkpoint(out)
    ref_weights, ref_result = _checkpoint(ddp["out"])
    assert result["resumed_from"] == [4] and result["steps"] == STEPS[2]
    assert [h["score"] for h in result["history"]] == [h["score"] for h in ref_result["history"]]
    different = [k for k in ref_weights if not torch.equal(weights[k], ref_weights[k])]
    assert not different, f"{len(different)} tensors differ from the uninterrupted run, e.g. {different[:3]}"
