"""Numbers you can trust: files with repeated ids, empty or non-UTF-8 files stop with one sentence
naming the file; statistics never read uninitialised memory; the XTREME column is XTREME's score."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import write_jsonl

from xstilts.common.errors import DataError
from xstilts.data.registry import NLI_LABELS, Task
from xstilts.data.rows import read_rows
from xstilts.reporting.tables import main_table
from xstilts.scoring.stats import Examples

ROWS = {
    "classification": [{"id": "a", "text_a": "x", "text_b": "y", "label": "entailment"}],
    "multiple_choice": [{"id": "a", "context": "c", "question": "q", "choices": ["1", "2"], "label": 0}],
    "span_qa": [{"id": "a", "context": "the cat", "question": "who?", "answers": {"text": ["cat"], "answer_start": [4]}}],
    "tagging": [{"id": "a", "tokens": ["x", "y"], "tags": ["NOUN", "VERB"]}],
    "retrieval": [{"id": "a", "source": "x", "target": "y"}],
}
TASKS = {
    "classification": Task(name="cls", format="classification", metric="accuracy", labels=NLI_LABELS, pair=True),
    "multiple_choice": Task(name="mc", format="multiple_choice", metric="accuracy"),
    "span_qa": Task(name="qa", format="span_qa", metric="squad"),
    "tagging": Task(name="tag", format="tagging", metric="seqeval", labels=("NOUN", "VERB")),
    "retrieval": Task(name="ret", format="retrieval", metric="retrieval_accuracy"),
}


@pytest.mark.parametrize("fmt", sorted(ROWS))
def test_a_repeated_id_stops_reading_for_every_format(tmp_path, fmt):
    row = ROWS[fmt][0]
    path = write_jsonl(tmp_path / f"{fmt}.jsonl", [row, {**row, "id": "b"}, row])
    for on_bad_row in ("error", "skip"):  # a file error, never skipped as a bad row
        with pytest.raises(DataError, match=r"line 3: id 'a' repeats the id of line 1; give every row"):
            read_rows(path, TASKS[fmt], on_bad_row=on_bad_row)
    assert [r["id"] for r in read_rows(path, TASKS[fmt], limit=2)] == ["a", "b"]  # read up to the limit only


def test_tydiqa_style_ids_that_repeat_per_article_stop(tmp_path):
    """TyDiQA numbers questions per article: its own ids repeat across articles."""
    rows = [{"id": f"english-{k % 3}", "context": f"text {k} here", "question": "q?",
             "answers": {"text": [f"{k}"], "answer_start": [5]}} for k in range(5)]  # fmt: skip
    path = write_jsonl(tmp_path / "tydiqa/test/en.jsonl", rows)
    with pytest.raises(DataError) as e:
        read_rows(path, TASKS["span_qa"])
    assert str(e.value).startswith(f"{path}, line 4: id 'english-0' repeats the id of line 1")


@pytest.mark.parametrize("content", [b"", b"\n", b"  \n\t\n"])
def test_an_empty_file_stops_with_its_name(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError, match=rf"data file '{path}' has no rows \(task 'cls'\)"):
        read_rows(path, TASKS["classification"])


def test_a_file_whose_rows_were_all_skipped_stops(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("{not json\n[1, 2]\n")
    with pytest.raises(DataError, match=r"has no rows \(2 skipped as malformed\)"):
        read_rows(path, TASKS["classification"], on_bad_row="skip")


def test_a_non_utf8_file_stops_with_file_and_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    good = json.dumps(ROWS["classification"][0]).encode()
    path.write_bytes(good + b"\n" + json.dumps({**ROWS["classification"][0], "id": "b", "text_a": "caf\u00e9"}, ensure_ascii=False).encode("latin-1") + b"\n")
    with pytest.raises(DataError, match=rf"{path}, line 2: not UTF-8 \(byte b'\\xe9' at column \d+\); save the file as UTF-8"):
        read_rows(path, TASKS["classification"])


# ----------------------------------------------------------------------------- statistics


def _records(ids, correct):
    return [{"benchmark": "xnli", "lang": "de", "id": i, "prediction": "x", "gold": "x", "correct": float(c)} for i, c in zip(ids, correct)]


def test_examples_align_seeds_by_id_with_every_cell_written():
    ex = Examples()
    ex.add("m", "p", 0, _records(["a", "b", "c"], [1, 0, 1]), {"xnli": "accuracy"})
    ex.add("m", "p", 1, _records(["c", "a", "b"], [0, 1, 1]), {"xnli": "accuracy"})  # another order
    ids, num, den = ex.counts(("m", "p", "xnli", "de"))
    assert ids == ["a", "b", "c"]
    np.testing.assert_array_equal(num, [[1, 0, 1], [1, 1, 0]])
    np.testing.assert_array_equal(den, np.ones((2, 3)))


def test_predictions_with_a_repeated_id_stop():
    ex = Examples()
    with pytest.raises(DataError, match=r"run/p\.jsonl\.gz: xnli \(de\) has the example id 'a' twice"):
        ex.add("m", "p", 0, _records(["a", "b", "a"], [1, 0, 1]), {"xnli": "accuracy"}, where="run/p.jsonl.gz")


# ----------------------------------------------------------------------------- the XTREME column


XTREME_METRICS = {"xnli": ["accuracy"], "pawsx": ["accuracy"], "udpos": ["f1"], "panx": ["f1"], "xquad": ["exact_match", "f1"],
                  "mlqa": ["exact_match", "f1"], "tydiqa": ["exact_match", "f1"], "bucc": ["f1"], "tatoeba": ["accuracy"]}  # fmt: skip


def _long(targets: dict[str, list[str]], value) -> pd.DataFrame:
    rows = []
    for pipeline in ("none", "mnli"):
        for t, metrics in targets.items():
            for m in metrics:
                v = value(pipeline, t, m)
                rows.append({"model": "x", "pipeline": pipeline, "target": t, "train_task": t, "seed": 0, "language": "de",
                             "metric": m, "value": v, "main": m == metrics[-1], "split": "test", "n": 10})  # fmt: skip
    return pd.DataFrame(rows)


def test_the_xtreme_column_is_the_mean_of_exactly_its_nine_tasks():
    def value(pipeline, target, metric):
        return {"xcopa": 0.9}.get(target, 0.5 if metric != "exact_match" else 0.3) + (0.1 if pipeline == "mnli" else 0.0)

    nine = _long(XTREME_METRICS, value)
    with_xcopa = _long({**XTREME_METRICS, "xcopa": ["accuracy"]}, value)
    for long in (nine, with_xcopa):
        table, name = main_table(long)
        assert name == "XTREME"
        score = table[(table["column"] == "XTREME") & (table["pipeline"] == "none")]["mean"].item()
        # six tasks at 0.5, three QA tasks at (0.3 + 0.5) / 2: XCOPA's 0.9 is not part of it
        assert score == pytest.approx((6 * 0.5 + 3 * 0.4) / 9)
    eight = _long({k: v for k, v in XTREME_METRICS.items() if k != "bucc"}, value)
    assert main_table(eight)[1] == "mean"  # not XTREME's score without all nine


# ----------------------------------------------------------------------------- reproducible checkpoints


def test_a_checkpoint_does_not_depend_on_the_tokeniser_calls_before_it(tiny_encoder_dir, tmp_path):
    """tokenizer.json kept the last call's truncation settings, so it differed by whether the
    tokenisation cache was hit; every file of a checkpoint is now the same either way."""
    from transformers import AutoTokenizer

    from xstilts.modelling.models import TaskModel, load_encoder, save_checkpoint

    task = TASKS["classification"]
    meta = {"tasks": {task.name: {"labels": list(NLI_LABELS)}}, "pooling": "cls"}
    tok = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    model = TaskModel(load_encoder(tiny_encoder_dir), [task])
    save_checkpoint(tmp_path / "cold", model, tok, meta)
    tok("the dog", "eats the red apple", truncation="only_second", max_length=8, stride=2, return_overflowing_tokens=True)
    tok(["the cat"], padding="max_length", max_length=12)
    save_checkpoint(tmp_path / "warm", model, tok, meta)
    for f in sorted((tmp_path / "cold").iterdir()):
        assert f.read_bytes() == (tmp_path / "warm" / f.name).read_bytes(), f.name


# ----------------------------------------------------------------------------- strict model directories


def _broken(tmp_path, tiny_encoder_dir, how: str):
    import shutil

    d = tmp_path / how
    shutil.copytree(tiny_encoder_dir, d)
    if how == "no-tokenizer":
        for f in d.glob("tokenizer*"):
            f.unlink()
    elif how == "truncated-weights":
        data = (d / "model.safetensors").read_bytes()
        (d / "model.safetensors").write_bytes(data[: len(data) // 2])
    elif how == "corrupt-header":
        (d / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    elif how == "invalid-config":
        (d / "config.json").write_text("{not json")
    elif how == "config-without-type":
        (d / "config.json").write_text('{"hidden_size": 32}')
    elif how == "no-weights":
        (d / "model.safetensors").unlink()
    elif how == "other-tokenizer":
        config = json.loads((d / "config.json").read_text())
        (d / "config.json").write_text(json.dumps({**config, "vocab_size": 4 * config["vocab_size"]}))
    return Path(d)


BROKEN = {
    "no-tokenizer": "has no tokenizer files (one of tokenizer.json",
    "truncated-weights": "model.safetensors' is truncated (",
    "corrupt-header": "model.safetensors' has a corrupt header",
    "invalid-config": "config.json' is not valid JSON",
    "config-without-type": "config.json' names no model_type",
    "no-weights": "has no weights (model.safetensors or model.safetensors.index.json)",
    "other-tokenizer": "tokens but the model embeds",
}


@pytest.mark.parametrize("how", sorted(BROKEN))
def test_a_broken_model_directory_stops_every_loader(tmp_path, tiny_encoder_dir, how):
    from xstilts.common.errors import CheckpointError
    from xstilts.modelling.model_files import check_model_dir
    from xstilts.modelling.models import load_encoder, load_tokenizer

    d = _broken(tmp_path, tiny_encoder_dir, how)
    with pytest.raises(CheckpointError, match=re.escape(BROKEN[how])):
        load_encoder(str(d)) if how not in ("no-tokenizer", "other-tokenizer") else load_tokenizer(str(d))
    if how != "other-tokenizer":  # the file checks alone (the Snakefile's, at plan time)
        with pytest.raises(CheckpointError, match=re.escape(BROKEN[how])):
            check_model_dir(d)
    check_model_dir(tiny_encoder_dir)  # the whole directory passes
    assert len(load_tokenizer(tiny_encoder_dir)) > 5


def test_a_training_job_on_a_model_without_tokenizer_files_exits_with_one_line(tmp_path, tiny_encoder_dir):
    """It used to train on a tokenizer of 5 special tokens and exit 0."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    from xstilts.workflow.config import HPARAM_DEFAULTS

    d = _broken(tmp_path, tiny_encoder_dir, "no-tokenizer")
    root = tmp_path / "data"
    write_jsonl(root / "cls/train/en.jsonl", ROWS["classification"] * 1)
    task = TASKS["classification"]
    from xstilts.data.registry import task_to_dict

    params = {"phase": "intermediate", "tasks": [task_to_dict(task, training=True)], "hparams": {**HPARAM_DEFAULTS, "max_length": 16},
              "task_hparams": {}, "data": {"cls": {"root": str(root), "train_languages": ["en"]}}, "seed": 0,
              "model": {"dtype": "float32", "pooling": "cls"}, "from_base": True, "on_bad_row": "error"}  # fmt: skip
    out = tmp_path / "out/checkpoint.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "XSTILTS_SCRATCH_DIR": str(tmp_path / "scratch")}
    proc = subprocess.run([sys.executable, str(ROOT / "workflow/scripts/train_model.py"), "--params", json.dumps(params),
                           "--init", str(d / "config.json"), "--out", str(out)], env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"xstilts: tokenizer: '{d}' has no tokenizer files")
    assert not out.parent.exists()


# ----------------------------------------------------------------------------- bad configs


def _tiny(**patch):
    import copy

    from conftest import ROOT

    from xstilts.workflow.config import load_yaml

    cfg = copy.deepcopy(load_yaml(ROOT / "config/tiny.yaml"))
    for key, value in patch.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


@pytest.mark.parametrize("tasks, message", [
    ({"syn_pos": {"languages": "en"}}, "config key 'tasks.syn_pos.languages' is the string 'en'; expected a list, e.g. [en]."),
    ({"mine": {"format": "classification", "labels": "state", "languages": ["en"], "root": "d"}},
     "config key 'tasks.mine.labels' is the string 'state'; expected a list, e.g. [state]."),
    ({"syn_pos": {"pair": "yes"}}, "config key 'tasks.syn_pos.pair' has value 'yes'; expected type boolean."),
    ({"syn_pos": {"metric": "bleu"}}, "config key 'tasks.syn_pos.metric' is 'bleu'; expected one of ["),
    ({"syn_pos": {"colour": "red"}}, "config key 'tasks.syn_pos.colour' is not a known setting; expected one of ['category', "),
])  # fmt: skip
def test_task_fields_have_types(tasks, message):
    from xstilts.common.errors import ConfigError
    from xstilts.workflow.config import Experiment

    with pytest.raises(ConfigError) as e:
        Experiment(_tiny(tasks=tasks))
    assert str(e.value).startswith(message)


def test_a_yaml_error_names_file_line_and_column(tmp_path):
    from xstilts.common.errors import ConfigError
    from xstilts.workflow.config import Experiment
    from xstilts.workflow.cost import main as cost_main

    base = tmp_path / "base.yaml"
    base.write_text("experiment: x\nseeds: [0, 1\nmodels: {}\n")
    with pytest.raises(ConfigError, match=rf"config file '{re.escape(str(base))}', line 3, column 7: not valid YAML \(.*\); fix the YAML there"):
        Experiment({"extends": str(base)})
    assert cost_main(["--configfile", str(base)]) == 1  # python -m xstilts.cost: the same sentence, exit 1


def test_cost_reports_a_yaml_error_in_one_line(tmp_path, capsys):
    from xstilts.workflow.cost import main as cost_main

    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  a: {source: hub\n")
    assert cost_main(["--configfile", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"xstilts: config file '{bad}', line 3, column 1: not valid YAML")


def test_a_retrieval_layer_beyond_the_model_stops_when_the_plan_is_made(tmp_path):
    from xstilts.common.errors import ConfigError
    from xstilts.workflow.config import Experiment
    from xstilts.workflow.model_size import check_retrieval_layers, model_depth

    cfg = _tiny()
    exp = Experiment(cfg)
    assert model_depth(exp, "tiny-mlm") == cfg["models"]["tiny-mlm"]["pretrain"]["layers"] == model_depth(exp, "tiny-random")
    depth = model_depth(exp, "tiny-mlm")
    cfg["models"]["tiny-mlm"]["retrieval_layer"] = depth  # the last layer: fine
    check_retrieval_layers(Experiment(cfg))
    cfg["models"]["tiny-mlm"]["retrieval_layer"] = depth + 1
    with pytest.raises(ConfigError, match=rf"'models.tiny-mlm.retrieval_layer' is {depth + 1}, but model 'tiny-mlm' has {depth} layers; choose 0"):
        check_retrieval_layers(Experiment(cfg))


def test_a_local_model_s_depth_comes_from_its_config(tmp_path, tiny_encoder_dir):
    from xstilts.common.errors import ConfigError
    from xstilts.workflow.config import Experiment
    from xstilts.workflow.model_size import check_retrieval_layers

    cfg = _tiny(models={"local": {"source": "local", "path": tiny_encoder_dir, "retrieval_layer": 3}})
    with pytest.raises(ConfigError, match="'models.local.retrieval_layer' is 3, but model 'local' has 2 layers"):
        check_retrieval_layers(Experiment(cfg))


def test_the_embedding_job_names_the_layer_it_lacks(tiny_encoder_dir):
    from transformers import AutoTokenizer

    from xstilts.common.errors import CheckpointError
    from xstilts.modelling.models import load_encoder
    from xstilts.modelling.predict import embed

    tok = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    feats = [{"input_ids": tok("the dog")["input_ids"], "side": "source", "row": 0}]
    encoder = load_encoder(tiny_encoder_dir)
    assert embed(encoder, feats, layer=2, batch_size=4, pad_id=tok.pad_token_id).shape[0] == 1
    with pytest.raises(CheckpointError, match="retrieval_layer is 3, but the encoder has 2 layers"):
        embed(encoder, feats, layer=3, batch_size=4, pad_id=tok.pad_token_id)


# ----------------------------------------------------------------------------- the tokenisation cache


def _all_format_features(tiny_encoder_dir):
    from transformers import AutoTokenizer

    from xstilts.modelling.features import encode
    from xstilts.modelling.mlm import encode_lines

    tok = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    qa = [{"id": "q", "context": "the dog eats the red apple near the big house today", "question": "what?",
           "answers": {"text": ["red apple"], "answer_start": [16]}}]  # fmt: skip
    out = {fmt: encode(ROWS[fmt] * 3, TASKS[fmt], tok, max_length=16) for fmt in ROWS if fmt != "span_qa"}
    out["span_qa"] = encode(qa, TASKS["span_qa"], tok, max_length=12, doc_stride=4)
    out["mlm"] = encode_lines(["the dog eats", "a cat"], tok, 16)
    return out


def test_cached_features_round_trip_exactly_for_every_format(tmp_path, tiny_encoder_dir):
    from xstilts.modelling.feature_cache import load_features, save_features

    for fmt, feats in _all_format_features(tiny_encoder_dir).items():
        save_features(tmp_path / f"{fmt}.npz", feats)
        back = load_features(tmp_path / f"{fmt}.npz")
        assert back == feats, fmt
        assert [[type(v) for v in f.values()] for f in back] == [[type(v) for v in f.values()] for f in feats], fmt
    spans = _all_format_features(tiny_encoder_dir)["span_qa"]
    assert len(spans) > 1 and any(o is None for o in spans[0]["offsets"]) and isinstance(spans[0]["offsets"][-2], tuple)
    save_features(tmp_path / "empty.npz", [])
    assert load_features(tmp_path / "empty.npz") == []


@pytest.mark.parametrize("damage", ["truncated", "pickle", "garbage", "empty"])
def test_an_unreadable_cache_is_rebuilt_never_unpickled(tmp_path, damage, caplog):
    import pickle

    from xstilts.modelling.feature_cache import cached_features, save_features

    feats = [{"input_ids": [1, 2, 3], "label": 0, "row": 0}]
    path = tmp_path / "tokenized" / "task.test.en.key.npz"
    save_features(path, feats)
    data = path.read_bytes()

    class Boom:
        def __reduce__(self):
            return (exec, ("open(%r, 'w').write('ran')" % str(tmp_path / "pwned"),))

    path.write_bytes({"truncated": data[: len(data) // 2], "pickle": pickle.dumps(Boom()), "garbage": b"\x00" * 50, "empty": b""}[damage])
    calls = []
    assert cached_features(path, lambda: calls.append(1) or feats) == feats
    assert calls == [1] and "is unreadable" in caplog.text and "rebuilding it" in caplog.text
    assert not (tmp_path / "pwned").exists()
    assert cached_features(path, lambda: pytest.fail("the rebuilt cache is read")) == feats


def test_cached_encode_gives_what_encode_gives(tmp_path, tiny_encoder_dir):
    from transformers import AutoTokenizer

    from xstilts.modelling.features import cached_encode, encode

    tok = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    path = write_jsonl(tmp_path / "data/tag/test/en.jsonl", [dict(r, id=f"r{k}") for k, r in enumerate(ROWS["tagging"] * 4)])
    rows = read_rows(path, TASKS["tagging"])
    first = cached_encode(path, rows, TASKS["tagging"], tok, cache_dir=str(tmp_path / "cache"), max_length=16)
    assert list((tmp_path / "cache/tokenized").glob("*.npz")) and not list((tmp_path / "cache/tokenized").glob("*.pkl"))
    again = cached_encode(path, rows, TASKS["tagging"], tok, cache_dir=str(tmp_path / "cache"), max_length=16)
    assert first == again == encode(rows, TASKS["tagging"], tok, max_length=16)


# ----------------------------------------------------------------------------- crash safety


def _presets():
    from conftest import ROOT

    return ["config.yaml"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "config").rglob("*.yaml") if p.name != "schema.yaml")


@pytest.mark.parametrize("preset", _presets())
def test_every_preset_that_trains_a_real_model_saves_its_training_state(preset, monkeypatch):
    """A SIGKILL (an OOM kill, a preemption without warning) must not send training back to step 0.
    The presets on the built-in tiny encoder (pretrain/random: jobs of seconds, README "The tiny
    preset") may do without; every preset on a real model (Hub, local, truncated copy) saves."""
    from conftest import ROOT

    from xstilts.workflow.config import Experiment, load_yaml

    monkeypatch.setenv("XGLUE_ROOT", "/nonexistent")
    exp = Experiment(load_yaml(ROOT / preset))
    real = {m.source for m in exp.models.values()} - {"pretrain", "random"}
    if real:
        assert exp.save_every, f"{preset} trains {sorted(real)} models but sets no train.save_every"
    else:
        assert preset.endswith("tiny.yaml"), preset


def test_a_second_writer_of_the_same_output_stops_and_strays_are_cleaned(tmp_path):
    """Two checkouts with one results_dir: the second job that would write the same output stops
    with one sentence; the first job's run removes what killed runs of it left behind."""
    from xstilts.common.cli import run_job
    from xstilts.common.errors import OutputLocked
    from xstilts.common.files import output_lock

    out = tmp_path / "metrics" / "seed0.json"
    out.parent.mkdir(parents=True)
    stray = out.parent / ".seed0.json.k3j2x1.tmp"  # a killed atomic write of this output
    other = out.parent / ".seed1.json.a8d9f0.tmp"  # another job's write, in progress
    stray.write_text("{half")
    other.write_text("{half")
    seen = []

    def job(params: dict, out: str) -> None:
        seen.append(sorted(p.name for p in Path(out).parent.iterdir()))

    with output_lock(out, "the job output"):  # another checkout's job is writing it
        with pytest.raises(OutputLocked, match=r"the job output '.*seed0\.json' is being written by process \d+ on .*; two runs share"):
            with output_lock(out, "the job output"):
                pass
        assert run_job(job, ["--params", "{}", "--out", str(out)]) == 1 and not seen and stray.exists()
    assert run_job(job, ["--params", "{}", "--out", str(out)]) == 0
    assert seen == [[".seed0.json.lock", ".seed1.json.a8d9f0.tmp"]]  # its own stray gone, the other job's kept
    assert other.exists() and not stray.exists()
    assert sorted(p.name for p in out.parent.iterdir()) == [".seed1.json.a8d9f0.tmp"]  # no lock file left behind


def test_a_lock_dies_with_its_holder(tmp_path):
    """SIGKILL leaves no stale lock: the operating system drops it with the process."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    from xstilts.common.files import output_lock

    out = tmp_path / "m.json"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom xstilts.common.files import output_lock\n"
                               f"with output_lock({str(out)!r}, 'x'):\n    print('held', flush=True)\n    time.sleep(60)\n"],
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    from xstilts.common.errors import OutputLocked

    with pytest.raises(OutputLocked):
        with output_lock(out, "x"):
            pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    time.sleep(0.1)
    with output_lock(out, "x"):
        pass


def test_hub_kernels_are_off_unless_the_config_opts_in():
    from xstilts.workflow.config import Experiment

    assert Experiment(_tiny()).hub_kernels is False
    assert Experiment(_tiny(hub_kernels=True)).hub_kernels is True
    from conftest import ROOT

    prefix = (ROOT / "workflow/rules/common.smk").read_text()
    assert "USE_HUB_KERNELS={'1' if EXP.hub_kernels else '0'}" in prefix
