"""The paper's two alternatives to plain intermediate training: multilingual masked-LM mixed in
(pipeline key ``mlm``) and machine-translated copies of the intermediate data (``translations``)."""

import json
import os

import datasets
import pytest
import torch
import yaml
from conftest import ROOT, write_jsonl

from xstilts.common.errors import ConfigError, DataError
from xstilts.data.hub import fetch_corpus
from xstilts.data.registry import NLI_LABELS, Task, task_to_dict
from xstilts.modelling.features import IGNORE, collate
from xstilts.modelling.mlm import MLM_TASK, MaskedLMHead, corpus_features, encode_lines, mask_tokens
from xstilts.modelling.models import TaskModel, load_encoder, load_task_model
from xstilts.workflow.config import HPARAM_DEFAULTS, Experiment
from xstilts.workflow.jobs import training as jobs
from xstilts.workflow.jobs.data import fetch_translation
from xstilts.workflow.jobs.records import lineage
from xstilts.workflow.plan import Plan

CLS = Task("toy_cls", "classification", "accuracy", labels=NLI_LABELS, pair=True)
HP = {**HPARAM_DEFAULTS, "lr": 3e-3, "epochs": 3, "batch_size": 8, "eval_every": 100, "eval_examples": 6,
      "max_length": 24, "precision": "fp32", "dropout": 0.0}  # fmt: skip


@pytest.fixture(autouse=True)
def _restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_encoder_dir)


# ----------------------------------------------------------------------------- masking


def _batch(tokenizer, lines):
    feats = encode_lines(lines, tokenizer, max_length=32)
    return collate(feats, "mlm", tokenizer.pad_token_id), feats


def test_masking_predicts_real_tokens_only_in_bert_proportions(tokenizer):
    lines = ["the dog eats the red apple near the big house by the river ."] * 400 + ["a cat ."] * 100
    batch, feats = _batch(tokenizer, lines)
    info = {"mask_id": tokenizer.mask_token_id, "vocab_size": len(tokenizer), "mask_prob": 0.15}
    out = mask_tokens(batch, feats, seed=(0, 1, 0, 2), **info)
    chosen = out["labels"] != IGNORE
    special = torch.zeros_like(chosen)
    for b, f in enumerate(feats):
        special[b, f["special"]] = True
    real = batch["attention_mask"].bool() & ~special
    assert not (chosen & ~real).any()  # never [CLS], [SEP] or padding
    assert torch.equal(out["labels"][chosen], batch["input_ids"][chosen])
    assert chosen.any(1).all()  # every sequence predicts something ("a cat ." has 3 real tokens)
    long = chosen[:400].sum() / real[:400].sum()
    assert 0.13 < long < 0.17, long
    masked = (out["input_ids"] == tokenizer.mask_token_id) & chosen
    kept = (out["input_ids"] == batch["input_ids"]) & chosen
    assert 0.76 < masked.sum() / chosen.sum() < 0.84
    assert 0.07 < kept.sum() / chosen.sum() < 0.15  # the 10 % kept, plus random draws that hit the same id
    assert torch.equal(out["input_ids"][~chosen], batch["input_ids"][~chosen])
    # the same key masks the same way (a rerun or a resumed run); another key does not
    again = mask_tokens(batch, feats, seed=(0, 1, 0, 2), **info)
    other = mask_tokens(batch, feats, seed=(0, 1, 0, 3), **info)
    assert torch.equal(again["input_ids"], out["input_ids"]) and torch.equal(again["labels"], out["labels"])
    assert not torch.equal(other["labels"], out["labels"])


def test_corpus_draws_the_ratio_evenly_from_every_language(tmp_path, tokenizer):
    (tmp_path / "de.txt").write_text("der hund isst den roten apfel .\n\n" * 50, encoding="utf-8")
    (tmp_path / "fr.txt").write_text("une chatte voit la grande maison .\n" * 3, encoding="utf-8")
    spec = {"files": {"de": str(tmp_path / "de.txt"), "fr": str(tmp_path / "fr.txt")}, "languages": ["de", "fr"],
            "ratio": 0.5, "lines_per_language": 40, "max_length": 16}  # fmt: skip
    feats, summary = corpus_features(spec, tokenizer, n_task_examples=21, seed=0, cache_dir=str(tmp_path / "cache"))
    assert len(feats) == 10 and summary["de"]["sequences"] == 5 and summary["fr"]["sequences"] == 5
    assert summary["de"]["lines"] == 40 and summary["fr"]["lines"] == 3  # blank lines skipped; a small corpus repeats
    again, _ = corpus_features(spec, tokenizer, n_task_examples=21, seed=0, cache_dir=str(tmp_path / "cache"))
    assert again == feats  # cached and deterministic
    spec["files"]["fr"] = str(tmp_path / "missing.txt")
    with pytest.raises(DataError, match="missing.txt' does not exist"):
        corpus_features(spec, tokenizer, n_task_examples=21, seed=0)


def test_head_starts_from_the_pretrained_lm_head(tmp_path, tiny_encoder_dir):
    from transformers import BertConfig, BertForMaskedLM

    cfg = BertConfig.from_pretrained(tiny_encoder_dir)
    torch.manual_seed(1)
    BertForMaskedLM(cfg).save_pretrained(tmp_path)
    head = MaskedLMHead(cfg.hidden_size, cfg.vocab_size)
    assert head.load_pretrained(str(tmp_path)) == "cls.predictions."
    from safetensors.torch import load_file

    saved = load_file(str(tmp_path / "model.safetensors"))
    assert torch.equal(head.dense.weight, saved["cls.predictions.transform.dense.weight"])
    assert torch.equal(head.norm.bias, saved["cls.predictions.transform.LayerNorm.bias"])
    assert MaskedLMHead(cfg.hidden_size, cfg.vocab_size).load_pretrained(tiny_encoder_dir) is None  # an encoder without one


# ----------------------------------------------------------------------------- the training job


def _mlm_loss(model, feats, tokenizer) -> float:
    """Mean masked-LM loss over fixed masks of held-out lines."""
    info = {"mask_id": tokenizer.mask_token_id, "vocab_size": len(tokenizer), "mask_prob": 0.15}
    model.eval()
    losses = []
    with torch.no_grad():
        for k in range(0, len(feats), 16):
            part = feats[k : k + 16]
            batch = mask_tokens(collate(part, "mlm", tokenizer.pad_token_id), part, seed=("held-out", k), **info)
            losses.append(model("mlm", batch)[0].item())
    return sum(losses) / len(losses)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlm")
    words = ["a", "the", "red", "big", "dog", "cat"]
    rows = [{"id": str(i), "text_a": f"{words[i % 6]} dog eats", "text_b": "the dog", "label": NLI_LABELS[i % 3]} for i in range(24)]
    write_jsonl(root / "data/toy_cls/train/en.jsonl", rows)
    write_jsonl(root / "data/toy_cls/validation/en.jsonl", rows[:6])
    de = [{**r, "id": f"de-{r['id']}", "text_a": r["text_a"].replace("dog", "hund")} for r in rows]
    write_jsonl(root / "mt/toy_cls.de.jsonl", de)
    (root / "corpus").mkdir()
    (root / "corpus/de.txt").write_text("der hund isst den roten apfel .\nder große hund sieht die katze .\n" * 30, encoding="utf-8")
    (root / "corpus/fr.txt").write_text("une chatte voit la grande maison .\nle chien mange la pomme .\n" * 30, encoding="utf-8")
    return root


def _params(root, **extra) -> dict:
    return {
        "phase": "intermediate",
        "tasks": [task_to_dict(CLS, training=True)],
        "hparams": HP,
        "task_hparams": {},
        "data": {"toy_cls": {"root": str(root / "data"), "train_languages": ["en"], "cap": None}},
        "seed": 0,
        "model": {"dtype": "float32", "pooling": "cls", "encoder_module": None},
        "from_base": True,
        "on_bad_row": "error",
        **extra,
    }


def test_training_with_mlm_mixed_in_learns_the_corpus(toy, tiny_encoder_dir, tokenizer, tmp_path, caplog):
    mlm = {"files": {lang: str(toy / f"corpus/{lang}.txt") for lang in ("de", "fr")}, "languages": ["de", "fr"],
           "ratio": 2.0, "mask_prob": 0.15, "max_length": 16, "lines_per_language": 60}  # fmt: skip
    out = tmp_path / "model/checkpoint.json"
    caplog.set_level("INFO", logger="xstilts")
    params = _params(toy, mlm=mlm, hparams={**HP, "epochs": 8})
    jobs.train(params, os.path.join(tiny_encoder_dir, "config.json"), str(out), threads=1)
    meta = json.loads(out.read_text())
    assert sorted(meta["tasks"]) == ["mlm", "toy_cls"] and sorted(meta["heads"]) == ["mlm", "toy_cls"]
    assert "MLM mix-in: 48 sequences (ratio 2.0 of 24 task examples) from {'de': 24, 'fr': 24}" in caplog.text
    assert "training toy_cls+mlm: 72 examples, 72 steps" in caplog.text  # (3 + 6) batches x 8 epochs
    assert meta["result"]["best_validation_tasks"].keys() == {"toy_cls"}  # MLM takes no part in model selection
    assert lineage(str(out.parent))[-1]["mlm"] == {"files": mlm["files"], "ratio": 2.0}

    # the encoder learnt the corpus: held-out masked-LM loss far below the same head on the initial encoder
    held_out = encode_lines(["der hund sieht den apfel .", "la chatte mange la pomme ."] * 8, tokenizer, max_length=16)
    trained = load_task_model(str(out.parent), {"toy_cls": CLS, "mlm": MLM_TASK})
    before = TaskModel(load_encoder(tiny_encoder_dir), [MLM_TASK])
    before.heads["mlm"].load_state_dict(trained.heads["mlm"].state_dict())
    after_loss, before_loss = _mlm_loss(trained, held_out, tokenizer), _mlm_loss(before, held_out, tokenizer)
    assert after_loss < 0.8 * before_loss, (after_loss, before_loss)


def test_training_on_translated_copies_reads_them_with_the_english_data(toy, tiny_encoder_dir, tmp_path):
    data = _params(toy)["data"]
    data["toy_cls"]["translations"] = {"de": str(toy / "mt/toy_cls.de.jsonl")}
    out = tmp_path / "model/checkpoint.json"
    jobs.train(_params(toy, data=data), os.path.join(tiny_encoder_dir, "config.json"), str(out), threads=1)
    meta = json.loads(out.read_text())
    assert any(f.endswith("toy_cls.de.jsonl") for f in meta["data_files"])
    assert meta["result"]["steps"] == 3 * 6  # 48 rows in batches of 8, 3 epochs
    assert lineage(str(out.parent))[-1]["translations"] == {"toy_cls": {"de": str(toy / "mt/toy_cls.de.jsonl")}}
    data["toy_cls"]["translations"] = {"fr": str(toy / "mt/toy_cls.fr.jsonl")}
    with pytest.raises(Exception, match="toy_cls.fr.jsonl' .toy_cls, fr. does not exist"):
        jobs.train(_params(toy, data=data), os.path.join(tiny_encoder_dir, "config.json"), str(tmp_path / "x/checkpoint.json"), threads=1)


# ----------------------------------------------------------------------------- config, plan and Hub sources


def _paper(**pipelines) -> dict:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["pipelines"] = {**cfg["pipelines"], **pipelines}
    return cfg


WIKI = {"hub": "wikimedia/wikipedia", "config": "20231101.{lang}", "revision": "b04c8d1"}


def test_pipelines_of_the_two_alternatives_resolve_to_job_specs():
    exp = Experiment(_paper(
        mnli_mlm={"kind": "single", "task": "mnli", "mlm": {"corpus": WIKI, "languages": ["de", "sw"], "lines_per_language": 500}},
        squad_mt={"kind": "single", "task": "squad", "translations": {"de": "mt/squad.de.jsonl",
                                                                      "es": {"hub": "someone/squad-es", "revision": "abc"}}},
        mixed={"kind": "multitask", "tasks": ["mnli", "squad"], "translations": {"de": "mt"}},
    ))  # fmt: skip
    plan = Plan(exp)
    key = next(iter(plan.hub_corpora()))
    assert key.startswith("wikimedia--wikipedia-")
    spec = json.loads(plan.intermediate_params("xlmr-large", "mnli_mlm", 0))
    assert spec["mlm"]["files"] == {lang: f"resources/corpora/{key}/{lang}.txt" for lang in ("de", "sw")}
    assert {spec["mlm"][k] for k in ("ratio", "mask_prob", "max_length", "lines_per_language")} == {0.5, 0.15, 128, 500}
    inputs = plan.intermediate_inputs("xlmr-large", "mnli_mlm", 0)["data"]
    assert f"resources/corpora/{key}/sw.txt" in inputs
    fetch = json.loads(plan.fetch_corpus_params(key, "sw"))
    assert fetch == {"corpus": WIKI, "lang": "sw", "lines": 500}

    spec = json.loads(plan.intermediate_params("xlmr-large", "squad_mt", 0))
    mt = spec["data"]["squad"]["translations"]
    (tkey,) = [k for k, t in plan.hub_translations().items() if t["task"] == "squad"]
    assert mt == {"de": "mt/squad.de.jsonl", "es": f"resources/translations/{tkey}.jsonl"} and tkey.startswith("squad.es-")
    assert spec["data"]["squad"]["train_languages"] == ["en"]
    spec = json.loads(plan.intermediate_params("xlmr-large", "mixed", 0))
    assert spec["data"]["mnli"]["translations"] == {"de": "mt/mnli/train/de.jsonl"}
    assert spec["data"]["squad"]["translations"] == {"de": "mt/squad/train/de.jsonl"}
    # a plain pipeline's params do not mention either option (existing jobs keep their params)
    plain = Experiment(_paper(mnli={"kind": "single", "task": "mnli"}))
    assert "mlm" not in json.loads(Plan(plain).intermediate_params("xlmr-large", "mnli", 0))


@pytest.mark.parametrize(("pipeline", "message"), [
    ({"kind": "single", "task": "mnli", "mlm": {"corpus": {"hub": "wikimedia/wikipedia", "config": "20231101.de"}, "languages": ["de"]}},
     "must contain '{lang}'"),
    ({"kind": "single", "task": "mnli", "mlm": {"corpus": {"path": "c", "hub": "x/y"}, "languages": ["de"]}}, "exactly one of"),
    ({"kind": "single", "task": "mnli", "translations": {"en": "mt"}}, "English is the original data"),
    ({"kind": "multitask", "tasks": ["mnli", "squad"], "translations": {"de": "mt/x.jsonl"}}, "names one file"),
    ({"kind": "sequence", "stages": ["a", "b"], "mlm": {"corpus": {"path": "c"}, "languages": ["de"]}}, "does not apply to a sequence"),
])  # fmt: skip
def test_bad_alternative_pipelines_stop_with_one_sentence(pipeline, message):
    with pytest.raises(ConfigError, match=message):
        Experiment(_paper(bad=pipeline))


class _Streaming:
    def __init__(self, rows):
        self.rows = rows

    def __iter__(self):
        return iter(self.rows)


def test_fetch_corpus_writes_paragraphs_of_one_language(tmp_path, monkeypatch):
    calls = []

    def load_dataset(path, name=None, **kw):
        calls.append((path, name, kw))
        return _Streaming([{"text": "Title\n\nFirst paragraph of the article is here.\nSecond paragraph, also long enough."},
                           {"text": "Third paragraph in the next article, long too."}])  # fmt: skip

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    out = tmp_path / "sw.txt"
    assert fetch_corpus(WIKI, "sw", 2, str(out)) == 2
    assert out.read_text().splitlines() == ["First paragraph of the article is here.", "Second paragraph, also long enough."]
    assert calls == [("wikimedia/wikipedia", "20231101.sw", {"data_dir": None, "split": "train", "revision": "b04c8d1", "streaming": True})]

    def offline(*a, **k):
        raise ConnectionError("no internet")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError, match=r"could not be loaded \(ConnectionError"):
        fetch_corpus(WIKI, "sw", 2, str(tmp_path / "x.txt"))
    assert not (tmp_path / "x.txt").exists()


def test_fetch_translation_converts_rows_like_the_english_hub_task(tmp_path, monkeypatch):
    """A translated MNLI in GLUE's schema (integer labels; -1 = no gold label) becomes our rows."""
    rows = [{"premise": "Der Hund isst.", "hypothesis": "Ein Tier isst.", "label": 0, "idx": 0},
            {"premise": "Die Katze schläft.", "hypothesis": "Die Katze rennt.", "label": 2, "idx": 1},
            {"premise": "Unklar.", "hypothesis": "Unklar.", "label": -1, "idx": 2}]  # fmt: skip
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.Dataset.from_list(rows))
    from xstilts.data.registry import build_registry

    params = {"task": task_to_dict(build_registry({})["mnli"]), "lang": "de",
              "source": {"hub": "someone/mnli-de"}, "on_bad_row": "error"}  # fmt: skip
    out = tmp_path / "mnli.de.jsonl"
    fetch_translation(params, str(out))
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["text_a"], r["label"]) for r in got] == [("Der Hund isst.", "entailment"), ("Die Katze schläft.", "contradiction")]


def test_dry_run_fetches_hub_corpora_and_translations_on_the_login_node(tmp_path):
    from conftest import copy_repo, job_counts, snakemake

    work = copy_repo(tmp_path / "repo")
    cfg = _paper(mnli_mlm={"kind": "single", "task": "mnli", "mlm": {"corpus": WIKI, "languages": ["de", "sw"]}},
                 squad_mt={"kind": "single", "task": "squad", "translations": {"es": {"hub": "someone/squad-es"}}})  # fmt: skip
    cfg["seeds"] = [0]
    (work / "alt.yaml").write_text(yaml.safe_dump(cfg))
    counts = job_counts(snakemake(work, "-n", "-q", "rules", "--configfile", "alt.yaml").stdout)
    assert counts["fetch_corpus"] == 2 and counts["fetch_translation"] == 1 + 14  # and mnli_mt of config.yaml
    trained = sum(p.trains for p in Experiment(cfg).pipelines.values())
    assert counts["train_intermediate"] == trained and "mnli_mlm" in Experiment(cfg).pipelines


def test_mixed_language_job_then_a_second_stage_that_keeps_the_head(toy, tiny_encoder_dir, tmp_path, caplog):
    """translation_ratio 0.5 of 24 English rows with one translated copy: 12 rows from each file, every
    example once.  A later target stage (train_first, e.g. XCOPA's COPA after Social IQa) then starts
    from that checkpoint with its head, not a fresh one."""
    from dataclasses import replace

    caplog.set_level("INFO", logger="xstilts")
    data = {"toy_cls": {"root": str(toy / "data"), "train_languages": ["en"], "cap": None,
                        "translations": {"de": str(toy / "mt/toy_cls.de.jsonl")}, "translation_ratio": 0.5}}  # fmt: skip
    first = tmp_path / "mixed/checkpoint.json"
    jobs.train(_params(toy, data=data), os.path.join(tiny_encoder_dir, "config.json"), str(first), threads=1)
    assert f"mixed-language data: 12 of 24 rows from {toy / 'data/toy_cls/train/en.jsonl'}" in caplog.text
    assert f"mixed-language data: 12 of 24 rows from {toy / 'mt/toy_cls.de.jsonl'}" in caplog.text
    assert "training toy_cls: 24 examples" in caplog.text

    second_task = replace(CLS, name="toy_cls2")
    write_jsonl(toy / "data/toy_cls2/train/en.jsonl", [json.loads(line) for line in (toy / "data/toy_cls/train/en.jsonl").read_text().splitlines()])
    params = _params(toy, phase="target", tasks=[task_to_dict(second_task, training=True)], from_base=False, init_head="toy_cls",
                     data={"toy_cls2": {"root": str(toy / "data"), "train_languages": ["en"], "cap": None}},
                     hparams={**HP, "epochs": 1, "lr": 1e-12})  # fmt: skip  # a step too small to move the weights
    second = tmp_path / "second/checkpoint.json"
    jobs.train(params, str(first), str(second), threads=1)
    assert "head of 'toy_cls' carried over" in caplog.text
    a = load_task_model(str(first.parent), {"toy_cls": CLS}).heads["toy_cls"]
    b = load_task_model(str(second.parent), {"toy_cls2": second_task}).heads["toy_cls2"]
    for x, y in zip(a.parameters(), b.parameters()):
        assert torch.allclose(x, y, atol=1e-6)


def test_a_decoder_llm_trains_with_last_token_pooling(toy, tiny_encoder_dir, tmp_path):
    """config/rq/scale.yaml's multilingual decoder LLM: a causal LM checkpoint (its lm_head is not an
    encoder weight) trains with the same heads, the sentence vector being the last real token's state."""
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    AutoTokenizer.from_pretrained(tiny_encoder_dir).save_pretrained(tmp_path / "llm")
    Qwen2Config().save_pretrained(tmp_path / "llm")
    tok = AutoTokenizer.from_pretrained(tmp_path / "llm")  # as a Qwen2 tokenizer: one special token more
    config = Qwen2Config(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         intermediate_size=64, max_position_embeddings=128, tie_word_embeddings=False,
                         pad_token_id=tok.pad_token_id)  # fmt: skip
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(tmp_path / "llm")
    out = tmp_path / "trained/checkpoint.json"
    params = _params(toy, model={"dtype": "float32", "pooling": "last", "encoder_module": None}, hparams={**HP, "epochs": 2})
    jobs.train(params, str(tmp_path / "llm/config.json"), str(out), threads=1)
    meta = json.loads(out.read_text())
    assert meta["pooling"] == "last" and meta["heads"] == ["toy_cls"]
    model = load_task_model(str(out.parent), {"toy_cls": CLS})
    assert type(model.encoder).__name__ == "Qwen2Model" and model.pooling == "last"
