"""Multilingual masked-LM mixed into intermediate training (a pipeline's ``mlm`` key).

The paper's first alternative to plain English intermediate training: while training on the task,
also train the encoder's masked-LM objective on text in the evaluation languages, so that the
encoder keeps its multilingual knowledge.  Here the MLM examples are one more "task" of the run:

- :func:`corpus_features` reads the first ``lines_per_language`` lines of each language's corpus
  file (one text per line), tokenises them once (cached like every dataset), and draws
  ``ratio`` x (the run's task examples) of them, the same share from every language;
  the one training loop then interleaves their length-grouped batches with the task's batches,
  so an epoch holds ``ratio`` MLM sequences per task example.
- :func:`mask_tokens` masks a batch on the fly (BERT's recipe: ``mask_prob`` of the real,
  non-special tokens are predicted; 80 % of them become the mask token, 10 % a random token, 10 %
  stay), with a generator seeded by the step, so a rerun or a resumed run masks identically.
- :class:`MaskedLMHead` predicts the tokens through the encoder's own input embeddings (tied
  decoder).  It starts from the model's pretrained LM head when the base model directory has one
  (XLM-R's ``lm_head.*``, BERT's ``cls.predictions.*``), else from scratch.
- :func:`xstilts.data.hub.fetch_corpus` writes a Hub corpus (e.g. ``wikimedia/wikipedia``, config
  ``20231101.{lang}``) as such a text file (rule ``fetch_corpus``, on the login node).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from xstilts.common.errors import DataError
from xstilts.common.files import utf8_lines
from xstilts.data.registry import Task
from xstilts.modelling.feature_cache import FORMAT, cached_features
from xstilts.modelling.features import IGNORE, tokenizer_fingerprint

log = logging.getLogger(__name__)

MLM_TASK = Task(name="mlm", format="mlm", metric="accuracy", languages=(), category="mlm",
                description="multilingual masked-LM mixed into intermediate training")  # fmt: skip


# ----------------------------------------------------------------------------- data


def read_lines(path: str, limit: int) -> list[str]:
    """The first ``limit`` non-empty lines of a corpus file."""
    if not Path(path).is_file():
        raise DataError(f"MLM corpus file '{path}' does not exist; expected one text per line for each language.")
    out = []
    for _, line in utf8_lines(path):
        line = line.strip()
        if line:
            out.append(line)
            if len(out) >= limit:
                break
    if not out:
        raise DataError(f"MLM corpus file '{path}' has no text; expected one text per line.")
    return out


def encode_lines(lines: list[str], tokenizer, max_length: int) -> list[dict]:
    enc = tokenizer(lines, truncation=True, max_length=max_length, return_special_tokens_mask=True)
    return [{"input_ids": ids, "special": [i for i, s in enumerate(sp) if s]}
            for ids, sp in zip(enc["input_ids"], enc["special_tokens_mask"], strict=True)]  # fmt: skip


def _cached_lines(path: str, limit: int, tokenizer, max_length: int, cache_dir: str | None) -> list[dict]:
    if cache_dir is None:
        return encode_lines(read_lines(path, limit), tokenizer, max_length)
    st = Path(path).stat() if Path(path).exists() else None
    key_src = {"tok": tokenizer_fingerprint(tokenizer), "path": str(Path(path).resolve()), "size": st and st.st_size,
               "mtime": st and st.st_mtime_ns, "limit": limit, "max_length": max_length, "v": FORMAT}  # fmt: skip
    key = hashlib.sha256(json.dumps(key_src, sort_keys=True).encode()).hexdigest()[:24]
    cache = Path(cache_dir) / "tokenized" / f"mlm.{Path(path).stem}.{key}.npz"
    return cached_features(cache, lambda: encode_lines(read_lines(path, limit), tokenizer, max_length))


def corpus_features(spec: dict, tokenizer, *, n_task_examples: int, seed: int, cache_dir: str | None = None) -> tuple[list[dict], dict]:
    """The MLM sequences of one run: ``ratio * n_task_examples`` of them (at least one batch's worth),
    an equal share per language, drawn without replacement where the corpus is large enough.

    Returns the features and a summary (sequences per language, lines available)."""
    files = spec["files"]
    langs = list(spec["languages"])
    want = max(1, int(round(spec["ratio"] * n_task_examples)))
    rng = np.random.default_rng([seed, 0x6D6C6D])
    feats, summary = [], {}
    for k, lang in enumerate(langs):
        pool = _cached_lines(files[lang], spec["lines_per_language"], tokenizer, spec["max_length"], cache_dir)
        share = want // len(langs) + (1 if k < want % len(langs) else 0)
        if share == 0:
            continue
        idx = rng.permutation(len(pool))
        if share > len(pool):  # a small corpus is repeated (with fresh masks each time)
            idx = np.concatenate([rng.permutation(len(pool)) for _ in range(-(-share // len(pool)))])
        feats += [pool[i] for i in idx[:share]]
        summary[lang] = {"sequences": share, "lines": len(pool), "file": files[lang]}
    return feats, summary


# ----------------------------------------------------------------------------- masking


def masking_info(tokenizer) -> dict:
    if tokenizer.mask_token_id is None:
        raise DataError(f"the tokenizer ({type(tokenizer).__name__}) has no mask token: masked-LM cannot be mixed in.")
    return {"mask_id": int(tokenizer.mask_token_id), "vocab_size": len(tokenizer)}


def mask_tokens(batch: dict, feats: list[dict], *, mask_prob: float, mask_id: int, vocab_size: int, seed) -> dict:
    """Mask one padded MLM batch in place of its ``input_ids``; ``labels`` hold the original ids at
    the predicted positions and IGNORE elsewhere.  Special tokens and padding are never predicted;
    every sequence predicts at least one token."""
    key = hashlib.sha256(repr(seed).encode()).digest()  # seed: any repr-stable value (a tuple of step counters)
    g = torch.Generator().manual_seed(int.from_bytes(key[:8], "little") % (2**63))
    ids = batch["input_ids"]
    candidates = batch["attention_mask"].bool().clone()
    for b, f in enumerate(feats):
        candidates[b, f["special"]] = False
    chosen = (torch.rand(ids.shape, generator=g) < mask_prob) & candidates
    for b in range(ids.size(0)):  # at least one prediction per sequence
        if not chosen[b].any() and candidates[b].any():
            pos = candidates[b].nonzero().flatten()
            chosen[b, pos[torch.randint(len(pos), (1,), generator=g)]] = True
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
    roll = torch.rand(ids.shape, generator=g)
    masked = ids.clone()
    masked[chosen & (roll < 0.8)] = mask_id
    random_pos = chosen & (roll >= 0.8) & (roll < 0.9)
    masked[random_pos] = torch.randint(vocab_size, ids.shape, generator=g)[random_pos]
    return {**batch, "input_ids": masked, "labels": labels}


# ----------------------------------------------------------------------------- head

# pretrained LM-head weights, by architecture: our name -> the checkpoint's
_PRETRAINED_HEADS = {
    "lm_head.": {"dense.weight": "dense.weight", "dense.bias": "dense.bias", "norm.weight": "layer_norm.weight",
                 "norm.bias": "layer_norm.bias", "bias": "bias"},
    "cls.predictions.": {"dense.weight": "transform.dense.weight", "dense.bias": "transform.dense.bias",
                         "norm.weight": "transform.LayerNorm.weight", "norm.bias": "transform.LayerNorm.bias", "bias": "bias"},
}  # fmt: skip


class MaskedLMHead(nn.Module):
    """dense -> GELU -> LayerNorm -> the encoder's input embeddings (tied) + bias."""

    def __init__(self, hidden: int, vocab_size: int, eps: float = 1e-5):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden, eps=eps)
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, states, embeddings):
        h = self.norm(nn.functional.gelu(self.dense(states)))
        return h @ embeddings.t() + self.bias

    def load_pretrained(self, model_dir: str) -> str | None:
        """Copy the base model's pretrained LM head when its weights are on disk; returns the prefix used."""
        from safetensors import safe_open

        path = Path(model_dir) / "model.safetensors"
        if not path.exists():
            return None
        with safe_open(str(path), "pt") as f:
            keys = set(f.keys())
            for prefix, names in _PRETRAINED_HEADS.items():
                if all(prefix + theirs in keys for theirs in names.values()):
                    state = {ours: f.get_tensor(prefix + theirs).float() for ours, theirs in names.items()}
                    if state["bias"].numel() != self.bias.numel():
                        return None
                    self.load_state_dict(state)
                    return prefix
        return None


def mlm_loss(head: MaskedLMHead, states, embeddings, labels):
    """Cross-entropy over the masked positions only (logits over the vocabulary are computed for
    those alone: with XLM-R's 250k-token vocabulary the full logits would dominate memory)."""
    where = labels != IGNORE
    logits = head(states[where], embeddings).float()
    return nn.functional.cross_entropy(logits, labels[where]), logits
