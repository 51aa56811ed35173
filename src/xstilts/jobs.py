"""The jobs the workflow runs, one function each, and the command line the rules call.

Each rule passes its params as one JSON document (``--params``) holding exactly the settings the
job uses, plus the paths of its inputs and outputs.  Run ``python -m xstilts.jobs --help``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import logging
import os
import sys
import time
from pathlib import Path

from .data import data_file, read_rows
from .errors import XstiltsError
from .tasks import Task
from .utils import atomic_path, code_version, package_versions, read_json, setup_logging, write_json

log = logging.getLogger("xstilts.jobs")
# where tokenised data are cached: set by the Snakefile (data.cache_dir), not a param, so moving the
# cache never reruns a job
CACHE_DIR = os.environ.get("XSTILTS_CACHE_DIR")


def task_to_dict(task: Task, *, training: bool = False) -> dict:
    """The fields of a task a job depends on.  For training jobs, not where or in which languages
    the task is evaluated (adding an evaluation language must not retrain anything)."""
    d = dataclasses.asdict(task)
    drop = ["hub", "description", "category", "source", "root", "eval_split_overrides"]
    if training:
        drop += ["languages", "eval_split", "train_task"]
    for key in drop:
        d.pop(key, None)
    return d


def task_from_dict(d: dict) -> Task:
    d = dict(d)
    for key in ("languages", "labels"):
        if d.get(key) is not None:
            d[key] = tuple(d[key])
    d.pop("eval_split_overrides", None)  # jobs get each language's split explicitly
    return Task(**d)


def _threads(n: int | None) -> None:
    import torch

    if n:
        torch.set_num_threads(n)


def provenance() -> dict:
    return {"code_version": code_version(), "versions": package_versions(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def data_record(root: str, task_name: str) -> dict:
    """Where a task's rows came from: the Hub dataset with its pinned and resolved revisions, the
    release files, or the local JSONL root."""
    manifest = os.path.join(root, task_name, "manifest.json")
    if not os.path.exists(manifest):
        world = os.path.join(root, "world.json")
        return {"source": "synthetic" if os.path.exists(world) else "local", "root": root}
    m = read_json(manifest)
    keep = ("source", "dataset_id", "requested_revision", "revision", "resolved", "path", "datasets_version")
    return {k: m[k] for k in keep if k in m}


def lineage(encoder_dir: str) -> list[dict]:
    """The chain of encoders a model was trained from, base model first: for the base its Hub id,
    pinned revision and resolved commit (or local path, or how it was made); for every training
    stage its kind, tasks and data sources."""
    chain, d, seen = [], encoder_dir, set()
    while d and d not in seen:
        seen.add(d)
        meta_path = os.path.join(d, "checkpoint.json")
        if not os.path.exists(meta_path):  # a local model directory
            chain.append({"kind": "local", "path": d})
            break
        meta = read_json(meta_path)
        entry = {"kind": meta.get("kind"), "dir": d}
        for key in ("id", "revision", "commit", "like"):
            if key in meta:
                entry[key] = meta[key]
        if meta.get("tasks") and isinstance(meta.get("params"), dict):
            entry["tasks"] = sorted(meta["tasks"])
            entry["data"] = {t: data_record(spec["root"], t) for t, spec in meta["params"].get("data", {}).items()}
            translations = {t: spec["translations"] for t, spec in meta["params"].get("data", {}).items() if spec.get("translations")}
            if translations:  # machine-translated copies trained on with the English data
                entry["translations"] = translations
            if meta["params"].get("mlm"):  # masked-LM mixed in: which corpus files, which languages
                entry["mlm"] = {k: meta["params"]["mlm"][k] for k in ("files", "ratio")}
        chain.append(entry)
        d = meta.get("init") if meta.get("kind") in ("intermediate", "target") else None
    return chain[::-1]


def eval_data(benchmarks: list[dict]) -> dict:
    """The data source of every benchmark a metrics file scores."""
    return {b["task"]["name"]: data_record(b["root"], b["task"]["name"]) for b in benchmarks}


# ----------------------------------------------------------------------------- data


def load_split(task: Task, root: str, split: str, lang: str, *, limit=None, on_bad_row="error", stats=None):
    return read_rows(data_file(root, task.name, split, lang), task, limit=limit, on_bad_row=on_bad_row, stats=stats)


def synthesize(params: dict, out: str) -> None:
    from .synthetic import generate_world

    generate_world(os.path.dirname(out), **params)


def synthetic_xglue(params: dict, world: str, out: str) -> None:
    """The synthetic world's POS, NC and MLQA tasks written as XGLUE release files (beside ``out``)."""
    from .xglue import write_synthetic_release

    counts = write_synthetic_release(os.path.dirname(world), os.path.dirname(out), params["languages"])
    write_json(out, {"kind": "synthetic_xglue", "rows": counts, **params, **provenance()})


def fetch_data(params: dict, out: str) -> None:
    """Write a Hub dataset (pinned revision) or a task's release files as the project's JSONL."""
    task = task_from_dict(params["task"])
    out_root = os.path.dirname(os.path.dirname(out))
    if params["source"] == "hub":
        from .hub import prepare_hub_task

        prepare_hub_task(task.name, out_root, revision=params["hub"].get("revision"), languages=params["languages"],
                         on_bad_row=params["on_bad_row"])  # fmt: skip
    else:
        from .release_files import prepare_release_task

        prepare_release_task(task.name, params["root"], out_root, languages=params["languages"], on_bad_row=params["on_bad_row"],
                             labels=task.labels, known_languages=task.languages)  # the config's task, where it redefines them
    if not os.path.exists(out):
        raise XstiltsError(f"preparing task '{task.name}' wrote no manifest at '{out}'.")


def fetch_corpus(params: dict, out: str) -> None:
    """Write the first lines of one language of a Hub corpus (masked-LM mix-in) as a text file."""
    from .hub import fetch_corpus as fetch

    fetch(params["corpus"], params["lang"], params["lines"], out)


def fetch_translation(params: dict, out: str) -> None:
    """Write a Hub dataset holding a machine-translated copy of a task's training data as the
    project's JSONL, each row converted like the English task's Hub rows."""
    import datasets

    from .hub import get_hub_spec, validate_row, write_jsonl_atomic

    task, lang, src = task_from_dict(params["task"]), params["lang"], params["source"]
    # rows in the schema of the English task's Hub dataset, or of the task named by `schema` (e.g. the
    # XNLI train split, which is MultiNLI machine-translated); a composite task: its first part's
    convert = get_hub_spec(src.get("schema", task.name)).sources[0].convert
    where = f"translated {task.name} ({lang}) from Hub dataset '{src['hub']}'"
    try:
        ds = datasets.load_dataset(src["hub"], src.get("config"), split=src.get("split", "train"), revision=src.get("revision", "main"))
    except Exception as e:  # noqa: BLE001
        raise XstiltsError(f"{where} could not be loaded ({type(e).__name__}: {e}); run fetch_translation where the Hub "
                           f"is reachable, or give the translation as a local JSONL file.") from None  # fmt: skip
    rows, dropped, skipped = [], 0, 0
    for i, hub_row in enumerate(ds):
        try:
            converted = convert(hub_row, lang, i)
        except (KeyError, ValueError, TypeError) as e:
            if params["on_bad_row"] == "error":
                raise XstiltsError(f"{where}, row {i}: cannot convert it like the English task's Hub rows ({type(e).__name__}: {e}).") from None
            skipped += 1
            continue
        for row in [] if converted is None else converted if isinstance(converted, list) else [converted]:
            validate_row(row, task.format, task.labels, f"{where}, row {i}")
            rows.append(row)
        dropped += converted is None
    write_jsonl_atomic(out, rows)
    log.info("%s: %d rows written, %d dropped (no gold label), %d skipped", where, len(rows), dropped, skipped)


# ----------------------------------------------------------------------------- models


def pretrain(params: dict, corpus_dir: str, out: str, threads: int | None = None) -> None:
    """Masked-LM pretraining of a small BERT (and its tokenizer) on the synthetic corpus."""
    from .pretrain import pretrain_mlm

    out_dir = os.path.dirname(out)
    files = sorted(str(p) for p in Path(corpus_dir).glob("*.txt"))
    stats = pretrain_mlm(files, out_dir, **params, threads=threads or 1, log=log.info)
    write_json(out, {"kind": "pretrained", "pretrain": params, "stats": stats, **provenance()})


def random_init(params: dict, like: str, out: str) -> None:
    from .pretrain import random_init_like

    random_init_like(os.path.dirname(like), os.path.dirname(out), seed=params["seed"])
    write_json(out, {"kind": "random_init", "like": os.path.dirname(like), **params, **provenance()})


def truncate_model(params: dict, like: str, out: str) -> None:
    """A smaller model of the same family: the embeddings and first ``layers`` layers of ``like``."""
    from .pretrain import truncate_like

    counts = truncate_like(os.path.dirname(like), os.path.dirname(out), params["layers"])
    log.info("kept %d of %d layers: %.1fM of %.1fM parameters", counts["layers"], counts["of"], counts["params"] / 1e6, counts["params_before"] / 1e6)
    write_json(out, {"kind": "truncated", "like": os.path.dirname(like), **params, **counts, **provenance()})


def fetch_model(params: dict, out: str) -> None:
    """Download a Hub model at a pinned revision into a declared directory (run on a login node)."""
    from huggingface_hub import HfApi, snapshot_download

    repo, revision = params["id"], params["revision"]
    try:
        sha = HfApi().model_info(repo, revision=revision).sha
        snapshot_download(
            repo, revision=sha, local_dir=os.path.dirname(out),
            allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken"],
        )  # fmt: skip
    except Exception as e:  # noqa: BLE001 - every failure here means the same thing to the user
        raise XstiltsError(
            f"model '{repo}' at revision '{revision}' could not be downloaded ({type(e).__name__}): run this rule "
            f"where the Hugging Face Hub is reachable, or give the model as a local directory (source: local)."
        ) from None
    write_json(out, {"kind": "hub", "id": repo, "revision": revision, "commit": sha, **provenance()})


# ----------------------------------------------------------------------------- training


def _mix_translations(files: list, feats_of, ratio: float, seed: int) -> list[dict]:
    """Features of a mixed-language training set: as many examples as the English file has, a
    fraction ``ratio`` of them taken from the translated copies (an equal share per language) and
    the rest from English, each example index used once -- so the mix never shows one example in
    two languages when the copies are line-aligned translations.  ``files`` is [(path, rows)], the
    English file first; ``feats_of(path, rows)`` tokenises (cached) a whole file."""
    import random

    (en_path, en_rows), copies = files[0], files[1:]
    n = len(en_rows)
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_translated = round(ratio * n) if copies else 0
    wanted = {en_path: set(order[: n - n_translated])}
    for j, idx in enumerate(order[n - n_translated :]):
        path, rows = copies[j % len(copies)]
        wanted.setdefault(path, set()).add(idx % len(rows))  # a shorter copy wraps around
    feats = []
    for path, rows in files:
        keep = wanted.get(path, set())
        feats += [f for f in feats_of(path, rows) if f["row"] in keep]
        log.info("mixed-language data: %d of %d rows from %s", len(keep), len(rows), path)
    return feats


def _task_data(task: Task, spec: dict, hp: dict, tokenizer, cache_dir, on_bad_row, stats, seed: int = 0):
    from .features import cached_encode
    from .train import TaskData

    root = spec["root"]
    if hp["regime"] == "english" and list(spec["train_languages"]) != ["en"]:
        raise XstiltsError(
            f"task '{task.name}' is trained in the English-only (zero-shot) regime but its job names training "
            f"languages {spec['train_languages']}; only 'en' may be read."
        )
    files = []
    for lang in spec["train_languages"]:
        path = data_file(root, task.name, "train", lang)
        if lang != "en" and not os.path.exists(path):
            log.info("%s: no %s training data (%s); skipped", task.name, lang, path)
            continue
        files.append((path, read_rows(path, task, limit=spec.get("cap"), on_bad_row=on_bad_row, stats=stats)))
    for lang, path in sorted(spec.get("translations", {}).items()):  # machine-translated copies (intermediate phase)
        if not os.path.exists(path):
            raise XstiltsError(f"translated training data '{path}' ({task.name}, {lang}) does not exist; expected "
                               f"{task.name}'s rows in the project's JSONL format.")  # fmt: skip
        files.append((path, read_rows(path, task, limit=spec.get("cap"), on_bad_row=on_bad_row, stats=stats)))
    if task.format == "tagging" and task.labels is None:  # open tag set (CCG supertags): from the training data
        task = dataclasses.replace(task, labels=tuple(sorted({t for _, rows in files for r in rows for t in r["tags"]})))
        log.info("%s: %d tags taken from the training data", task.name, len(task.labels))
    def feats_of(path, rows):
        return cached_encode(path, rows, task, tokenizer, cache_dir=cache_dir, max_length=hp["max_length"], doc_stride=hp["doc_stride"])

    if spec.get("translation_ratio") is not None:  # English and translated rows mixed at a ratio (one example, one language)
        feats = _mix_translations(files, feats_of, spec["translation_ratio"], seed)
    else:
        feats = [f for path, rows in files for f in feats_of(path, rows)]
    val_rows, val_feats = [], []
    val_path = data_file(root, task.name, "validation", "en")
    if os.path.exists(val_path):
        val_rows = read_rows(val_path, task, limit=hp["eval_examples"], on_bad_row=on_bad_row, stats=stats)
        val_feats = cached_encode(val_path, val_rows, task, tokenizer, cache_dir=cache_dir, max_length=hp["max_length"], doc_stride=hp["doc_stride"])
    else:
        log.warning("%s: no English validation file %s: the last step's weights are kept", task.name, val_path)
    return TaskData(task, feats, val_rows, val_feats)


def save_every() -> int | None:
    """Optimizer steps between resumable states: ``$XSTILTS_SAVE_EVERY`` (config ``train.save_every``,
    set by the rules' shell prefix), so that changing it never reruns a job."""
    value = os.environ.get("XSTILTS_SAVE_EVERY", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise XstiltsError(f"XSTILTS_SAVE_EVERY is '{value}'; expected a positive number of optimizer steps.")
    return int(value)


def _mlm_data(spec: dict, tokenizer, n_task_examples: int, seed: int):
    from .mlm import MLM_TASK, corpus_features, masking_info
    from .train import TaskData

    feats, summary = corpus_features(spec, tokenizer, n_task_examples=n_task_examples, seed=seed, cache_dir=CACHE_DIR)
    log.info("MLM mix-in: %d sequences (ratio %s of %d task examples) from %s", len(feats), spec["ratio"], n_task_examples,
             {lang: v["sequences"] for lang, v in summary.items()})  # fmt: skip
    return TaskData(MLM_TASK, feats, masking={**masking_info(tokenizer), "mask_prob": spec["mask_prob"]})


def train(params: dict, init: str, out: str, threads: int | None = None) -> None:
    """Train one intermediate or target model from the encoder in ``dirname(init)``.

    Resumable (resume.py): a rerun of the same job continues from its saved training state; on
    SIGTERM or SIGUSR1 the job saves that state and exits with status 128 + the signal number."""
    from transformers import AutoTokenizer

    from .models import TaskModel, check_max_length, load_encoder, save_checkpoint
    from .resume import StateStore, TrainingInterrupted
    from .train import set_seed, train as train_loop

    _threads(threads)
    init_dir = os.path.dirname(init)
    hp = params["hparams"]
    tasks = [task_from_dict(t) for t in params["tasks"]]
    tokenizer = AutoTokenizer.from_pretrained(init_dir)
    set_seed(params["seed"])  # weights the encoder lacks (an unused pooler) are drawn at random: the same each run
    encoder = load_encoder(init_dir, dtype=params["model"]["dtype"], attn_implementation=params["model"].get("attn_implementation"),
                           encoder_module=params["model"].get("encoder_module") if params["from_base"] else None)  # fmt: skip
    stats: dict = {}
    data = []
    for t in tasks:
        task_hp = {**hp, **params["task_hparams"].get(t.name, {})}
        check_max_length(encoder, task_hp["max_length"], f"max_length of task '{t.name}' ({params['phase']} training)")
        data.append(_task_data(t, params["data"][t.name], task_hp, tokenizer, CACHE_DIR, params["on_bad_row"], stats, params["seed"]))
    mlm = params.get("mlm")
    if mlm:  # multilingual masked-LM mixed in (mlm.py): one more "task" of the run
        data.append(_mlm_data(mlm, tokenizer, sum(len(d.train) for d in data), params["seed"]))
    tasks = [d.task for d in data]
    set_seed(params["seed"])  # the fresh heads' initialisation belongs to the seed
    model = TaskModel(encoder, tasks, pooling=params["model"]["pooling"], dropout=hp["dropout"] or 0.0)
    if mlm:
        used = model.heads["mlm"].load_pretrained(init_dir) if params["from_base"] else None
        log.info("MLM head: %s", f"the base model's pretrained LM head ({used}*)" if used else "freshly initialised")
    if params.get("init_head"):  # a later stage of a target's training (train_first): the previous stage's head goes on
        from .models import load_head

        load_head(model.heads[tasks[0].name], init_dir, params["init_head"])
        log.info("head of '%s' carried over from %s", params["init_head"], init_dir)
    # resumable state (resume.py): in the scratch folder of exactly this job, valid while the initial
    # weights and the data files are unchanged; deleted once the checkpoint is saved
    inputs = [p for p in Path(init_dir).glob("*") if p.suffix in (".safetensors", ".bin")]
    for t in tasks:
        if t.name not in params["data"]:
            continue  # the MLM mix-in: its files are added below
        spec = params["data"][t.name]
        inputs += [data_file(spec["root"], t.name, "train", lang) for lang in spec["train_languages"]]
        inputs.append(data_file(spec["root"], t.name, "validation", "en"))
        inputs += list(spec.get("translations", {}).values())
    inputs += list(mlm["files"].values()) if mlm else []
    store = StateStore.for_job(params, init, out, inputs)
    run_hp = {**hp, "save_every": save_every()}  # how often, not what: never part of the params
    try:
        result = train_loop(model, data, run_hp, seed=params["seed"], pad_id=tokenizer.pad_token_id, store=store)
    except TrainingInterrupted as e:  # exit 128 + signal: Snakemake's --retries or SLURM's requeue reruns it
        log.warning("%s", e)
        raise SystemExit(e.exit_code) from None
    meta = {
        "kind": params["phase"],
        "tasks": {t.name: task_to_dict(t) for t in tasks},
        "pooling": params["model"]["pooling"],
        "init": init_dir,
        "params": params,
        "data_files": stats,
        "result": result,
        **provenance(),
    }
    from accelerate import PartialState

    state = PartialState()  # launched as several processes (torchrun), the first one writes; the others wait
    if state.is_main_process:
        save_checkpoint(os.path.dirname(out), model, tokenizer, meta, dtype=hp["checkpoint_dtype"])
        store.clear()
        log.info("saved %s (best validation %.4f at step %d)", os.path.dirname(out), result["best_validation"], result["best_step"])
    if state.num_processes > 1:
        state.wait_for_everyone()  # no process exits before the checkpoint is written
        state.destroy_process_group()


# ----------------------------------------------------------------------------- evaluation


def _write_predictions(path: str, records: list[dict]) -> None:
    with atomic_path(path) as tmp, gzip.open(tmp, "wt", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def _mean(values):
    return sum(values) / len(values) if values else float("nan")


def evaluate(params: dict, checkpoint: str, out: str, predictions: str, threads: int | None = None) -> None:
    """Score one trained target model on every benchmark and language scored from it."""
    import torch
    from transformers import AutoTokenizer

    from .evaluate import predict, score
    from .features import cached_encode
    from .models import load_task_model, read_meta

    _threads(threads)
    ckpt = os.path.dirname(checkpoint)
    meta = read_meta(ckpt)
    train_task = task_from_dict(meta["tasks"][params["train_task"]])
    model = load_task_model(ckpt, {train_task.name: train_task})
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    tokenizer = AutoTokenizer.from_pretrained(ckpt)
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
    from .evaluate import embed, score_bucc
    from .release_files import XTREME_BUCC_SPLITS, read_bucc

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
    from transformers import AutoTokenizer

    from .evaluate import embed, score_retrieval
    from .features import cached_encode
    from .models import check_max_length, load_encoder

    _threads(threads)
    enc_dir = os.path.dirname(encoder)
    tokenizer = AutoTokenizer.from_pretrained(enc_dir)
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


# ----------------------------------------------------------------------------- command line

COMMANDS = {
    "synthesize": (synthesize, ["out"]),
    "synthetic-xglue": (synthetic_xglue, ["world", "out"]),
    "fetch-data": (fetch_data, ["out"]),
    "fetch-corpus": (fetch_corpus, ["out"]),
    "fetch-translation": (fetch_translation, ["out"]),
    "pretrain": (pretrain, ["corpus_dir", "out"]),
    "random-init": (random_init, ["like", "out"]),
    "truncate-model": (truncate_model, ["like", "out"]),
    "fetch-model": (fetch_model, ["out"]),
    "train": (train, ["init", "out"]),
    "evaluate": (evaluate, ["checkpoint", "out", "predictions"]),
    "retrieval": (retrieval, ["encoder", "out", "predictions"]),
}
_THREADED = {"pretrain", "train", "evaluate", "retrieval"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xstilts.jobs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (fn, paths) in COMMANDS.items():
        p = sub.add_parser(name, help=(fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else None)
        p.add_argument("--params", required=True, help="the job's settings as JSON")
        for path in paths:
            p.add_argument(f"--{path.replace('_', '-')}", dest=path, required=True)
        p.add_argument("--log", help="also write the log to this file")
        if name in _THREADED:
            p.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    setup_logging(args.log)
    fn, paths = COMMANDS[args.command]
    kwargs = {p: getattr(args, p) for p in paths}
    if args.command in _THREADED:
        kwargs["threads"] = args.threads
    try:
        fn(json.loads(args.params), **kwargs)
    except XstiltsError as e:
        log.error("%s", e)
        print(f"xstilts: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
