"""Preemption-safe training: a run killed or signalled mid-way resumes to exactly the result of an
uninterrupted run; state belongs to one job's exact params and inputs; a broken state is never used."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import ROOT, write_jsonl
from safetensors.torch import load_file

from xstilts.data.registry import NLI_LABELS, Task, task_to_dict
from xstilts.modelling.resume import SCRATCH_ENV, STATE_FILE, StateStore, job_key, scratch_root
from xstilts.workflow.config import HPARAM_DEFAULTS
from xstilts.workflow.jobs import training as jobs

CLS = Task("toy_cls", "classification", "accuracy", labels=NLI_LABELS, pair=True)
TAG = Task("toy_tag", "tagging", "seqeval", labels=("DET", "NOUN", "VERB", "ADJ", "PUNCT", "O"))
# 18 + 14 examples in batches of 4: 5 + 4 = 9 micro-batches per epoch, accumulation 2 -> 4 steps per
# epoch (steps straddle epochs), 16 steps; validation every 3 steps; dropout on
HP = {**HPARAM_DEFAULTS, "lr": 5e-3, "epochs": 4, "batch_size": 4, "grad_accum": 2, "eval_every": 3, "eval_examples": 6,
      "max_length": 16, "precision": "fp32", "dropout": 0.1}  # fmt: skip
SAVE_EVERY = "XSTILTS_SAVE_EVERY"  # not a param (config train.save_every, exported by the rules)
TOTAL = 16

# The job as the rules run it, except that at micro-batch PAUSE_AT it writes PAUSE_AT.paused and
# waits (up to two minutes) for the test to create PAUSE_AT.go: the test signals it meanwhile.
CHILD = r"""
import os, sys, time
import xstilts.modelling.training as T
from xstilts.common.cli import run_job
from xstilts.workflow.jobs.training import train

pause, pause_at = sys.argv[1], int(sys.argv[2])
real, calls = T.collate, [0]

def collate(*args, **kwargs):
    calls[0] += 1
    if calls[0] == pause_at:
        open(pause + ".paused", "w").close()
        deadline = time.time() + 120
        while not os.path.exists(pause + ".go") and time.time() < deadline:
            time.sleep(0.01)
    return real(*args, **kwargs)

T.collate = collate
sys.exit(run_job(train, sys.argv[3:]))
"""


@pytest.fixture(autouse=True)
def _restore_threads(monkeypatch):
    monkeypatch.setenv(SAVE_EVERY, "5")  # tests that want only the signal to save unset it
    n = torch.get_num_threads()  # jobs.train(threads=1) sets it for the process
    yield
    torch.set_num_threads(n)


def _data_root(root: Path) -> str:
    words = ["a", "the", "red", "big", "dog", "cat"]
    cls_rows = [{"id": str(i), "text_a": f"{words[i % 6]} dog eats", "text_b": "the dog", "label": NLI_LABELS[i % 3]}
                for i in range(18)]  # fmt: skip
    tag_rows = [{"id": str(i), "tokens": ["the", words[i % 6], "eats"], "tags": ["DET", "NOUN", "VERB"]} for i in range(14)]
    write_jsonl(root / "toy_cls/train/en.jsonl", cls_rows)
    write_jsonl(root / "toy_cls/validation/en.jsonl", cls_rows[:6])
    write_jsonl(root / "toy_tag/train/en.jsonl", tag_rows)
    write_jsonl(root / "toy_tag/validation/en.jsonl", tag_rows[:6])
    return str(root)


def _params(root: str, **hp) -> dict:
    return {
        "phase": "intermediate",
        "tasks": [task_to_dict(CLS, training=True), task_to_dict(TAG, training=True)],
        "hparams": {**HP, **hp},
        "task_hparams": {},
        "data": {t: {"root": root, "train_languages": ["en"], "cap": None} for t in ("toy_cls", "toy_tag")},
        "seed": 3,
        "model": {"dtype": "float32", "pooling": "cls", "encoder_module": None},
        "from_base": True,
        "on_bad_row": "error",
    }


def _checkpoint(out: Path) -> tuple[dict, dict]:
    d = out.parent
    weights = {**load_file(d / "model.safetensors"), **{f"head.{k}": v for k, v in load_file(d / "heads.safetensors").items()}}
    return weights, json.loads(out.read_text())["result"]


def _assert_same_training(out: Path, ref: tuple[dict, dict]) -> dict:
    weights, result = _checkpoint(out)
    ref_weights, ref_result = ref
    assert weights.keys() == ref_weights.keys()
    different = [k for k in weights if not torch.equal(weights[k], ref_weights[k])]
    assert not different, f"{len(different)} tensors differ from the uninterrupted run, e.g. {different[:3]}"
    for key in ("steps", "best_step", "best_validation", "best_validation_tasks"):
        assert result[key] == ref_result[key], key
    assert [(h["step"], h["score"], h["tasks"]) for h in result["history"]] == [
        (h["step"], h["score"], h["tasks"]) for h in ref_result["history"]
    ]
    return result


@pytest.fixture(scope="module")
def toy(tmp_path_factory, tiny_encoder_dir):
    """Data, init and two uninterrupted reference runs (their state stores are used, then deleted):
    ``ref`` validates every 3 steps; in ``ref_last`` only the last step is validated, so that its
    saved weights are the last ones and depend on every step."""
    tmp = tmp_path_factory.mktemp("resume")
    root = _data_root(tmp / "data")
    init = os.path.join(tiny_encoder_dir, "config.json")
    n = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SCRATCH_ENV, str(tmp / "scratch"))
        mp.setenv(SAVE_EVERY, "5")
        jobs.train(_params(root), init, str(tmp / "ref/checkpoint.json"), threads=1)
        jobs.train(_params(root, eval_every=100), init, str(tmp / "ref_last/checkpoint.json"), threads=1)
    torch.set_num_threads(n)
    ref, ref_last = _checkpoint(tmp / "ref/checkpoint.json"), _checkpoint(tmp / "ref_last/checkpoint.json")
    assert ref[1]["steps"] == TOTAL and ref[1]["resumed_from"] == [] and [h["step"] for h in ref[1]["history"]] == [3, 6, 9, 12, 15, 16]
    assert [h["step"] for h in ref_last[1]["history"]] == [TOTAL] and ref_last[1]["best_step"] == TOTAL
    assert os.listdir(tmp / "scratch") == []  # deleted once the checkpoint was saved
    return {"root": root, "init": init, "ref": ref, "ref_last": ref_last}


def _start_child(tmp_path, params, init, out, *, pause_at):
    """The job in a subprocess, paused at micro-batch ``pause_at``; ``_resume_child`` lets it go on."""
    pause = tmp_path / "pause"
    env = {**os.environ, SCRATCH_ENV: str(tmp_path / "scratch"),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    args = ["--params", json.dumps(params), "--init", init, "--out", str(out), "--threads", "1",
            "--log", str(tmp_path / "job.log")]  # fmt: skip
    with open(tmp_path / "child.out", "w") as output:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(pause), str(pause_at), *args], env=env,
                                stdout=output, stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.time() + 300
    while not Path(f"{pause}.paused").exists():
        assert proc.poll() is None, f"the job ended before it was interrupted:\n{(tmp_path / 'child.out').read_text()[-3000:]}"
        assert time.time() < deadline, "the job never reached the pause"
        time.sleep(0.02)
    return proc


def _resume_child(tmp_path) -> None:
    (tmp_path / "pause.go").touch()


def _saved_progress(store: StateStore) -> dict:
    return torch.load(store.path, map_location="cpu", weights_only=True)["progress"]


def test_sigkilled_run_resumes_to_the_uninterrupted_result(toy, tmp_path, monkeypatch, caplog):
    params, out = _params(toy["root"], eval_every=100), tmp_path / "model/checkpoint.json"
    # killed without warning in the middle of step 7 (micro-batch 13); the last save was at step 5,
    # whose second micro-batch was the first of epoch 1
    proc = _start_child(tmp_path, params, toy["init"], out, pause_at=13)
    proc.kill()
    proc.wait(timeout=30)
    monkeypatch.setenv(SCRATCH_ENV, str(tmp_path / "scratch"))
    store = StateStore.for_job(params, toy["init"], str(out))
    saved = _saved_progress(store)
    assert (saved["step"], saved["epoch"], saved["batch"], saved["micro"]) == (5, 1, 1, 10)
    assert not out.exists()

    caplog.set_level("INFO", logger="xstilts")
    jobs.train(params, toy["init"], str(out), threads=1)
    assert "resuming from" in caplog.text and "step 5 of 16 (epoch 1, batch 1)" in caplog.text
    result = _assert_same_training(out, toy["ref_last"])
    assert result["resumed_from"] == [5]
    assert not store.dir.exists()  # the state goes once the checkpoint is saved


def test_sigterm_saves_at_the_next_step_and_exits_nonzero(toy, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(SAVE_EVERY, "")  # only the signal saves
    params, out = _params(toy["root"], eval_every=100), tmp_path / "model/checkpoint.json"
    # SIGTERM during step 8 (at micro-batch 15 of 16): saved at the end of step 8, no further step
    proc = _start_child(tmp_path, params, toy["init"], out, pause_at=15)
    proc.send_signal(signal.SIGTERM)
    _resume_child(tmp_path)
    proc.wait(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, (tmp_path / "child.out").read_text()[-3000:]
    monkeypatch.setenv(SCRATCH_ENV, str(tmp_path / "scratch"))
    store = StateStore.for_job(params, toy["init"], str(out))
    saved = _saved_progress(store)
    assert (saved["step"], saved["micro"]) == (8, 16) and not out.exists()
    log = (tmp_path / "job.log").read_text()
    assert f"SIGTERM received: training state at step 8 saved to {store.path}" in log
    assert log.count("saved the training state") == 1  # only the signal saved (no save_every)

    caplog.set_level("INFO", logger="xstilts")
    jobs.train(params, toy["init"], str(out), threads=1)
    assert "step 8 of 16 (epoch 1, batch 7)" in caplog.text
    assert _assert_same_training(out, toy["ref_last"])["resumed_from"] == [8]


def _interrupt_at(monkeypatch, micro: int, signum=signal.SIGUSR1):
    """Send this process ``signum`` when training reaches micro-batch ``micro``."""
    import xstilts.modelling.training as T

    real, calls = T.collate, [0]

    def collate(*args, **kwargs):
        calls[0] += 1
        if calls[0] == micro:
            os.kill(os.getpid(), signum)
        return real(*args, **kwargs)

    monkeypatch.setattr(T, "collate", collate)


def test_sigusr1_state_keeps_the_best_weights_from_before(toy, tmp_path, monkeypatch, caplog):
    """Stopped at step 8 when the best validation so far (step 6) stays the best to the end: the
    saved weights are those kept in the state, not the current ones."""
    assert toy["ref"][1]["best_step"] == 6
    monkeypatch.setenv(SCRATCH_ENV, str(tmp_path / "scratch"))
    params, out = _params(toy["root"]), tmp_path / "model/checkpoint.json"
    before = signal.getsignal(signal.SIGUSR1), signal.getsignal(signal.SIGTERM)
    with monkeypatch.context() as m:
        _interrupt_at(m, 15)  # SIGUSR1 during step 8
        with pytest.raises(SystemExit) as stopped:
            jobs.train(params, toy["init"], str(out), threads=1)
    assert stopped.value.code == 128 + signal.SIGUSR1
    assert (signal.getsignal(signal.SIGUSR1), signal.getsignal(signal.SIGTERM)) == before  # handlers restored
    state = torch.load(StateStore.for_job(params, toy["init"], str(out)).path, weights_only=True)
    assert state["progress"]["step"] == 8 and state["progress"]["best"]["step"] == 6 and not state["best_is_current"]
    assert not torch.equal(state["best_weights"]["heads.toy_cls.out.weight"], state["model"]["heads.toy_cls.out.weight"])
    jobs.train(params, toy["init"], str(out), threads=1)
    assert _assert_same_training(out, toy["ref"])["resumed_from"] == [8]


def test_changed_params_or_inputs_never_resume_stale_state(toy, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(SCRATCH_ENV, str(tmp_path / "scratch"))
    monkeypatch.setenv(SAVE_EVERY, "")
    params, out = _params(toy["root"]), tmp_path / "model/checkpoint.json"
    with monkeypatch.context() as m:
        _interrupt_at(m, 7)  # SIGUSR1 during step 4
        with pytest.raises(SystemExit) as stopped:
            jobs.train(params, toy["init"], str(out), threads=1)
    assert stopped.value.code == 128 + signal.SIGUSR1
    store = StateStore.for_job(params, toy["init"], str(out))
    assert _saved_progress(store)["step"] == 4

    # an edited config: another folder, nothing resumed, the other job's state left alone
    edited = _params(toy["root"], lr=1e-3)
    other = StateStore.for_job(edited, toy["init"], str(out))
    assert other.dir != store.dir and other.dir.name.startswith("intermediate-")
    caplog.set_level("INFO", logger="xstilts")
    jobs.train(edited, toy["init"], str(out), threads=1)
    assert "resuming" not in caplog.text and json.loads(out.read_text())["result"]["resumed_from"] == []
    assert store.path.exists() and not other.dir.exists()

    # same params, but a training file rewritten since the state was saved: dropped, trained afresh
    data = Path(toy["root"]) / "toy_cls/train/en.jsonl"
    st = os.stat(data)
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    caplog.clear()
    jobs.train(params, toy["init"], str(out), threads=1)
    assert "belongs to other inputs" in caplog.text and "resuming" not in caplog.text
    assert _assert_same_training(out, toy["ref"])["resumed_from"] == []
    assert not store.dir.exists()


def test_job_key_and_scratch_root(monkeypatch, tmp_path):
    params = _params("/data")
    key = job_key(params, "m/init/config.json", "out/checkpoint.json")
    shuffled = json.loads(json.dumps(dict(reversed(list(params.items())))))
    assert job_key(shuffled, "m/init/config.json", "out/checkpoint.json") == key  # key order is no change
    assert job_key(_params("/data", epochs=5), "m/init/config.json", "out/checkpoint.json") != key
    # two target jobs whose params are equal but start from different intermediate models
    assert job_key(params, "m/other/config.json", "out/checkpoint.json") != key
    assert job_key(params, "m/init/config.json", "out2/checkpoint.json") != key
    monkeypatch.delenv(SCRATCH_ENV, raising=False)
    monkeypatch.setenv("XSTILTS_CACHE_DIR", str(tmp_path / "cache"))
    assert scratch_root() == str(tmp_path / "cache/train-state")
    monkeypatch.setenv(SCRATCH_ENV, str(tmp_path / "fast"))
    assert scratch_root() == str(tmp_path / "fast")


def _state(step: int) -> dict:
    return {"progress": {"step": step}, "weights": torch.arange(step, dtype=torch.float32)}


def test_only_a_finished_state_file_is_used(tmp_path, caplog):
    store = StateStore(tmp_path / "job", {"job": "k", "inputs": []})
    assert store.load() is None
    store.save(_state(3))

    # a save cut short: the previous state is still the one on disk, whole
    def broken_save(obj, f):
        f.write(b"PK\x03\x04 half a state")
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as m, pytest.raises(KeyboardInterrupt):
        m.setattr(torch, "save", broken_save)
        store.save(_state(4))
    # a save killed outright leaves its temporary file: never read, removed
    stray = store.dir / f".{STATE_FILE}.x1y2.tmp"
    stray.write_bytes(b"garbage")
    loaded = store.load()
    assert loaded["progress"]["step"] == 3 and torch.equal(loaded["weights"], torch.arange(3.0))
    assert not stray.exists() and [p.name for p in store.dir.iterdir()] == [STATE_FILE]

    # a truncated or foreign state is ignored with a warning
    assert StateStore(tmp_path / "job", {"job": "other", "inputs": []}).load() is None
    data = store.path.read_bytes()
    store.path.write_bytes(data[: len(data) // 2])
    caplog.set_level("WARNING", logger="xstilts")
    assert store.load() is None and "is unreadable" in caplog.text
    store.clear()
    assert not store.dir.exists()
