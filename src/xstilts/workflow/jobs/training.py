"""The training job: one intermediate or target model from an encoder, on the data its params name
(rules train_intermediate and train_target), resumable after a kill."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

from xstilts.common.errors import XstiltsError
from xstilts.data.registry import Task, task_from_dict, task_to_dict
from xstilts.data.rows import data_file, read_rows
from xstilts.workflow.jobs.records import provenance

log = logging.getLogger("xstilts.jobs")
# where tokenised data are cached: set by the Snakefile (data.cache_dir), not a param, so moving the
# cache never reruns a job
CACHE_DIR = os.environ.get("XSTILTS_CACHE_DIR")


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
    from xstilts.modelling.features import cached_encode
    from xstilts.modelling.training import TaskData

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
    from xstilts.modelling.mlm import MLM_TASK, corpus_features, masking_info
    from xstilts.modelling.training import TaskData

    feats, summary = corpus_features(spec, tokenizer, n_task_examples=n_task_examples, seed=seed, cache_dir=CACHE_DIR)
    log.info("MLM mix-in: %d sequences (ratio %s of %d task examples) from %s", len(feats), spec["ratio"], n_task_examples,
             {lang: v["sequences"] for lang, v in summary.items()})  # fmt: skip
    return TaskData(MLM_TASK, feats, masking={**masking_info(tokenizer), "mask_prob": spec["mask_prob"]})


def train(params: dict, init: str, out: str, threads: int | None = None) -> None:
    """Train one intermediate or target model from the encoder in ``dirname(init)``.

    Resumable (resume.py): a rerun of the same job continues from its saved training state; on
    SIGTERM or SIGUSR1 the job saves that state and exits with status 128 + the signal number."""

    from xstilts.modelling.models import TaskModel, check_max_length, load_encoder, load_tokenizer, save_checkpoint
    from xstilts.modelling.resume import StateStore, TrainingInterrupted
    from xstilts.modelling.training import set_seed, set_threads
    from xstilts.modelling.training import train as train_loop
    from xstilts.scoring.score import score

    set_threads(threads)
    init_dir = os.path.dirname(init)
    hp = params["hparams"]
    tasks = [task_from_dict(t) for t in params["tasks"]]
    tokenizer = load_tokenizer(init_dir)
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
        from xstilts.modelling.models import load_head

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
        result = train_loop(model, data, run_hp, seed=params["seed"], pad_id=tokenizer.pad_token_id, scorer=score, store=store)
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
