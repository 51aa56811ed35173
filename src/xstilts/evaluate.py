"""Prediction and scoring for every task format (used for model selection and the evaluation jobs)."""

from __future__ import annotations

import numpy as np
import torch

from . import metrics as M
from .features import collate, length_grouped_batches
from .tasks import Task


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


def score(task: Task, rows: list[dict], preds: list, lang: str) -> tuple[dict, list[dict]]:
    """Metrics of one language (fractions in [0, 1]) and per-example records for the bootstrap."""
    ids = [r.get("id", str(k)) for k, r in enumerate(rows)]
    if task.metric == "ndcg":  # preds are expected relevances; rows carry their query's ``group``
        missing = [i for i, r in zip(ids, rows) if "group" not in r]
        if missing:
            raise ValueError(f"task '{task.name}': nDCG needs each row's query 'group'; row {missing[0]} has none")
        gold, groups = [float(r["label"]) for r in rows], [r["group"] for r in rows]
        recs = [{"id": i, "prediction": p, "gold": r["label"], "group": r["group"]} for i, p, r in zip(ids, preds, rows)]
        return {"ndcg": M.ndcg(preds, gold, groups)}, recs
    if task.format == "classification":
        gold = [r["label"] for r in rows]
        per = [float(p == g) for p, g in zip(preds, gold)]
        return {"accuracy": M.accuracy(preds, gold)}, _records(ids, preds, gold, {"correct": per})
    if task.format == "multiple_choice":
        gold = [r["label"] for r in rows]
        per = [float(p == g) for p, g in zip(preds, gold)]
        return {"accuracy": M.accuracy(preds, gold)}, _records(ids, preds, gold, {"correct": per})
    if task.format == "tagging":
        gold = [r["tags"] for r in rows]
        span = M.span_f1(preds, gold)
        result = {"f1": span["f1"], "precision": span["precision"], "recall": span["recall"],
                  "token_accuracy": M.token_accuracy(preds, gold)}  # fmt: skip
        per = [sum(a == b for a, b in zip(p, g)) / len(g) for p, g in zip(preds, gold)]
        return result, _records(ids, preds, gold, {"token_accuracy": per})
    if task.format == "span_qa":
        gold = [list(r["answers"]["text"]) for r in rows]
        pred_map, gold_map = dict(zip(ids, preds)), dict(zip(ids, gold))
        if task.metric == "mlqa":
            s = M.mlqa_scores(pred_map, gold_map, lang)
            em = [M.mlqa_exact_match(p, g, lang) for p, g in zip(preds, gold)]
            f1 = [M.mlqa_f1(p, g, lang) for p, g in zip(preds, gold)]
        elif task.metric == "squad_v2":
            s = M.squad_v2_scores(pred_map, gold_map)
            em = [float((p == "") if not g else M.squad_exact_match(p, g)) for p, g in zip(preds, gold)]
            f1 = [float((p == "") if not g else M.squad_f1(p, g)) for p, g in zip(preds, gold)]
        else:
            s = M.squad_scores(pred_map, gold_map)
            em = [M.squad_exact_match(p, g) for p, g in zip(preds, gold)]
            f1 = [M.squad_f1(p, g) for p, g in zip(preds, gold)]
        result = {"exact_match": s["exact_match"] / 100.0, "f1": s["f1"] / 100.0}
        return result, _records(ids, preds, gold, {"exact_match": em, "f1": f1})
    raise ValueError(f"task '{task.name}': no scorer for format {task.format!r}")


def _records(ids, preds, gold, per_example: dict) -> list[dict]:
    out = []
    for k, (i, p, g) in enumerate(zip(ids, preds, gold)):
        rec = {"id": i, "prediction": p, "gold": g}
        rec.update({name: float(vals[k]) for name, vals in per_example.items()})
        out.append(rec)
    return out


# ----------------------------------------------------------------------------- retrieval


@torch.no_grad()
def embed(encoder, feats: list[dict], *, layer: int | None, batch_size: int, pad_id: int) -> np.ndarray:
    """Mean-pooled hidden states of ``layer`` (None: the last), L2-normalised, in feature order."""
    from .models import pool

    encoder.eval()
    device = _device_of(encoder)
    batches = length_grouped_batches([len(f["input_ids"]) for f in feats], batch_size, shuffle=False)
    out = None
    for idx in batches:
        batch = collate([feats[i] for i in idx], "retrieval", pad_id)
        ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
        with gpu_autocast(device):
            states = encoder(input_ids=ids, attention_mask=mask, output_hidden_states=layer is not None)
        hidden = states.hidden_states[layer] if layer is not None else states.last_hidden_state
        vec = pool(hidden.float(), mask, "mean")
        vec = torch.nn.functional.normalize(vec, dim=-1).cpu().numpy()
        if out is None:
            out = np.zeros((len(feats), vec.shape[1]), dtype=np.float32)
        out[idx] = vec
    return out


def score_retrieval(task: Task, rows: list[dict], src: np.ndarray, tgt: np.ndarray) -> tuple[dict, list[dict]]:
    """Tatoeba-style accuracy of a file whose row i pairs a ``source`` sentence (in the file's
    language) with its English ``target``.

    ``accuracy`` is XTREME's direction: ``run_retrieval.py`` indexes the non-English sentences and
    queries them with the English ones, so each English sentence must find its translation.
    ``accuracy_xx_to_en`` is the reverse search (LASER's usual direction), kept beside it.
    """
    if task.metric != "retrieval_accuracy":
        raise ValueError(f"task '{task.name}': metric {task.metric!r} needs its own mining data (see bucc)")
    gold = np.arange(len(rows))
    en_to_xx = M.nearest_neighbours(tgt, src)  # for each English sentence, the nearest source sentence
    xx_to_en = M.nearest_neighbours(src, tgt)
    correct = (en_to_xx == gold).astype(float)
    recs = [
        {"id": r["id"], "prediction": int(j), "gold": i, "correct": float(c), "prediction_xx_to_en": int(k)}
        for i, (r, j, c, k) in enumerate(zip(rows, en_to_xx, correct, xx_to_en))
    ]
    return {"accuracy": float(correct.mean()), "accuracy_xx_to_en": float((xx_to_en == gold).mean())}, recs


# ----------------------------------------------------------------------------- BUCC bitext mining


def _unique_text_ids(ids: list[str], sentences: list[str]) -> dict[str, str]:
    """Sentence text -> id for texts that occur once (XTREME's ``read_sent2id`` drops repeated
    texts: a mined pair of such texts cannot be mapped back to one id)."""
    first: dict[str, str] = {}
    repeated: set[str] = set()
    for i, s in zip(ids, sentences):
        if s in first:
            repeated.add(s)
        else:
            first[s] = i
    return {s: i for s, i in first.items() if s not in repeated}


def mine_bucc(src_ids, src_sents, tgt_ids, tgt_sents, embed_texts, *, k: int = 4, chunk_size: int = 4096):
    """Mined (src_id, en_id, margin score) candidates of one BUCC corpus pair.

    Every line is embedded (``embed_texts``: list of str -> L2-normalised rows), candidates come
    from ratio-margin mining in both directions with a greedy 1:1 match (``metrics.bucc_mine``,
    chunked so memory stays bounded by ``chunk_size`` squared), and are mapped back to ids through
    texts that occur once, as XTREME's ``bucc_extract`` does."""
    x, y = embed_texts(list(src_sents)), embed_texts(list(tgt_sents))
    mined = M.bucc_mine(x, y, range(len(src_sents)), range(len(tgt_sents)), k=k, chunk_size=chunk_size)
    src_id, tgt_id = _unique_text_ids(src_ids, src_sents), _unique_text_ids(tgt_ids, tgt_sents)
    out = []
    for i, j, score in mined:
        s, t = src_id.get(src_sents[i]), tgt_id.get(tgt_sents[j])
        if s is not None and t is not None:
            out.append((s, t, float(score)))
    return out


def score_bucc(dev, test, embed_texts, *, k: int = 4, chunk_size: int = 4096) -> tuple[dict, list[dict]]:
    """BUCC 2018 as XTREME scores it: mine the dev corpora, choose the margin threshold that
    maximises F1 on the dev gold pairs, mine the test corpora and report precision, recall and F1
    at that threshold.  ``dev`` and ``test`` are ``release_files.read_bucc`` tuples."""
    dev_cands = mine_bucc(*dev[:4], embed_texts, k=k, chunk_size=chunk_size)
    dev_gold = set(map(tuple, dev[4]))
    threshold = M.bucc_best_threshold(dev_cands, dev_gold)
    dev_scores = M.bucc_f1(dev_cands, dev_gold, threshold)
    test_cands = mine_bucc(*test[:4], embed_texts, k=k, chunk_size=chunk_size)
    gold = set(map(tuple, test[4]))
    result = M.bucc_f1(test_cands, gold, threshold)
    recs = [
        {"id": f"{s}\t{t}", "source_id": s, "target_id": t, "score": sc, "predicted": sc >= threshold, "correct": float((s, t) in gold)}
        for s, t, sc in test_cands
    ]
    extra = {"threshold": threshold, "dev_f1": dev_scores["f1"], "n_gold": len(gold), "n_candidates": len(test_cands)}
    return {**result, **extra}, recs
