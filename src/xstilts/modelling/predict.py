"""Prediction for every task format: labels, choices, answer spans, tags, and sentence embeddings for retrieval."""

from __future__ import annotations

import numpy as np
import torch

from xstilts.common.errors import CheckpointError
from xstilts.data.registry import Task
from xstilts.modelling.features import collate, length_grouped_batches


def _device_of(model) -> torch.device:
    return next(model.parameters()).device


def gpu_autocast(device):
    """Inference precision: bf16 autocast on a GPU that has it (fp16 otherwise), fp32 on CPU."""
    if device.type != "cuda":
        return torch.autocast(device.type, enabled=False)
    return torch.autocast("cuda", dtype=torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)


@torch.no_grad()
def _forward_all(model, task: Task, feats: list[dict], batch_size: int, pad_id: int, autocast=None):
    """Run the model over all features (longest first, padded per batch); outputs in feature order."""
    model.eval()
    device = _device_of(model)
    batches = length_grouped_batches([len(f["input_ids"]) for f in feats], batch_size, shuffle=False)
    outputs: list = [None] * len(feats)
    for idx in batches:
        batch = collate([feats[i] for i in idx], task.format, pad_id)
        batch = {k: v.to(device) for k, v in batch.items() if k not in ("labels", "start_positions", "end_positions")}
        ctx = autocast() if autocast else gpu_autocast(device)
        with ctx:
            _, out = model(task.name, batch)
        if task.format == "span_qa":
            start, end = (o.float().cpu().numpy() for o in out)
            for j, i in enumerate(idx):
                n = len(feats[i]["input_ids"])
                outputs[i] = (start[j, :n], end[j, :n])
        else:
            out = out.float().cpu().numpy()
            for j, i in enumerate(idx):
                outputs[i] = out[j, : len(feats[i]["input_ids"])] if task.format == "tagging" else out[j]
    return outputs


def _best_span(start, end, offsets, max_answer_length: int, n_best: int = 20):
    """Highest start+end score over valid context spans of one window: (score, char_start, char_end)."""
    ctx = [p for p, o in enumerate(offsets) if o is not None]
    if not ctx:
        return None
    lo, hi = ctx[0], ctx[-1]
    s_top = np.argsort(start[lo : hi + 1])[::-1][:n_best] + lo
    e_top = np.argsort(end[lo : hi + 1])[::-1][:n_best] + lo
    best = None
    for s in s_top:
        for e in e_top:
            if e < s or e - s + 1 > max_answer_length or offsets[s] is None or offsets[e] is None:
                continue
            score = float(start[s] + end[e])
            if best is None or score > best[0]:
                best = (score, offsets[s][0], offsets[e][1])
    return best


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max())
    return z / z.sum()


def predict(model, task: Task, rows: list[dict], feats: list[dict], *, batch_size: int, pad_id: int,
            max_answer_length: int = 30, autocast=None) -> list:  # fmt: skip
    """One prediction per row, in the row's own terms (a label, an index, tags, an answer text)."""
    outputs = _forward_all(model, task, feats, batch_size, pad_id, autocast)
    if task.metric == "ndcg":  # graded relevance (XGLUE WPR): the expected label under the softmax ranks
        values = np.array([float(label) for label in task.labels])
        return [float(_softmax(o) @ values) for o in outputs]
    if task.format == "classification":
        return [task.labels[int(np.argmax(o))] for o in outputs]
    if task.format == "multiple_choice":
        return [int(np.argmax(o)) for o in outputs]
    if task.format == "tagging":
        fallback = "O" if "O" in task.labels else task.labels[0]
        preds = []
        for f, logits in zip(feats, outputs):
            preds.append([task.labels[int(np.argmax(logits[p]))] if p >= 0 else fallback for p in f["word_positions"]])
        return preds
    if task.format == "span_qa":
        best: dict[int, tuple] = {}
        null: dict[int, float] = {}
        for f, (start, end) in zip(feats, outputs):
            i = f["row"]
            cand = _best_span(start, end, f["offsets"], max_answer_length)
            null[i] = min(null.get(i, np.inf), float(start[0] + end[0]))
            if cand and (i not in best or cand[0] > best[i][0]):
                best[i] = cand
        preds = []
        for i, r in enumerate(rows):
            if i not in best or (task.metric == "squad_v2" and null[i] > best[i][0]):
                preds.append("")
            else:
                preds.append(r["context"][best[i][1] : best[i][2]])
        return preds
    raise ValueError(f"task '{task.name}': format {task.format!r} is scored by retrieval, not predict()")


# ----------------------------------------------------------------------------- retrieval


@torch.no_grad()
def embed(encoder, feats: list[dict], *, layer: int | None, batch_size: int, pad_id: int) -> np.ndarray:
    """Mean-pooled hidden states of ``layer`` (None: the last), L2-normalised, in feature order."""
    from xstilts.modelling.models import pool

    encoder.eval()
    device = _device_of(encoder)
    batches = length_grouped_batches([len(f["input_ids"]) for f in feats], batch_size, shuffle=False)
    out = None
    for idx in batches:
        batch = collate([feats[i] for i in idx], "retrieval", pad_id)
        ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
        with gpu_autocast(device):
            states = encoder(input_ids=ids, attention_mask=mask, output_hidden_states=layer is not None)
        if layer is not None and not 0 <= layer < len(states.hidden_states):
            raise CheckpointError(f"retrieval_layer is {layer}, but the encoder has {len(states.hidden_states) - 1} layers; "
                                  f"choose 0 (the embeddings) to {len(states.hidden_states) - 1} (models.<name>.retrieval_layer).")  # fmt: skip
        hidden = states.hidden_states[layer] if layer is not None else states.last_hidden_state
        vec = pool(hidden.float(), mask, "mean")
        vec = torch.nn.functional.normalize(vec, dim=-1).cpu().numpy()
        if out is None:
            out = np.zeros((len(feats), vec.shape[1]), dtype=np.float32)
        out[idx] = vec
    return out
