"""The synthetic world generator (formats, determinism, translations, anchors) and the tiny
encoder's tokenizer / checkpoint layout.  Fast: small worlds, no real pretraining."""

from __future__ import annotations

import hashlib
import json
import os
import string

import pytest

from xstilts.data import synthetic
from xstilts.data.synthetic import LANGUAGES, TASKS, generate_world

SMALL = dict(n_corpus=60, n_train=40, n_validation=20, n_test=40)
PUNCT = set(string.punctuation)


def _tree_digest(root) -> dict:
    out = {}
    for d, _, files in os.walk(root):
        for name in files:
            path = os.path.join(d, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def _rows(root, task, split, lang):
    with open(f"{root}/{task}/{split}/{lang}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    manifest = generate_world(root, seed=3, **SMALL)
    return str(root), manifest


def test_languages_and_tasks_are_described():
    assert list(LANGUAGES)[0] == "en" and len(LANGUAGES) >= 4
    assert all(isinstance(v, str) and v for v in LANGUAGES.values())
    assert set(TASKS) == {"syn_pos", "syn_topic", "syn_qa", "syn_tatoeba", "syn_choice", "syn_gram", "syn_siqa", "syn_copa", "syn_xcopa"}
    for spec in TASKS.values():
        assert spec["format"] in ("classification", "multiple_choice", "span_qa", "tagging", "retrieval")
        if spec["format"] in ("classification", "tagging"):
            assert spec["labels"] and len(set(spec["labels"])) == len(spec["labels"])


def test_generation_is_deterministic(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    ma = generate_world(a, seed=5, **SMALL)
    mb = generate_world(b, seed=5, **SMALL)
    da, db = _tree_digest(a), _tree_digest(b)
    assert da == db and ma == mb
    assert not [p for p in da if ".tmp" in p]  # no temporary files left behind
    generate_world(c, seed=6, **SMALL)
    dc = _tree_digest(c)
    assert set(dc) == set(da)
    assert sum(dc[p] != da[p] for p in da) >= len(da) - 1  # another seed is another world (world.json differs too)


def test_language_subset_gives_the_same_rows(tmp_path, world):
    root, _ = world
    manifest = generate_world(tmp_path, seed=3, languages=["xc"], **SMALL)
    assert manifest["languages"] == ["en", "xc"]
    for rel in ("syn_pos/test/xc.jsonl", "syn_qa/train/xc.jsonl", "syn_tatoeba/test/xc.jsonl", "corpus/xc.txt", "syn_gram/train/en.jsonl"):
        with open(tmp_path / rel, "rb") as f1, open(os.path.join(root, rel), "rb") as f2:
            assert f1.read() == f2.read(), rel
    assert not (tmp_path / "syn_pos" / "test" / "xa.jsonl").exists()
    with pytest.raises(ValueError):
        generate_world(tmp_path / "bad", languages=["fr"], **SMALL)


def test_every_file_follows_its_format(world):
    root, manifest = world
    langs = manifest["languages"]
    assert langs == list(LANGUAGES)
    for task, entry in manifest["tasks"].items():
        fmt = TASKS[task]["format"]
        assert entry["format"] == fmt
        for split, counts in entry["splits"].items():
            for lang, n in counts.items():
                rows = _rows(root, task, split, lang)
                assert len(rows) == n > 0
                assert len({r["id"] for r in rows}) == n
                for r in rows:
                    if fmt == "tagging":
                        assert len(r["tokens"]) == len(r["tags"]) > 0
                        assert set(r["tags"]) <= set(entry["labels"])
                        assert all(isinstance(t, str) and t and " " not in t for t in r["tokens"])
                    elif fmt == "classification":
                        assert isinstance(r["text_a"], str) and r["text_a"].strip()
                        assert r["text_b"] is None
                        assert r["label"] in entry["labels"]
                    elif fmt == "span_qa":
                        ans = r["answers"]
                        assert len(ans["text"]) == len(ans["answer_start"]) == 1
                        for text, start in zip(ans["text"], ans["answer_start"]):
                            assert text and r["context"][start : start + len(text)] == text
                        assert r["question"].endswith("?")
                    elif fmt == "multiple_choice":
                        assert 2 <= len(r["choices"]) <= 4 and len(set(r["choices"])) == len(r["choices"])
                        assert isinstance(r["label"], int) and 0 <= r["label"] < len(r["choices"])
                        assert r["context"] and r["question"]
                    elif fmt == "retrieval":
                        assert r["source"].strip() and r["target"].strip()
                    else:  # pragma: no cover
                        pytest.fail(f"unknown format {fmt}")


def test_manifest_matches_the_files_on_disk(world):
    root, manifest = world
    assert manifest["spec"]["seed"] == 3 and manifest["spec"]["n_test"] == SMALL["n_test"]
    with open(os.path.join(root, "world.json"), encoding="utf-8") as f:
        assert json.load(f) == manifest
    on_disk = {}
    for task in TASKS:
        for split in sorted(os.listdir(os.path.join(root, task))):
            for name in sorted(os.listdir(os.path.join(root, task, split))):
                with open(os.path.join(root, task, split, name), encoding="utf-8") as f:
                    on_disk.setdefault(task, {}).setdefault(split, {})[name[: -len(".jsonl")]] = sum(1 for _ in f)
    assert on_disk == {t: e["splits"] for t, e in manifest["tasks"].items()}
    for task, spec in TASKS.items():
        assert sorted(on_disk[task]) == sorted(spec["splits"])
    assert set(on_disk["syn_tatoeba"]["test"]) == set(LANGUAGES) - {"en"}
    assert set(on_disk["syn_choice"]["train"]) == set(on_disk["syn_gram"]["validation"]) == {"en"}
    assert set(on_disk["syn_xcopa"]["test"]) == set(LANGUAGES) - {"en"}  # XCOPA's shape: no English
    for lang in LANGUAGES:
        with open(os.path.join(root, "corpus", f"{lang}.txt"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        assert len(lines) == SMALL["n_corpus"] and all(line.strip() for line in lines)


def test_translations_share_ids_and_differ_in_form(world):
    root, _ = world
    others = [lang for lang in LANGUAGES if lang != "en"]
    for task, key in (("syn_pos", "tokens"), ("syn_topic", "text_a"), ("syn_qa", "context")):
        for split in ("train", "test"):
            en = _rows(root, task, split, "en")
            for lang in others:
                rows = _rows(root, task, split, lang)
                assert [r["id"] for r in rows] == [r["id"] for r in en]
                assert all(r[key] != e[key] for r, e in zip(rows, en))
                if task == "syn_topic":  # same meaning, same label
                    assert [r["label"] for r in rows] == [r["label"] for r in en]
    # the pseudo-languages differ from each other too
    texts = {lang: [r["text_a"] for r in _rows(root, "syn_topic", "test", lang)] for lang in LANGUAGES}
    for i, a in enumerate(others):
        for b in others[i + 1 :]:
            assert all(x != y for x, y in zip(texts[a], texts[b]))


def _words(text):
    return [w for w in text.split() if w not in PUNCT]


def test_retrieval_and_topic_sentences_are_anchor_free(world):
    root, _ = world
    for lang in LANGUAGES:
        if lang == "en":
            continue
        pairs = _rows(root, "syn_tatoeba", "test", lang)
        assert len({p["target"] for p in pairs}) == len(pairs)  # a unique answer per query
        for p in pairs:
            shared = set(_words(p["source"])) & set(_words(p["target"]))
            assert not shared, (lang, p)
        en = _rows(root, "syn_topic", "test", "en")
        for r, e in zip(_rows(root, "syn_topic", "test", lang), en):
            assert not set(_words(r["text_a"])) & set(_words(e["text_a"])), (lang, r)


def test_pretraining_corpus_has_anchors_but_the_languages_differ(world):
    root, _ = world
    lex = synthetic._Lexicon(3)
    tokens = {}
    for lang in LANGUAGES:
        with open(os.path.join(root, "corpus", f"{lang}.txt"), encoding="utf-8") as f:
            tokens[lang] = [w for line in f for w in _words(line)]
    anchors = set(synthetic.NAMES) | set(synthetic.DIGITS) | {n for n, d in lex.nouns.items() if d["anchor"]}
    assert set(tokens["en"]) <= lex.english_words | set(synthetic.DIGITS)
    for lang in LANGUAGES:
        if lang == "en":
            continue
        shared = [w for w in tokens[lang] if w in lex.english_words or w in anchors]
        assert set(shared) & anchors  # loanwords, names, digits survive
        # English words occur only as anchors and in the few code-switched sentences
        assert 0 < len(shared) < 0.15 * len(tokens[lang]), (lang, len(shared), len(tokens[lang]))


def test_topic_labels_do_not_follow_sentence_length(world):
    root, _ = world
    rows = _rows(root, "syn_topic", "train", "en")
    assert all(5 <= len(r["text_a"].split()) <= 12 for r in rows)
    by_label = {}
    for r in rows:
        by_label.setdefault(r["label"], set()).add(len(r["text_a"].split()))
    assert set(by_label) == set(synthetic.TOPIC_LABELS)
    assert all(len(lengths) >= 3 for lengths in by_label.values())


def test_word_order_differs_by_language(world):
    root, _ = world
    rows = {lang: _rows(root, "syn_pos", "train", lang) for lang in LANGUAGES}
    # xb puts adjectives after the noun; English before it
    for r in rows["xb"]:
        for i, tag in enumerate(r["tags"]):
            if tag == "ADJ" and i and r["tags"][i - 1] == "DET":
                pytest.fail(f"xb has a determiner-adjective sequence: {r}")
    assert any("DET ADJ" in " ".join(r["tags"]) for r in rows["en"])
    # xc is verb-final: nothing nominal follows a verb inside its clause
    for r in rows["xc"]:
        for i, tag in enumerate(r["tags"][:-1]):
            if tag == "VERB":
                assert r["tags"][i + 1] in ("PART", "PUNCT", "CCONJ", "SCONJ"), r
    assert any("VERB DET" in " ".join(r["tags"]) for r in rows["en"])


def test_labels_are_balanced_enough(world):
    root, _ = world
    for task, n_labels in (("syn_topic", len(synthetic.TOPIC_LABELS)), ("syn_gram", 2)):
        labels = [r["label"] for r in _rows(root, task, "train", "en")]
        assert len(set(labels)) == n_labels
    choice = [r["label"] for r in _rows(root, "syn_choice", "train", "en")]
    assert len(set(choice)) >= 3


def test_tokenizer_and_checkpoints_load(tmp_path, world):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    from xstilts.modelling.pretrain import pretrain_mlm, random_init_like, train_tokenizer

    root, _ = world
    files = [os.path.join(root, "corpus", f"{lang}.txt") for lang in LANGUAGES]
    tok = train_tokenizer(files, tmp_path / "tok", vocab_size=300)
    loaded = AutoTokenizer.from_pretrained(tmp_path / "tok")
    assert loaded.is_fast and loaded.get_vocab() == tok.get_vocab()
    assert {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} <= set(loaded.get_vocab())
    enc = loaded("The DOG , slept .", return_offsets_mapping=True)
    assert loaded.convert_ids_to_tokens(enc["input_ids"])[0] == "[CLS]"
    assert enc.tokens()[-1] == "[SEP]"
    text = "The DOG , slept ."
    pieces = [text[a:b].lower() for a, b in enc["offset_mapping"] if b > a]
    assert "".join(pieces) == text.lower().replace(" ", "")
    words = ["the", "dog", "zebraxyz", "."]
    enc = loaded(words, is_split_into_words=True)
    ids = [w for w in enc.word_ids() if w is not None]
    assert sorted(set(ids)) == [0, 1, 2, 3] and ids == sorted(ids)

    kw = dict(vocab_size=300, hidden=32, layers=1, heads=2, intermediate=64, max_len=32, steps=3, batch_size=8, warmup=1, log=lambda *_: None)
    stats = pretrain_mlm(files, tmp_path / "pre", **kw)
    assert stats["steps"] == 3 and stats["final_mlm_loss"] > 0 and stats["pooler"] is False
    random_init_like(tmp_path / "pre", tmp_path / "rand", seed=1)
    weights = {}
    for name in ("pre", "rand"):
        d = tmp_path / name
        assert (d / "config.json").exists() and (d / "model.safetensors").exists()
        model, info = AutoModel.from_pretrained(d, add_pooling_layer=False, output_loading_info=True)
        assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
        _, info = AutoModel.from_pretrained(d, output_loading_info=True)  # plain load: only the pooler is new
        assert info["missing_keys"] and all(k.startswith("pooler.") for k in info["missing_keys"])
        assert not info["unexpected_keys"]
        assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 1
        assert AutoTokenizer.from_pretrained(d).get_vocab() == AutoTokenizer.from_pretrained(tmp_path / "pre").get_vocab()
        weights[name] = load_file(d / "model.safetensors")
        assert all(str(t.dtype) == "torch.float32" for t in weights[name].values())
        assert not any(k.startswith(("bert.", "cls.", "pooler.")) for k in weights[name])
    assert set(weights["pre"]) == set(weights["rand"])
    key = "embeddings.word_embeddings.weight"
    assert not (weights["pre"][key] == weights["rand"][key]).all()
    # pretraining is deterministic for a seed
    pretrain_mlm(files, tmp_path / "pre2", **kw)
    again = load_file(tmp_path / "pre2" / "model.safetensors")
    assert all((again[k] == weights["pre"][k]).all() for k in again)


def test_copa_shaped_tasks(world):
    """syn_siqa (3 choices) and syn_copa (2) in English, syn_xcopa (2) in the pseudo-languages only, the
    same example in every language; the registry scores syn_xcopa after syn_siqa then syn_copa."""
    from xstilts.data.synthetic import synthetic_tasks

    root, _ = world
    questions = {"What was the cause?", "What happened as a result?"}
    for task, n_choices in (("syn_siqa", 3), ("syn_copa", 2)):
        rows = _rows(root, task, "train", "en")
        assert {len(r["choices"]) for r in rows} == {n_choices} and {r["question"] for r in rows} == questions
        assert len({r["label"] for r in rows}) == n_choices  # the answer is not always in one place
    by_lang = {lang: _rows(root, "syn_xcopa", "test", lang) for lang in LANGUAGES if lang != "en"}
    first = next(iter(by_lang.values()))
    for lang, rows in by_lang.items():
        assert [(r["id"], r["label"], r["question"]) for r in rows] == [(r["id"], r["label"], r["question"]) for r in first]
        assert [len(r["choices"]) for r in rows] == [2] * len(rows)
    xa, xc = by_lang["xa"], by_lang["xc"]
    assert sum(a["context"] != c["context"] for a, c in zip(xa, xc)) == len(xa)  # other languages, other sentences
    task = synthetic_tasks()["syn_xcopa"]
    assert (task.trainer, task.train_first, task.eval_split, task.format) == ("syn_copa", ("syn_siqa",), "test", "multiple_choice")
    assert "en" not in task.languages and len(task.languages) == len(LANGUAGES) - 1
