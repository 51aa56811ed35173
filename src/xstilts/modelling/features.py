"""Tokenisation of rows into model features, one function per task format, cached on disk (feature_cache).

Features are unpadded lists of token ids; batches are padded dynamically by ``collate`` to the
longest sequence they hold, and ``length_grouped_batches`` puts sequences of similar length
together so little padding is computed.  Each (tokenizer, task, split, language, settings) is
tokenised once and the result reused by every seed, pipeline and phase that needs it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from xstilts.data.registry import Task
from xstilts.modelling.feature_cache import FORMAT, cached_features

IGNORE = -100
_BARE_PIECES = ("▁", "Ġ")  # a word-start marker standing alone, with no characters of the word


def tokenizer_fingerprint(tokenizer) -> str:
    """A hash of the tokenizer's vocabulary and settings (identical copies share a cache)."""
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    text = backend.to_str() if backend is not None else json.dumps(tokenizer.get_vocab(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _file_fingerprint(path: str) -> str:
    st = os.stat(path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return f"{h.hexdigest()[:16]}-{st.st_size}"


# ----------------------------------------------------------------------------- per format


def encode_classification(rows, task: Task, tokenizer, max_length: int, **_) -> list[dict]:
    label_ids = {label: i for i, label in enumerate(task.labels)}
    a = [r["text_a"] for r in rows]
    b = [r["text_b"] for r in rows] if task.pair else None
    enc = tokenizer(a, b, truncation=True, max_length=max_length)
    return [
        {"input_ids": ids, "label": label_ids[r["label"]], "row": i}
        for i, (ids, r) in enumerate(zip(enc["input_ids"], rows))
    ]


def encode_multiple_choice(rows, task: Task, tokenizer, max_length: int, **_) -> list[dict]:
    firsts, seconds, owners = [], [], []
    for i, r in enumerate(rows):
        context = r.get("context") or ""
        for choice in r["choices"]:
            firsts.append(context if context else r["question"])
            seconds.append(f"{r['question']} {choice}" if context else choice)
            owners.append(i)
    enc = tokenizer(firsts, seconds, truncation=True, max_length=max_length)
    feats = [{"choices": [], "label": r["label"], "row": i} for i, r in enumerate(rows)]
    for owner, ids in zip(owners, enc["input_ids"]):
        feats[owner]["choices"].append(ids)
    for f in feats:
        f["input_ids"] = max(f["choices"], key=len)  # for length grouping
    return feats


def _first_piece_of_words(tokenizer, ids: list[int], word_ids: list[int | None]) -> dict[int, int]:
    """Word index -> the position of its first sub-token that carries characters.

    SentencePiece often splits a word into a bare '▁' followed by its characters (frequent in
    CJK text); a label put on the bare '▁' is a label on nothing, so it goes on the next piece.
    """
    pieces = tokenizer.convert_ids_to_tokens(ids)
    first: dict[int, int] = {}
    bare: dict[int, int] = {}
    for pos, w in enumerate(word_ids):
        if w is None or w in first:
            continue
        if pieces[pos] in _BARE_PIECES:
            bare.setdefault(w, pos)
            continue
        first[w] = pos
    for w, pos in bare.items():
        first.setdefault(w, pos)
    return first


def encode_tagging(rows, task: Task, tokenizer, max_length: int, **_) -> list[dict]:
    tag_ids = {t: i for i, t in enumerate(task.labels)}
    enc = tokenizer([r["tokens"] for r in rows], is_split_into_words=True, truncation=True, max_length=max_length)
    feats = []
    for i, r in enumerate(rows):
        ids = enc["input_ids"][i]
        first = _first_piece_of_words(tokenizer, ids, enc.word_ids(i))
        labels = [IGNORE] * len(ids)
        positions = [-1] * len(r["tokens"])  # -1: the word was cut by max_length
        for w, pos in first.items():
            labels[pos] = tag_ids[r["tags"][w]]
            positions[w] = pos
        feats.append({"input_ids": ids, "labels": labels, "word_positions": positions, "row": i})
    return feats


def encode_span_qa(rows, task: Task, tokenizer, max_length: int, doc_stride: int = 128, **_) -> list[dict]:
    """Sliding windows over the context; start/end token positions of the first answer (0 = none)."""
    pad_right = tokenizer.padding_side == "right"
    enc = tokenizer(
        [r["question"].lstrip() for r in rows],
        [r["context"] for r in rows],
        truncation="only_second" if pad_right else "only_first",
        max_length=max_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    feats = []
    for k, ids in enumerate(enc["input_ids"]):
        i = enc["overflow_to_sample_mapping"][k]
        seq = enc.sequence_ids(k)
        offsets = [o if s == 1 else None for o, s in zip(enc["offset_mapping"][k], seq)]
        ctx_pos = [p for p, s in enumerate(seq) if s == 1]
        start = end = 0
        answers = rows[i]["answers"]
        if answers["text"]:
            a_start = answers["answer_start"][0]
            a_end = a_start + len(answers["text"][0])
            if ctx_pos and offsets[ctx_pos[0]][0] <= a_start and offsets[ctx_pos[-1]][1] >= a_end:
                start = next(p for p in ctx_pos if offsets[p][1] > a_start)
                end = next(p for p in reversed(ctx_pos) if offsets[p][0] < a_end)
        feats.append({"input_ids": ids, "start": start, "end": end, "offsets": offsets, "row": i})
    return feats


def encode_retrieval(rows, task: Task, tokenizer, max_length: int, **_) -> list[dict]:
    feats = []
    for side in ("source", "target"):
        enc = tokenizer([r[side] for r in rows], truncation=True, max_length=max_length)
        feats.extend({"input_ids": ids, "side": side, "row": i} for i, ids in enumerate(enc["input_ids"]))
    return feats


ENCODERS = {
    "classification": encode_classification,
    "multiple_choice": encode_multiple_choice,
    "tagging": encode_tagging,
    "span_qa": encode_span_qa,
    "retrieval": encode_retrieval,
}


def encode(rows, task: Task, tokenizer, *, max_length: int, doc_stride: int = 128) -> list[dict]:
    return ENCODERS[task.format](rows, task, tokenizer, max_length=max_length, doc_stride=doc_stride)


def cached_encode(
    path: str, rows, task: Task, tokenizer, *, cache_dir: str | None, max_length: int, doc_stride: int = 128
) -> list[dict]:
    """``encode`` with an on-disk cache keyed by tokenizer, file content, task format and settings."""
    if cache_dir is None:
        return encode(rows, task, tokenizer, max_length=max_length, doc_stride=doc_stride)
    key_src = json.dumps(
        {
            "tok": tokenizer_fingerprint(tokenizer),
            "file": _file_fingerprint(path),
            "rows": len(rows),
            "format": task.format,
            "labels": task.labels,
            "pair": task.pair,
            "max_length": max_length,
            "doc_stride": doc_stride if task.format == "span_qa" else None,
            "v": FORMAT,
        },
        sort_keys=True,
    )
    key = hashlib.sha256(key_src.encode()).hexdigest()[:24]
    cache = Path(cache_dir) / "tokenized" / f"{task.name}.{Path(path).parent.name}.{Path(path).stem}.{key}.npz"
    return cached_features(cache, lambda: encode(rows, task, tokenizer, max_length=max_length, doc_stride=doc_stride))


# ----------------------------------------------------------------------------- batching


def length_grouped_batches(
    lengths, batch_size: int, *, shuffle: bool, seed: int = 0, group_factor: int = 50
) -> list[list[int]]:
    """Batches of indices with similar lengths.

    Shuffled: the order is random, then every window of ``group_factor`` batches is sorted by
    length and cut into batches, whose order is shuffled again (what Hugging Face calls
    length-grouped sampling).  Unshuffled (evaluation): sorted by length, longest first.
    """
    lengths = np.asarray(lengths)
    if not shuffle:
        order = np.argsort(-lengths, kind="stable")
        return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    window = batch_size * group_factor
    batches = []
    for i in range(0, len(order), window):
        chunk = order[i : i + window]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[j : j + batch_size].tolist() for j in range(0, len(chunk), batch_size))
    perm = rng.permutation(len(batches))
    return [batches[k] for k in perm]


def collate(feats: list[dict], fmt: str, pad_id: int):
    """Pad a batch to its longest sequence; returns a dict of tensors."""
    import torch

    if fmt == "multiple_choice":
        n_choices = max(len(f["choices"]) for f in feats)
        width = max(len(c) for f in feats for c in f["choices"])
        ids = torch.full((len(feats), n_choices, width), pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        choice_mask = torch.zeros((len(feats), n_choices), dtype=torch.bool)
        for b, f in enumerate(feats):
            for c, seq in enumerate(f["choices"]):
                ids[b, c, : len(seq)] = torch.tensor(seq)
                mask[b, c, : len(seq)] = 1
                choice_mask[b, c] = True
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "choice_mask": choice_mask,
            "labels": torch.tensor([f["label"] for f in feats]),
        }
    width = max(len(f["input_ids"]) for f in feats)
    ids = torch.full((len(feats), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for b, f in enumerate(feats):
        n = len(f["input_ids"])
        ids[b, :n] = torch.tensor(f["input_ids"])
        mask[b, :n] = 1
    batch = {"input_ids": ids, "attention_mask": mask}
    if fmt == "classification":
        batch["labels"] = torch.tensor([f["label"] for f in feats])
    elif fmt == "tagging":
        labels = torch.full((len(feats), width), IGNORE, dtype=torch.long)
        for b, f in enumerate(feats):
            labels[b, : len(f["labels"])] = torch.tensor(f["labels"])
        batch["labels"] = labels
    elif fmt == "span_qa":
        batch["start_positions"] = torch.tensor([f["start"] for f in feats])
        batch["end_positions"] = torch.tensor([f["end"] for f in feats])
    return batch
