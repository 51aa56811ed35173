"""Loaders, features, heads, checkpoints, the training loop and the report, without Snakemake."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import write_jsonl

from xstilts.common.errors import CheckpointError, DataError
from xstilts.common.files import atomic_path
from xstilts.data.registry import NLI_LABELS, Task
from xstilts.data.rows import read_rows
from xstilts.modelling.features import IGNORE, collate, encode, length_grouped_batches
from xstilts.modelling.models import TaskModel, load_encoder, load_task_model, save_checkpoint
from xstilts.modelling.predict import predict
from xstilts.modelling.training import TaskData, set_seed, train
from xstilts.reporting.figures import write_figure
from xstilts.reporting.tables import collect, transfer_matrix, write_tables
from xstilts.scoring.score import score

CLS = Task("toy_cls", "classification", "accuracy", ("en",), labels=NLI_LABELS, pair=True)
MC = Task("toy_mc", "multiple_choice", "accuracy")
QA = Task("toy_qa", "span_qa", "squad")
TAG = Task("toy_tag", "tagging", "seqeval", labels=("DET", "NOUN", "VERB", "ADJ", "PUNCT", "O"))
RET = Task("toy_ret", "retrieval", "retrieval_accuracy")


# ----------------------------------------------------------------------------- loaders


def test_read_rows_validates_and_names_file_and_line(tmp_path):
    good = {"id": "1", "text_a": "a dog", "text_b": "an animal", "label": "entailment"}
    path = write_jsonl(tmp_path / "toy_cls/train/en.jsonl", [good, {**good, "id": "2", "label": "maybe"}])
    with pytest.raises(DataError, match=r"toy_cls/train/en.jsonl, line 2: label 'maybe' is not one of"):
        read_rows(path, CLS)
    stats = {}
    assert [r["id"] for r in read_rows(path, CLS, on_bad_row="skip", stats=stats)] == ["1"]
    assert stats[path] == {"rows": 1, "skipped": 1}


@pytest.mark.parametrize(
    "task, row, message",
    [
        (CLS, {"text_a": " ", "text_b": "x", "label": "neutral"}, "text_a is empty"),
        (QA, {"context": "the cat sat", "question": "who?", "answers": {"text": ["cat"], "answer_start": [5]}},
         "answer 0 'cat' does not match the context at offset 5"),
        (TAG, {"tokens": ["the", "dog"], "tags": ["DET"]}, "2 tokens but 1 tags"),
        (MC, {"context": "c", "question": "q", "choices": ["a", "b"], "label": 2}, "label 2 is outside the 2 choices"),
        (RET, {"source": "hallo", "target": ""}, "target is empty"),
    ],
)
def test_bad_rows_stop_with_the_file_and_row(tmp_path, task, row, message):
    path = write_jsonl(tmp_path / f"{task.name}/test/de.jsonl", [row])
    with pytest.raises(DataError) as err:
        read_rows(path, task)
    assert message in str(err.value) and "de.jsonl, line 1" in str(err.value)


def test_missing_data_file_is_named(tmp_path):
    with pytest.raises(DataError, match="data file '.*nowhere.jsonl' does not exist"):
        read_rows(tmp_path / "nowhere.jsonl", CLS)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "metrics.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp, open(tmp, "w") as f:
            f.write("{half")
            raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- features


def test_tagging_labels_first_piece_with_characters(tiny_encoder_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    row = {"tokens": ["the", "doggies", "eat", "."], "tags": ["DET", "NOUN", "VERB", "PUNCT"]}
    (f,) = encode([row], TAG, tok, max_length=32)
    labelled = [(p, lab) for p, lab in enumerate(f["labels"]) if lab != IGNORE]
    assert [TAG.labels[lab] for _, lab in labelled] == row["tags"]  # one label per word, in order
    assert [p for p, _ in labelled] == f["word_positions"]
    assert f["word_positions"][0] == 1  # after [CLS]


def test_tagging_skips_bare_sentencepiece_marker():
    """A CJK word split as '▁' + characters is labelled on its characters (e5 / XLM-R tokenizers)."""
    from xstilts.modelling.features import _first_piece_of_words

    class Tok:
        def convert_ids_to_tokens(self, ids):
            return ["<s>", "▁", "東京", "▁日本", "</s>"]

    assert _first_piece_of_words(Tok(), [0, 1, 2, 3, 4], [None, 0, 0, 1, None]) == {0: 2, 1: 3}


def test_span_qa_windows_map_answers_back_to_characters(tiny_encoder_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    context = " ".join(["the dog eats the red apple ."] * 6) + " the cat sees the big house ."
    start = context.index("big house")
    row = {"id": "q", "context": context, "question": "what does the cat see ?",
           "answers": {"text": ["big house"], "answer_start": [start]}}  # fmt: skip
    feats = encode([row], QA, tok, max_length=32, doc_stride=8)
    assert len(feats) > 1  # several windows
    hits = [f for f in feats if f["start"] > 0]
    assert hits, "the window holding the answer marks it"
    for f in hits:
        s, e = f["offsets"][f["start"]][0], f["offsets"][f["end"]][1]
        assert context[s:e] == "big house"
    assert all(f["start"] == f["end"] == 0 for f in feats if f not in hits)


def test_length_grouped_batches_cover_every_index_once_and_group_lengths():
    lengths = np.random.default_rng(0).integers(5, 200, size=1000)
    batches = length_grouped_batches(lengths, 16, shuffle=True, seed=3)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    assert batches == length_grouped_batches(lengths, 16, shuffle=True, seed=3)
    assert batches != length_grouped_batches(lengths, 16, shuffle=True, seed=4)
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    random_spread = np.mean([np.ptp(lengths[i : i + 16]) for i in range(0, 1000, 16)])
    assert spread < random_spread / 5  # far less padding than random batches
    padded = sum(len(b) * lengths[b].max() for b in batches)
    assert padded < 1.1 * lengths.sum()


def test_collate_pads_dynamically():
    feats = [{"input_ids": [1, 2, 3], "label": 0}, {"input_ids": [1, 2], "label": 2}]
    b = collate(feats, "classification", pad_id=0)
    assert b["input_ids"].tolist() == [[1, 2, 3], [1, 2, 0]]
    assert b["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    mc = collate([{"choices": [[1, 2], [1, 2, 3, 4]], "label": 1}], "multiple_choice", pad_id=0)
    assert mc["input_ids"].shape == (1, 2, 4) and mc["choice_mask"].tolist() == [[True, True]]


# ----------------------------------------------------------------------------- heads and checkpoints


@pytest.mark.parametrize("task", [CLS, MC, QA, TAG], ids=lambda t: t.format)
def test_each_head_gives_a_loss_that_trains(tiny_encoder_dir, task):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    rows = {
        "classification": [{"text_a": "the dog eats", "text_b": "a cat", "label": "neutral"}],
        "multiple_choice": [{"context": "the dog", "question": "eats?", "choices": ["apple", "house", "river"], "label": 0}],
        "span_qa": [{"context": "the dog eats the red apple .", "question": "what ?", "answers": {"text": ["red apple"], "answer_start": [17]}}],
        "tagging": [{"tokens": ["the", "dog", "eats"], "tags": ["DET", "NOUN", "VERB"]}],
    }[task.format] * 4
    feats = encode(rows, task, tok, max_length=32, doc_stride=8)
    model = TaskModel(load_encoder(tiny_encoder_dir), [task], dropout=0.0)
    batch = collate(feats, task.format, tok.pad_token_id)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss, _ = model(task.name, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    preds = predict(model, task, rows, feats, batch_size=2, pad_id=tok.pad_token_id)
    result, records = score(task, rows, preds, "en")
    assert result[task.main_metric] == pytest.approx(1.0)
    assert len(records) == len(rows)


def test_loading_an_encoder_with_missing_weights_fails_loudly(tiny_encoder_dir, tmp_path):
    from safetensors.torch import load_file, save_file

    broken = tmp_path / "broken"
    broken.mkdir()
    for f in Path(tiny_encoder_dir).iterdir():
        if f.is_file():
            (broken / f.name).write_bytes(f.read_bytes())
    state = load_file(broken / "model.safetensors")
    victim = next(k for k in state if "encoder.layer.1" in k)
    del state[victim]
    save_file(state, broken / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match="do not match its architecture.*encoder.layer.1"):
        load_encoder(str(broken))
    load_encoder(tiny_encoder_dir)  # a missing pooler alone is fine


@pytest.mark.parametrize("arch", ["xlmr_mlm", "bert_pretraining", "qwen2_causal_lm"])
def test_hub_checkpoints_with_pretraining_heads_load(arch, tmp_path):
    """The Hub's checkpoints carry their pretraining heads (XLM-R lm_head.*, BERT cls.*, a decoder LLM's
    lm_head): not encoder weights, so not an error -- but a missing encoder layer still is."""
    from safetensors.torch import load_file, save_file
    from transformers import (
        BertConfig,
        BertForPreTraining,
        Qwen2Config,
        Qwen2ForCausalLM,
        XLMRobertaConfig,
        XLMRobertaForMaskedLM,  # fmt: skip
    )

    small = dict(vocab_size=120, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    model = {
        "xlmr_mlm": lambda: XLMRobertaForMaskedLM(XLMRobertaConfig(**small)),
        "bert_pretraining": lambda: BertForPreTraining(BertConfig(**small)),
        "qwen2_causal_lm": lambda: Qwen2ForCausalLM(Qwen2Config(**small, num_key_value_heads=1, tie_word_embeddings=False)),
    }[arch]()
    model.save_pretrained(tmp_path / arch)
    head_keys = [k for k in load_file(tmp_path / arch / "model.safetensors") if k.startswith(("lm_head", "cls."))]
    assert head_keys  # the checkpoint really has a pretraining head
    encoder = load_encoder(str(tmp_path / arch))
    assert encoder.config.num_hidden_layers == 2
    state = load_file(tmp_path / arch / "model.safetensors")
    del state[next(k for k in state if ".layers.1." in k or ".layer.1." in k)]
    save_file(state, tmp_path / arch / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match="do not match its architecture"):
        load_encoder(str(tmp_path / arch))


def test_truncated_copy_keeps_the_first_layers(tiny_encoder_dir, tmp_path):
    from xstilts.modelling.pretrain import truncate_like
    from xstilts.modelling.sizes import safetensors_params

    full = load_encoder(tiny_encoder_dir)
    counts = truncate_like(tiny_encoder_dir, tmp_path / "cut", 1)
    cut = load_encoder(str(tmp_path / "cut"))
    assert cut.config.num_hidden_layers == 1 and len(cut.encoder.layer) == 1
    assert counts["params"] == safetensors_params(str(tmp_path / "cut")) < counts["params_before"]
    assert not safetensors_params(str(tmp_path / "cut"), prefix="pooler.")  # no random pooler saved
    for k, a in cut.state_dict().items():
        if not k.startswith("pooler."):
            assert torch.equal(a, full.state_dict()[k]), k  # the kept layers and embeddings are the original weights
    # the cost plan counts a truncated copy from the full model's safetensors header, before it exists
    assert safetensors_params(tiny_encoder_dir, keep_layers=1) == safetensors_params(str(tmp_path / "cut"))
    with pytest.raises(ValueError, match="cannot keep 5 layers"):
        truncate_like(tiny_encoder_dir, tmp_path / "bad", 5)


def test_a_later_training_stage_carries_the_head_over(tiny_encoder_dir, tmp_path):
    """train_first (XCOPA: Social IQa, then COPA): the second stage's head starts as the first's."""
    from dataclasses import replace

    from transformers import AutoTokenizer

    from xstilts.modelling.models import load_head

    tok = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    first = TaskModel(load_encoder(tiny_encoder_dir), [MC, CLS])
    save_checkpoint(tmp_path / "stage1", first, tok, {"tasks": {}, "pooling": "cls"})
    second = TaskModel(load_encoder(str(tmp_path / "stage1")), [replace(MC, name="toy_mc2")])
    assert not torch.equal(second.heads["toy_mc2"].score.weight, first.heads["toy_mc"].score.weight)
    load_head(second.heads["toy_mc2"], str(tmp_path / "stage1"), "toy_mc")
    for a, b in zip(second.heads["toy_mc2"].parameters(), first.heads["toy_mc"].parameters()):
        assert torch.equal(a, b)
    with pytest.raises(CheckpointError, match="has no head for task 'toy_tag'"):
        load_head(second.heads["toy_mc2"], str(tmp_path / "stage1"), "toy_tag")
    with pytest.raises(CheckpointError, match="the head of 'toy_cls' .* does not fit"):
        load_head(second.heads["toy_mc2"], str(tmp_path / "stage1"), "toy_cls")


def test_unreachable_model_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="model '.*no-such-model' could not be loaded"):
        load_encoder(str(tmp_path / "no-such-model"))


def test_checkpoint_round_trip_and_bf16(tiny_encoder_dir, tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    model = TaskModel(load_encoder(tiny_encoder_dir), [CLS])
    meta = {"tasks": {"toy_cls": {"labels": list(NLI_LABELS)}}, "pooling": "cls"}
    save_checkpoint(tmp_path / "ck", model, tok, meta)
    assert {"checkpoint.json", "model.safetensors", "heads.safetensors", "config.json"} <= set(os.listdir(tmp_path / "ck"))
    loaded = load_task_model(str(tmp_path / "ck"), {"toy_cls": CLS})
    for (k, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), k
    save_checkpoint(tmp_path / "bf", model, tok, meta, dtype="bfloat16")
    assert os.path.getsize(tmp_path / "bf/model.safetensors") < 0.6 * os.path.getsize(tmp_path / "ck/model.safetensors")
    (tmp_path / "ck/checkpoint.json").unlink()
    with pytest.raises(CheckpointError, match="not a finished checkpoint"):
        load_task_model(str(tmp_path / "ck"), {"toy_cls": CLS})


# ----------------------------------------------------------------------------- training loop

HP = {"lr": 5e-3, "weight_decay": 0.01, "warmup_ratio": 0.1, "epochs": 3, "max_steps": None, "batch_size": 4,
      "grad_accum": 2, "max_grad_norm": 1.0, "eval_every": 3, "patience": None, "freeze_embeddings": False,
      "precision": "fp32", "gradient_checkpointing": False, "max_answer_length": 30, "dropout": 0.1}  # fmt: skip


def _toy_multitask(tok):
    cls_rows = [{"text_a": w, "text_b": "the dog", "label": NLI_LABELS[i % 3]} for i, w in enumerate(["a", "the", "red"] * 6)]
    tag_rows = [{"tokens": ["the", "dog", "eats"], "tags": ["DET", "NOUN", "VERB"]}] * 12
    d1 = TaskData(CLS, encode(cls_rows, CLS, tok, max_length=16), cls_rows[:6], encode(cls_rows[:6], CLS, tok, max_length=16))
    d2 = TaskData(TAG, encode(tag_rows, TAG, tok, max_length=16), tag_rows[:4], encode(tag_rows[:4], TAG, tok, max_length=16))
    return [d1, d2]


def test_training_is_deterministic_and_multitask(tiny_encoder_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    results, weights = [], []
    for _ in range(2):
        data = _toy_multitask(tok)
        set_seed(7)
        model = TaskModel(load_encoder(tiny_encoder_dir), [d.task for d in data])
        results.append(train(model, data, HP, seed=7, pad_id=tok.pad_token_id, scorer=score, progress=False))
        weights.append({k: v.clone() for k, v in model.state_dict().items()})
    a, b = results
    # 18 + 12 examples in batches of 4 -> 5 + 3 micro-batches, accumulation 2 -> 4 steps/epoch, 3 epochs
    assert a["steps"] == 12 and [h["step"] for h in a["history"]] == [3, 6, 9, 12]
    assert set(a["best_validation_tasks"]) == {"toy_cls", "toy_tag"}
    assert [h["score"] for h in a["history"]] == [h["score"] for h in b["history"]]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_max_steps_and_patience(tiny_encoder_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    data = _toy_multitask(tok)
    model = TaskModel(load_encoder(tiny_encoder_dir), [d.task for d in data])
    r = train(model, data, {**HP, "max_steps": 5, "eval_every": 1, "lr": 0.0}, seed=0, pad_id=tok.pad_token_id, scorer=score, progress=False)
    assert r["steps"] <= 5
    model = TaskModel(load_encoder(tiny_encoder_dir), [d.task for d in data])
    r = train(model, data, {**HP, "epochs": 50, "eval_every": 1, "lr": 1e-9, "patience": 2}, seed=0, pad_id=tok.pad_token_id, scorer=score, progress=False)
    assert r["steps"] == 3  # lr ~0: no improvement after the first validation -> stop after 2 more


# ----------------------------------------------------------------------------- report


def _metrics_file(tmp_path, model, pipeline, seed, per_lang):
    m = {"model": model, "pipeline": pipeline, "train_task": "t", "seed": seed,
         "benchmarks": {"pos": {"split": "test", "main_metric": "f1",
                                "languages": {l: {"f1": v, "token_accuracy": v / 2, "n": 10} for l, v in per_lang.items()}}}}  # fmt: skip
    path = tmp_path / f"{model}-{pipeline}-{seed}.json"
    path.write_text(json.dumps(m))
    return str(path)


def test_transfer_matrix_is_mean_over_seeds_of_mean_over_languages(tmp_path):
    files = [
        _metrics_file(tmp_path, "m", "none", 0, {"en": 0.9, "de": 0.5}),  # mean 0.7
        _metrics_file(tmp_path, "m", "none", 1, {"en": 0.8, "de": 0.4}),  # mean 0.6 -> cell 0.65
        _metrics_file(tmp_path, "m", "mnli", 0, {"en": 0.9, "de": 0.7}),  # 0.8
        _metrics_file(tmp_path, "m", "mnli", 1, {"en": 1.0, "de": 0.8}),  # 0.9 -> cell 0.85, diff +0.20
    ]
    long = collect(files)
    assert len(long) == 16 and set(long.columns) >= {"model", "pipeline", "target", "seed", "language", "metric", "value"}
    cells, diffs = transfer_matrix(long)
    assert list(cells.index) == [("m", "none"), ("m", "mnli")]
    assert cells.loc[("m", "none"), "pos"] == pytest.approx(0.65)
    assert cells.loc[("m", "mnli"), "pos"] == pytest.approx(0.85)
    assert diffs.loc[("m", "mnli"), "pos"] == pytest.approx(0.20)
    write_tables(long, str(tmp_path / "tm"), digits=1, scale=100)
    md = (tmp_path / "tm.md").read_text()
    assert "**85.0 ± 7.1 (+20.0)**" in md and "65.0 ± 7.1" in md and "2 seed(s)" in md
    assert "\\toprule" in (tmp_path / "tm.tex").read_text()
    csv = pd.read_csv(tmp_path / "tm.csv")
    assert csv.loc[csv.pipeline == "mnli", "pos_diff"].item() == pytest.approx(0.2)
    write_figure(long, str(tmp_path / "tm.png"), width=4)
    assert (tmp_path / "tm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_max_length_beyond_the_encoder_positions_is_refused(tiny_encoder_dir):
    from xstilts.modelling.models import check_max_length, max_positions

    enc = load_encoder(tiny_encoder_dir)
    assert max_positions(enc) == 256
    check_max_length(enc, 256, "max_length")
    with pytest.raises(CheckpointError, match="max_length of task 'x' is 300, but the encoder accepts at most 256 tokens"):
        check_max_length(enc, 300, "max_length of task 'x'")


def test_retrieval_is_scored_in_xtremes_direction_and_the_reverse():
    """XTREME queries the non-English index with each English sentence; the reverse is kept too.

    Two foreign sentences (rows 0, 1) and two English ones.  English 0 is nearest to foreign 0 and
    English 1 nearest to foreign 0 as well (en->xx: 1 of 2 right); foreign 0 is nearest to
    English 0 and foreign 1 nearest to English 1 (xx->en: 2 of 2 right)."""
    from xstilts.scoring.score import score_retrieval

    src = np.array([[1.0, 0.0], [0.0, 1.0]])  # foreign
    tgt = np.array([[1.0, 0.1], [0.8, 0.7]])  # English
    # cos(en1, xx0) = 0.8/1.063 = 0.75 > cos(en1, xx1) = 0.7/1.063 = 0.66
    # cos(xx1, en0) = 0.1/1.005 = 0.10 < cos(xx1, en1) = 0.66
    rows = [{"id": "a", "source": "x", "target": "y"}, {"id": "b", "source": "x", "target": "y"}]
    result, recs = score_retrieval(RET, rows, src, tgt)
    assert result == {"accuracy": 0.5, "accuracy_xx_to_en": 1.0}
    assert [r["prediction"] for r in recs] == [0, 0] and [r["prediction_xx_to_en"] for r in recs] == [0, 1]


def _meaning_embedder(meaning_of):
    """Texts -> rows: meaning m is the unit vector e_m plus a shared component (so that unrelated
    sentences have a small positive cosine, as real encoders give)."""

    def embed_texts(texts):
        vecs = np.full((len(texts), 10), 0.3)
        for i, t in enumerate(texts):
            vecs[i, meaning_of[t]] += 1.0
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)

    return embed_texts


def test_bucc_threshold_is_chosen_on_dev_and_reused_on_test():
    from xstilts.scoring.score import score_bucc

    meaning = {"d1": 1, "d2": 2, "d3": 7, "g1": 1, "g2": 2, "g3": 8,  # dev: d3 has no translation
               "t1": 1, "t2": 2, "t3": 3, "t4": 5, "f1": 1, "f2": 2, "f3": 3, "f4": 4}  # fmt: skip
    dev = (["D1", "D2", "D3"], ["d1", "d2", "d3"], ["G1", "G2", "G3"], ["g1", "g2", "g3"], [("D1", "G1"), ("D2", "G2")])
    # test: t3/f3 share a meaning but are not a gold pair (a false positive at any threshold
    # that keeps the true pairs); t4/f4 are unrelated and must fall below the dev threshold
    test = (["T1", "T2", "T3", "T4"], ["t1", "t2", "t3", "t4"], ["F1", "F2", "F3", "F4"], ["f1", "f2", "f3", "f4"],
            [("T1", "F1"), ("T2", "F2")])  # fmt: skip
    result, recs = score_bucc(dev, test, _meaning_embedder(meaning), k=4)
    assert result["dev_f1"] == 1.0
    predicted = {(r["source_id"], r["target_id"]) for r in recs if r["predicted"]}
    assert predicted == {("T1", "F1"), ("T2", "F2"), ("T3", "F3")}
    # precision 2/3, recall 2/2, F1 = 2 * (2/3) * 1 / (2/3 + 1) = 0.8
    assert result["precision"] == pytest.approx(2 / 3) and result["recall"] == 1.0 and result["f1"] == pytest.approx(0.8)
    assert result["n_gold"] == 2 and result["n_candidates"] == 4
    scores = {(r["source_id"], r["target_id"]): r["score"] for r in recs}
    assert scores[("T4", "F4")] < result["threshold"] <= scores[("T1", "F1")]


def test_bucc_drops_sentences_whose_text_repeats():
    """XTREME's read_sent2id: a text that occurs twice maps to no id, so its pairs are not scored."""
    from xstilts.scoring.score import mine_bucc

    meaning = {"a": 1, "b": 2, "A": 1, "B": 2}
    cands = mine_bucc(["s1", "s2", "s3"], ["a", "b", "b"], ["e1", "e2"], ["A", "B"], _meaning_embedder(meaning), k=2)
    assert [(s, t) for s, t, _ in cands] == [("s1", "e1")]


def test_retrieval_job_mines_bucc_from_the_release_files(tmp_path, tiny_encoder_dir):
    """The whole job on the BUCC 2018 fixture release: manifest -> read -> embed -> mine -> F1."""
    from xstilts.data.registry import build_registry, task_to_dict
    from xstilts.workflow.jobs.evaluation import retrieval

    release = Path(__file__).parent / "fixtures/release/bucc2018"
    (tmp_path / "data/bucc").mkdir(parents=True)
    (tmp_path / "data/bucc/manifest.json").write_text(json.dumps({"path": str(release)}))
    task = build_registry(None)["bucc"]
    params = {
        "identity": {"model": "toy", "pipeline": "none", "seed": None},
        "benchmarks": [{"task": task_to_dict(task), "root": str(tmp_path / "data"), "split": "test",
                        "splits": {"de": "test"}, "languages": ["de"], "max_examples": None}],
        "layer": 1, "max_length": 64, "batch_size": 8, "dtype": "float32", "encoder_module": None,
        "from_base": True, "on_bad_row": "error",
    }  # fmt: skip
    out, preds = tmp_path / "m.json", tmp_path / "p.jsonl.gz"
    retrieval(params, os.path.join(tiny_encoder_dir, "config.json"), str(out), str(preds))
    m = json.loads(out.read_text())["benchmarks"]["bucc"]
    de = m["languages"]["de"]
    assert m["main_metric"] == "f1" and de["n_gold"] == 1 and de["split"] == "test"
    assert {"f1", "precision", "recall", "threshold", "dev_f1"} <= set(de)
    assert 0.0 <= de["f1"] <= 1.0 and m["mean"]["f1"] == de["f1"]
    import gzip

    with gzip.open(preds, "rt") as f:
        recs = [json.loads(line) for line in f]
    assert len(recs) == de["n_candidates"] and all(r["benchmark"] == "bucc" for r in recs)


def test_metrics_lineage_names_the_pinned_model_and_data_revisions(tmp_path):
    """Every metrics file carries the chain base -> intermediate -> target with the Hub revisions."""
    from xstilts.workflow.jobs.records import lineage

    def meta(d, **m):
        d.mkdir(parents=True, exist_ok=True)
        (d / "checkpoint.json").write_text(json.dumps(m))

    data = tmp_path / "resources/data"
    (data / "mnli").mkdir(parents=True)
    (data / "mnli/manifest.json").write_text(json.dumps(
        {"source": "hub", "dataset_id": "nyu-mll/glue", "requested_revision": None, "revision": "main",
         "resolved": {"mnli/train": {"commit": "abc123"}}, "files": {}}))  # fmt: skip
    base, inter, target = tmp_path / "base", tmp_path / "inter", tmp_path / "target"
    meta(base, kind="hub", id="FacebookAI/xlm-roberta-large", revision="main", commit="c0ffee")
    meta(inter, kind="intermediate", init=str(base), tasks={"mnli": {}}, params={"data": {"mnli": {"root": str(data)}}})
    meta(target, kind="target", init=str(inter), tasks={"xnli": {}}, params={"data": {"xnli": {"root": "/my/jsonl"}}})
    chain = lineage(str(target))
    assert [c["kind"] for c in chain] == ["hub", "intermediate", "target"]
    assert chain[0]["id"] == "FacebookAI/xlm-roberta-large" and chain[0]["commit"] == "c0ffee"
    assert chain[1]["data"]["mnli"]["dataset_id"] == "nyu-mll/glue"
    assert chain[1]["data"]["mnli"]["resolved"]["mnli/train"]["commit"] == "abc123"
    assert chain[2]["data"]["xnli"] == {"source": "local", "root": "/my/jsonl"}
    # a local model directory (no checkpoint.json) ends the chain with its path
    meta(inter, kind="intermediate", init=str(tmp_path / "e5"), tasks={"mnli": {}}, params={"data": {}})
    assert lineage(str(inter))[0] == {"kind": "local", "path": str(tmp_path / "e5")}
