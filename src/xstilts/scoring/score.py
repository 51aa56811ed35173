"""Scoring predictions per task format against the gold rows, as the official scripts do (numpy; no torch).

Used for model selection during training (passed to the training loop) and by the evaluation jobs:
classification and multiple-choice accuracy, tagging span F1 and token accuracy, SQuAD / SQuAD v2 /
MLQA exact match and F1, XGLUE's nDCG, Tatoeba retrieval accuracy and BUCC bitext mining.
"""

from __future__ import annotations

import numpy as np

from xstilts.data.registry import Task
from xstilts.scoring import metrics as M


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


def _ids_of_single_texts(ids: list[str], sentences: list[str]) -> dict[str, str]:
    """Stripped sentence text -> id, for the stripped texts that occur once: XTREME's ``read_sent2id``
    maps mined pairs back to ids this way, and drops a text seen twice (it names no single id)."""
    first: dict[str, str] = {}
    repeated: set[str] = set()
    for i, s in zip(ids, sentences):
        s = s.strip()
        if s in first:
            repeated.add(s)
        else:
            first[s] = i
    return {s: i for s, i in first.items() if s not in repeated}


def mine_bucc(src_ids, src_sents, tgt_ids, tgt_sents, embed_texts, *, k: int = 4, chunk_size: int = 4096):
    """Mined (src_id, en_id, margin score) candidates of one BUCC corpus pair, as XTREME mines them.

    The distinct texts of each side are mined, each once, in order of first occurrence (XTREME's
    ``text_load_unify`` + ``unique_embeddings``: a repeated line is one point of the neighbourhoods,
    not several); ``embed_texts`` (list of str -> rows) embeds them.  Candidates come from ratio-margin
    mining in both directions with a greedy 1:1 match (``metrics.bucc_mine``, chunked so memory stays
    bounded by ``chunk_size`` squared) and are mapped back to ids through the stripped texts that occur
    once (``read_sent2id``).  Each id belongs to one distinct text, and the matching is 1:1, so no
    pair of ids is mined twice."""
    src_texts, tgt_texts = list(dict.fromkeys(src_sents)), list(dict.fromkeys(tgt_sents))
    x, y = embed_texts(src_texts), embed_texts(tgt_texts)
    mined = M.bucc_mine(x, y, range(len(src_texts)), range(len(tgt_texts)), k=k, chunk_size=chunk_size)
    src_id, tgt_id = _ids_of_single_texts(src_ids, src_sents), _ids_of_single_texts(tgt_ids, tgt_sents)
    out = []
    for i, j, score in mined:
        s, t = src_id.get(src_texts[i].strip()), tgt_id.get(tgt_texts[j].strip())
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
