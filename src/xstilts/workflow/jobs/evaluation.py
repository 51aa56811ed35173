"""The evaluation jobs: score a trained target model on every benchmark and language scored from
it, and score retrieval benchmarks straight from an encoder (rules evaluate_target, evaluate_retrieval)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import os

from xstilts.common.files import atomic_path, write_json
from xstilts.data.registry import task_from_dict
from xstilts.data.rows import data_file, read_rows
from xstilts.workflow.jobs.records import eval_data, lineage, provenance

log = logging.getLogger("xstilts.jobs")
# where tokenised data are cached (see xstilts.workflow.jobs.training)
CACHE_DIR = os.environ.get("XSTILTS_CACHE_DIR")


def _write_predictions(path: str, records: list[dict]) -> None:
    with atomic_path(path) as tmp, gzip.open(tmp, "wt", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def _mean(values):
    return sum(values) / len(values) if values else float("nan")


def evaluate(params: dict, checkpoint: str, out: str, predictions: str, threads: int | None = None) -> None:
    """Score one trained target model on every benchmark and language scored from it."""
    import torch

    from xstilts.modelling.features import cached_encode
    from xstilts.modelling.models import load_task_model, load_tokenizer, read_meta
    from xstilts.modelling.predict import predict
    from xstilts.modelling.training import set_threads
    from xstilts.scoring.score import score

    set_threads(threads)
    ckpt = os.path.dirname(checkpoint)
    meta = read_meta(ckpt)
    train_task = task_from_dict(meta["tasks"][params["train_task"]])
    model = load_task_model(ckpt, {train_task.name: train_task})
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    tokenizer = load_tokenizer(ckpt)
    thp = meta["params"]["hparams"] | meta["params"]["task_hparams"].get(train_task.name, {})
    records, benchmarks = [], {}
    for bench in params["benchmarks"]:
        task = task_from_dict(bench["task"])
        head_task = dataclasses.replace(task, name=train_task.name)
        per_lang = {}
        for lang in bench["languages"]:
            path = data_file(bench["root"], task.name, bench["splits"][lang], lang)
            rows = read_rows(path, task, limit=bench["max_examples"], on_bad_row=params["on_bad_row"])
            feats = cached_encode(path, rows, task, tokenizer, cache_dir=CACHE_DIR,
                                  max_length=thp["max_length"], doc_stride=thp["doc_stride"])  # fmt: skip
            preds = predict(model, head_task, rows, feats, batch_size=params["batch_size"], pad_id=tokenizer.pad_token_id,
                            max_answer_length=thp["max_answer_length"])  # fmt: skip
            result, recs = score(task, rows, preds, lang)
            per_lang[lang] = {**result, "n": len(rows), "split": bench["splits"][lang]}
            records += [{"benchmark": task.name, "lang": lang, **r} for r in recs]
            log.info("%s %s: %s", task.name, lang, {k: round(v, 4) for k, v in result.items()})
        metric_names = [k for k in next(iter(per_lang.values())) if k not in ("n", "split")]
        benchmarks[task.name] = {
            "split": bench["split"],
            "metric": task.metric,
            "main_metric": task.main_metric,
            "languages": per_lang,
            "mean": {m: _mean([v[m] for v in per_lang.values()]) for m in metric_names},
        }
    _write_predictions(predictions, records)
    write_json(out, {
        **params["identity"],
        "checkpoint": ckpt,
        "benchmarks": benchmarks,
        "english_validation": {"score": meta["result"]["best_validation"], "step": meta["result"]["best_step"],
                               "tasks": meta["result"]["best_validation_tasks"]},
        "training": {"hparams": thp, "result": {k: v for k, v in meta["result"].items() if k != "history"},
                     "code_version": meta.get("code_version")},
        "settings": params,
        "lineage": lineage(ckpt),
        "eval_data": eval_data(params["benchmarks"]),
        **provenance(),
    })  # fmt: skip


RETRIEVAL_MEANS = {"retrieval_accuracy": ("accuracy", "accuracy_xx_to_en"), "bucc_f1": ("f1", "precision", "recall")}


def _score_bucc(model, tokenizer, bench: dict, lang: str, params: dict) -> tuple[dict, list[dict]]:
    """BUCC for one language: the release files named in the fetched manifest, dev and test mined."""
    from xstilts.data.release_files import XTREME_BUCC_SPLITS, read_bucc
    from xstilts.modelling.predict import embed
    from xstilts.scoring.score import score_bucc

    manifest = os.path.join(bench["root"], "bucc", "manifest.json")
    with open(manifest, encoding="utf-8") as f:
        release = json.load(f)["path"]

    def embed_texts(texts):
        enc = tokenizer(texts, truncation=True, max_length=params["max_length"])
        feats = [{"input_ids": ids, "side": "source", "row": i} for i, ids in enumerate(enc["input_ids"])]
        return embed(model, feats, layer=params["layer"], batch_size=params["batch_size"], pad_id=tokenizer.pad_token_id)

    dev = read_bucc(release, lang, XTREME_BUCC_SPLITS["validation"])
    test = read_bucc(release, lang, XTREME_BUCC_SPLITS[bench["splits"][lang]])
    return score_bucc(dev, test, embed_texts, k=4)


def retrieval(params: dict, encoder: str, out: str, predictions: str, threads: int | None = None) -> None:
    """Score retrieval benchmarks straight from an encoder (base or intermediate): no training."""
    import torch

    from xstilts.modelling.features import cached_encode
    from xstilts.modelling.models import check_max_length, load_encoder, load_tokenizer
    from xstilts.modelling.predict import embed
    from xstilts.modelling.training import set_threads
    from xstilts.scoring.score import score_retrieval

    set_threads(threads)
    enc_dir = os.path.dirname(encoder)
    tokenizer = load_tokenizer(enc_dir)
    model = load_encoder(enc_dir, dtype=params["dtype"], encoder_module=params.get("encoder_module") if params["from_base"] else None)
    check_max_length(model, params["max_length"], "evaluate.defaults.max_length (retrieval)")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    records, benchmarks = [], {}
    for bench in params["benchmarks"]:
        task = task_from_dict(bench["task"])
        per_lang = {}
        for lang in bench["languages"]:
            if task.metric == "bucc_f1":
                result, recs = _score_bucc(model, tokenizer, bench, lang, params)
                n = result["n_gold"]
            else:
                path = data_file(bench["root"], task.name, bench["splits"][lang], lang)
                rows = read_rows(path, task, limit=bench["max_examples"], on_bad_row=params["on_bad_row"])
                feats = cached_encode(path, rows, task, tokenizer, cache_dir=CACHE_DIR, max_length=params["max_length"])
                vecs = embed(model, feats, layer=params["layer"], batch_size=params["batch_size"], pad_id=tokenizer.pad_token_id)
                src = vecs[[i for i, f in enumerate(feats) if f["side"] == "source"]]
                tgt = vecs[[i for i, f in enumerate(feats) if f["side"] == "target"]]
                result, recs = score_retrieval(task, rows, src, tgt)
                n = len(rows)
            per_lang[lang] = {**result, "n": n, "split": bench["splits"][lang]}
            records += [{"benchmark": task.name, "lang": lang, **r} for r in recs]
            log.info("%s %s: %s", task.name, lang, result)
        benchmarks[task.name] = {
            "split": bench["split"], "metric": task.metric, "main_metric": task.main_metric, "languages": per_lang,
            "mean": {m: _mean([v[m] for v in per_lang.values()]) for m in RETRIEVAL_MEANS[task.metric]},
        }  # fmt: skip
    _write_predictions(predictions, records)
    write_json(out, {**params["identity"], "encoder": enc_dir, "benchmarks": benchmarks, "settings": params,
                     "lineage": lineage(enc_dir),
                     "eval_data": eval_data(params["benchmarks"]),
                     **provenance()})  # fmt: skip
