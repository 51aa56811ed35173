"""Encoders, the one head per task format, and checkpoints.

A checkpoint directory holds the encoder in Hugging Face format (``config.json`` +
``model.safetensors``, loadable with ``AutoModel.from_pretrained``), the tokenizer, the task heads
(``heads.safetensors``) and ``checkpoint.json`` (task, label set, head settings, hyperparameters,
provenance), written last: a directory without it is not a finished checkpoint.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

import torch
from torch import nn

from xstilts.common.errors import CheckpointError
from xstilts.common.files import read_json, write_json
from xstilts.data.registry import Task
from xstilts.modelling.model_files import FIX, check_model_dir, vocab_sizes

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# weights a checkpoint may lack without the encoder being wrong: a pooler it never had
_OPTIONAL = re.compile(r"(^|\.)pooler\.")
# weights a checkpoint may carry that are not the encoder's: the pretraining heads of the Hub's
# checkpoints (XLM-R's lm_head.*, BERT's cls.predictions/seq_relationship, a decoder LLM's lm_head)
# and task heads of fine-tuned ones.  Anything else unexpected (an encoder layer under another
# prefix, an extra layer) is still an error.
_NOT_ENCODER = re.compile(r"^(lm_head|cls|classifier|qa_outputs|score|pre_classifier|vocab_transform|vocab_layer_norm|vocab_projector)(\.|$)")
CHECKPOINT_META = "checkpoint.json"


# ----------------------------------------------------------------------------- encoders


def load_encoder(model_dir: str, *, dtype: str = "float32", encoder_module: str | None = None,
                 revision: str | None = None, random_init: bool = False, attn_implementation: str | None = None):  # fmt: skip
    """Load an encoder strictly: any missing or unexpected embedding/layer weight is an error.

    ``model_dir`` is a local directory (never touches the network) or a Hub id (honours
    ``HF_HUB_OFFLINE``).  ``encoder_module`` picks a sub-module (e.g. ``text_model`` of a
    multimodal model).
    """
    from transformers import AutoConfig, AutoModel

    local = os.path.isdir(model_dir)
    if local:  # whole before it loads: a truncated weight file or a broken config stops here, in one sentence
        check_model_dir(model_dir, "encoder", weights=not random_init, tokenizer=False)
    kwargs = {"revision": revision} if revision and not local else {}
    if attn_implementation:  # else transformers' default: PyTorch SDPA where the architecture supports it
        kwargs["attn_implementation"] = attn_implementation
    try:
        if random_init:
            config = AutoConfig.from_pretrained(model_dir, **kwargs)
            model = AutoModel.from_config(config, dtype=DTYPES[dtype], **{k: v for k, v in kwargs.items() if k != "revision"})
            info = {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": []}
        else:
            model, info = AutoModel.from_pretrained(
                model_dir, dtype=DTYPES[dtype], output_loading_info=True, local_files_only=local, **kwargs
            )
    except OSError as e:
        raise CheckpointError(
            f"model '{model_dir}' could not be loaded: it is neither a model directory nor a reachable Hub id ({e})."
        ) from None
    except (ValueError, ImportError) as e:
        if attn_implementation and ("attn" in str(e).lower() or "attention" in str(e).lower()):
            raise CheckpointError(f"model '{model_dir}' does not support attn_implementation '{attn_implementation}' ({e}).") from None
        raise
    problems = [k for k in info.get("missing_keys", []) if not _OPTIONAL.search(k)]
    problems += [f"unexpected {k}" for k in info.get("unexpected_keys", []) if not (_OPTIONAL.search(k) or _NOT_ENCODER.match(k))]
    problems += [f"mismatched {k[0] if isinstance(k, tuple) else k}" for k in info.get("mismatched_keys", [])]
    if problems:
        raise CheckpointError(
            f"encoder weights in '{model_dir}' do not match its architecture ({len(problems)} problems, "
            f"first: {problems[0]}); refusing to train or evaluate a partly random encoder."
        )
    if encoder_module:
        for part in encoder_module.split("."):
            model = getattr(model, part)
    return model


def load_tokenizer(model_dir: str):
    """The tokenizer of a local model directory, checked: its files exist, and its vocabulary fits
    the model's embedding table (transformers would otherwise build one of special tokens only)."""
    from transformers import AutoTokenizer

    config = check_model_dir(model_dir, "tokenizer", weights=False)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
    except (OSError, ValueError, TypeError) as e:
        raise CheckpointError(f"tokenizer: the tokenizer files of '{model_dir}' could not be loaded ({type(e).__name__}: {e}); {FIX}.") from None
    sizes = vocab_sizes(config)
    if sizes and not max(sizes) / 2 <= len(tokenizer) <= max(sizes):
        raise CheckpointError(
            f"tokenizer: the tokenizer of '{model_dir}' has {len(tokenizer)} tokens but the model embeds {max(sizes)}; "
            f"they belong to different models: {FIX}."
        )
    return tokenizer


def max_positions(encoder) -> int | None:
    """The longest sequence the encoder accepts (RoBERTa-style models reserve padding_idx + 1 positions)."""
    cfg = encoder.config
    n = getattr(cfg, "max_position_embeddings", None)
    if n is None or getattr(cfg, "position_embedding_type", "absolute") != "absolute":
        return None
    if cfg.model_type in ("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert"):
        n -= (cfg.pad_token_id or 0) + 1
    return n


def check_max_length(encoder, max_length: int, where: str) -> None:
    limit = max_positions(encoder)
    if limit is not None and max_length > limit:
        raise CheckpointError(f"{where} is {max_length}, but the encoder accepts at most {limit} tokens; lower it.")


def hidden_size(encoder) -> int:
    cfg = encoder.config
    return getattr(cfg, "hidden_size", None) or getattr(cfg, "d_model")


def pool(hidden, mask, how: str):
    """Sentence vectors from token states: first token, masked mean, or last real token."""
    if how == "cls":
        return hidden[:, 0]
    if how == "mean":
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
    if how == "last":
        last = mask.sum(1) - 1
        return hidden[torch.arange(hidden.size(0), device=hidden.device), last]
    raise ValueError(f"unknown pooling {how!r}; expected cls, mean or last")


# ----------------------------------------------------------------------------- heads


class ClassificationHead(nn.Module):
    def __init__(self, hidden: int, n_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, n_labels)

    def forward(self, pooled):
        return self.out(self.dropout(torch.tanh(self.dense(self.dropout(pooled)))))


class MultipleChoiceHead(nn.Module):
    """One score per (context, choice) sequence; softmax over the choices."""

    def __init__(self, hidden: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.score = nn.Linear(hidden, 1)

    def forward(self, pooled):
        return self.score(self.dropout(pooled)).squeeze(-1)


class SpanQAHead(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.qa = nn.Linear(hidden, 2)

    def forward(self, states):
        start, end = self.qa(states).unbind(-1)
        return start, end


class TaggingHead(nn.Module):
    def __init__(self, hidden: int, n_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, n_labels)

    def forward(self, states):
        return self.out(self.dropout(states))


def make_head(task: Task, hidden: int, dropout: float, encoder=None) -> nn.Module:
    if task.format == "mlm":  # masked-LM mixed into intermediate training (mlm.py)
        from xstilts.modelling.mlm import MaskedLMHead

        eps = getattr(encoder.config, "layer_norm_eps", 1e-5)
        return MaskedLMHead(hidden, encoder.get_input_embeddings().weight.size(0), eps=eps)
    if task.format == "classification":
        return ClassificationHead(hidden, len(task.labels), dropout)
    if task.format == "multiple_choice":
        return MultipleChoiceHead(hidden, dropout)
    if task.format == "span_qa":
        return SpanQAHead(hidden)
    if task.format == "tagging":
        return TaggingHead(hidden, len(task.labels), dropout)
    raise ValueError(f"task '{task.name}' has format {task.format!r}, which has no head (retrieval uses none)")


class TaskModel(nn.Module):
    """One encoder shared by the heads of one or more tasks (several in multitask training)."""

    def __init__(self, encoder, tasks: list[Task], *, pooling: str = "cls", dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.tasks = {t.name: t for t in tasks}
        self.pooling = pooling
        h = hidden_size(encoder)
        self.heads = nn.ModuleDict({t.name: make_head(t, h, dropout, encoder) for t in tasks})

    def encode(self, input_ids, attention_mask):
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def forward(self, task: str, batch: dict):
        """Returns (loss or None, outputs) for one batch of one task."""
        fmt = self.tasks[task].format
        head = self.heads[task]
        if fmt == "multiple_choice":
            b, c, n = batch["input_ids"].shape
            ids, mask = batch["input_ids"].view(b * c, n), batch["attention_mask"].view(b * c, n)
            scores = head(pool(self.encode(ids, mask), mask, self.pooling)).view(b, c)
            scores = scores.float().masked_fill(~batch["choice_mask"], float("-inf"))
            loss = nn.functional.cross_entropy(scores, batch["labels"]) if "labels" in batch else None
            return loss, scores
        states = self.encode(batch["input_ids"], batch["attention_mask"])
        if fmt == "mlm":
            from xstilts.modelling.mlm import mlm_loss

            return mlm_loss(head, states, self.encoder.get_input_embeddings().weight, batch["labels"])
        if fmt == "classification":
            logits = head(pool(states, batch["attention_mask"], self.pooling)).float()
            loss = nn.functional.cross_entropy(logits, batch["labels"]) if "labels" in batch else None
            return loss, logits
        if fmt == "tagging":
            logits = head(states).float()
            loss = None
            if "labels" in batch:
                loss = nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), batch["labels"].view(-1), ignore_index=-100)
            return loss, logits
        if fmt == "span_qa":
            start, end = head(states)
            start = start.float().masked_fill(batch["attention_mask"] == 0, float("-inf"))
            end = end.float().masked_fill(batch["attention_mask"] == 0, float("-inf"))
            loss = None
            if "start_positions" in batch:
                ce = nn.functional.cross_entropy
                loss = (ce(start, batch["start_positions"]) + ce(end, batch["end_positions"])) / 2
            return loss, (start, end)
        raise ValueError(f"no forward pass for format {fmt!r}")


# ----------------------------------------------------------------------------- checkpoints


def save_checkpoint(out_dir: str, model: TaskModel, tokenizer, meta: dict, *, dtype: str = "float32") -> None:
    """Write the encoder, heads and tokenizer, then ``checkpoint.json`` last (all atomic renames)."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = out / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    encoder = model.encoder
    cast = DTYPES[dtype]
    state = {k: v.detach().to("cpu", cast if v.is_floating_point() else v.dtype).contiguous() for k, v in encoder.state_dict().items()}
    encoder.save_pretrained(staging, state_dict=state, safe_serialization=True)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:  # the last call's truncation/padding would be saved with it: whether the
        backend.no_truncation()  # tokenisation cache was hit must not change the checkpoint's bytes
        backend.no_padding()
    tokenizer.save_pretrained(staging)
    if len(model.heads):
        heads = {k: v.detach().to("cpu", cast).contiguous() for k, v in model.heads.state_dict().items()}
        save_file(heads, str(staging / "heads.safetensors"))
    for f in staging.iterdir():
        os.replace(f, out / f.name)
    staging.rmdir()
    write_json(out / CHECKPOINT_META, {**meta, "checkpoint_dtype": dtype, "heads": sorted(model.heads.keys())})


def read_meta(ckpt_dir: str) -> dict:
    path = Path(ckpt_dir) / CHECKPOINT_META
    if not path.exists():
        raise CheckpointError(f"'{ckpt_dir}' is not a finished checkpoint: {CHECKPOINT_META} is missing.")
    return read_json(path)


def load_head(head: nn.Module, ckpt_dir: str, name: str) -> None:
    """Load the head of task ``name`` from a finished checkpoint into ``head`` (same format and shape)."""
    from safetensors.torch import load_file

    meta = read_meta(ckpt_dir)
    if name not in meta.get("heads", []):
        raise CheckpointError(f"checkpoint '{ckpt_dir}' has no head for task '{name}' (it has {meta.get('heads', [])}).")
    state = {k[len(name) + 1 :]: v.float() for k, v in load_file(str(Path(ckpt_dir) / "heads.safetensors")).items()
             if k.startswith(f"{name}.")}  # fmt: skip
    try:
        head.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"the head of '{name}' in '{ckpt_dir}' does not fit the new task's head: {e}") from None


def load_task_model(ckpt_dir: str, tasks: dict[str, Task], *, dtype: str = "float32") -> TaskModel:
    """Load encoder and heads of a finished checkpoint; every head weight must be present."""
    from safetensors.torch import load_file

    meta = read_meta(ckpt_dir)
    encoder = load_encoder(ckpt_dir, dtype=dtype)
    head_tasks = []
    for name in meta["heads"]:
        task = tasks[name]
        saved = meta["tasks"][name]
        if saved.get("labels") and list(saved["labels"]) != list(task.labels or []):
            raise CheckpointError(f"checkpoint '{ckpt_dir}' was trained with labels {saved['labels']} for task '{name}', "
                                  f"but the task now has labels {list(task.labels)}.")  # fmt: skip
        head_tasks.append(task)
    model = TaskModel(encoder, head_tasks, pooling=meta.get("pooling", "cls"), dropout=0.0)
    if head_tasks:
        state = load_file(str(Path(ckpt_dir) / "heads.safetensors"))
        missing, unexpected = model.heads.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
        if missing or unexpected:
            raise CheckpointError(f"heads in '{ckpt_dir}' do not match: missing {missing}, unexpected {unexpected}.")
        model.heads.to(DTYPES[dtype])
    return model
