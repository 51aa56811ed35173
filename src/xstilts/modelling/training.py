"""The one training loop: every phase, every format, single-task and multitask.

AdamW with linear warm-up and decay, gradient clipping and accumulation, dynamic padding with
length-grouped batches, model selection on English validation data every ``eval_every`` steps
(keeping the best weights, stopping after ``patience`` validations without improvement).
Devices, mixed precision and multi-GPU are Hugging Face Accelerate's job.  Given a state store, a
run saves its full state every ``save_every`` steps and when warned by a signal, and a rerun
resumes from it exactly (resume.py).
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from xstilts.data.registry import Task
from xstilts.modelling.features import collate, length_grouped_batches
from xstilts.modelling.mlm import mask_tokens
from xstilts.modelling.predict import predict
from xstilts.modelling.resume import Progress, StateStore, StopSignals, TrainingInterrupted, capture, restore

log = logging.getLogger(__name__)


@dataclass
class TaskData:
    task: Task
    train: list[dict]  # features
    val_rows: list[dict] = field(default_factory=list)
    val_feats: list[dict] = field(default_factory=list)
    masking: dict | None = None  # masked-LM examples (mlm.py): mask_id, vocab_size, mask_prob


def set_threads(n: int | None) -> None:
    """CPU threads of this process (a job's ``--threads``); None leaves torch's default."""
    if n:
        torch.set_num_threads(n)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_accelerator(precision: str = "auto"):
    from accelerate import Accelerator, DistributedDataParallelKwargs

    cuda = torch.cuda.is_available()
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    mixed = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}[precision]
    # Only matters when launched as several processes (torchrun: DDP, gloo on CPU, NCCL on GPUs).
    # Some parameters get no gradient in a step -- the heads of the other tasks in multitask training
    # (each batch uses one head), the encoder's pooler (AutoModel adds one; it is never in the loss)
    # -- so DDP must look for them in every step, or it fails at the next one.
    ddp = DistributedDataParallelKwargs(find_unused_parameters=True)
    return Accelerator(mixed_precision=mixed, cpu=not cuda, kwargs_handlers=[ddp])


def rank_plan(plan: list, rank: int, n_proc: int) -> list:
    """This process's share of an epoch's plan when training as ``n_proc`` processes: every
    ``n_proc``-th batch, the same number on every process, so that all of them are always at the same
    epoch, batch and micro-batch (they step together, and the resumable state the first one saves is
    every process's place).  A plan that does not divide evenly is padded by wrapping around to its
    first batches, as Accelerate's ``even_batches`` does: no batch is dropped, up to ``n_proc - 1``
    are seen twice in that epoch."""
    if n_proc == 1:
        return plan
    per_rank = math.ceil(len(plan) / n_proc)
    return [plan[i % len(plan)] for i in range(rank, per_rank * n_proc, n_proc)]


def epoch_schedule(data: list[TaskData], batch_size: int, seed: int, epoch: int) -> list[tuple[int, list[int]]]:
    """(task index, feature indices) for one epoch: each task's length-grouped batches, interleaved
    at random, so tasks are sampled in proportion to their (capped) size."""
    plan = []
    for t, d in enumerate(data):
        lengths = [len(f["input_ids"]) * len(f.get("choices", [0])) for f in d.train]
        for idx in length_grouped_batches(lengths, batch_size, shuffle=True, seed=seed * 100003 + epoch * 101 + t):
            plan.append((t, idx))
    order = np.random.default_rng(seed * 7919 + epoch).permutation(len(plan))
    return [plan[k] for k in order]


def optimizer_groups(model, weight_decay: float):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "norm" in name.lower() else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def linear_schedule(optimizer, warmup: int, total: int):
    def factor(step):
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# scores one language's predictions against its rows: (metrics, per-example records), as
# xstilts.scoring.score.score does; the training loop is given it (the scoring layer sits above this one)
Scorer = Callable[[Task, list, list, str], tuple[dict, list]]


def validate(model, data: list[TaskData], hp: dict, pad_id: int, scorer: Scorer, autocast=None) -> tuple[float, dict]:
    """Mean over tasks of each task's main metric on its English validation rows, scored by ``scorer``."""
    scores = {}
    for d in data:
        if not d.val_rows:
            continue
        preds = predict(model, d.task, d.val_rows, d.val_feats, batch_size=hp["batch_size"] * 2, pad_id=pad_id,
                        max_answer_length=hp["max_answer_length"], autocast=autocast)  # fmt: skip
        result, _ = scorer(d.task, d.val_rows, preds, "en")
        scores[d.task.name] = result[d.task.main_metric]
    model.train()
    return (float(np.mean(list(scores.values()))) if scores else float("nan")), scores


def train(model, data: list[TaskData], hp: dict, *, seed: int, pad_id: int, scorer: Scorer, progress: bool = True,
          store: StateStore | None = None) -> dict:  # fmt: skip
    """Train ``model`` in place; the best validated weights are loaded back at the end.

    Model selection scores the English validation rows with ``scorer`` (the evaluation's scorer,
    ``xstilts.scoring.score.score``), so that selection and evaluation agree.

    With a ``store`` the run is resumable (see resume.py): it continues from the state saved there
    if there is one, saves its full state every ``save_every`` steps, and on SIGTERM or SIGUSR1
    saves it at the next step boundary and raises TrainingInterrupted."""
    set_seed(seed)
    acc = make_accelerator(hp["precision"])
    if hp["freeze_embeddings"]:
        model.encoder.get_input_embeddings().weight.requires_grad_(False)
    if hp["gradient_checkpointing"] and hasattr(model.encoder, "gradient_checkpointing_enable"):
        model.encoder.gradient_checkpointing_enable()
    fused = acc.device.type == "cuda"
    optimizer = torch.optim.AdamW(optimizer_groups(model, hp["weight_decay"]), lr=hp["lr"], fused=fused)
    n_proc, rank = acc.num_processes, acc.process_index
    micro_per_epoch = sum(math.ceil(len(d.train) / hp["batch_size"]) for d in data)
    # steps are each process's optimizer steps: with n processes, each runs 1/n of an epoch's
    # micro-batches (rounded up: rank_plan)
    steps_per_epoch = max(1, math.ceil(micro_per_epoch / n_proc) // hp["grad_accum"])
    total = hp["max_steps"] or max(1, int(round(hp["epochs"] * steps_per_epoch)))
    scheduler = linear_schedule(optimizer, int(hp["warmup_ratio"] * total), total)
    model, optimizer = acc.prepare(model, optimizer)
    unwrapped = acc.unwrap_model(model)
    save_every = hp.get("save_every")
    run, best_state = Progress(), None
    saved = store.load() if store is not None else None
    if saved is not None and saved.get("processes", 1) != n_proc:  # its place in an epoch means nothing here
        log.warning("training state %s was saved by %d processes, this run has %d; starting afresh", store.path,
                    saved.get("processes", 1), n_proc)  # fmt: skip
        saved = None
    if saved is not None:
        run, best_state = restore(saved, unwrapped, optimizer, scheduler, acc.scaler)
        if n_proc > 1:  # every process loads the state the first one saved, and its own random generators
            from xstilts.modelling.resume import set_rng_state

            set_rng_state(saved["process_rngs"][rank])
        run.resumed_from.append(run.step)
        log.info("resuming from %s: step %d of %d (epoch %d, batch %d)", store.path, run.step, total, run.epoch, run.batch)
    log.info("training %s: %d examples, %d steps (%d per epoch), batch %d x accumulation %d x %d processes, device %s, precision %s",
             "+".join(d.task.name for d in data), sum(len(d.train) for d in data), total, steps_per_epoch,
             hp["batch_size"], hp["grad_accum"], n_proc, acc.device, acc.mixed_precision)  # fmt: skip
    if n_proc > 1:
        log.info("process %d of %d (local %d) on %s", rank, n_proc, acc.local_process_index, acc.device)

    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=run.step, desc="train", disable=not progress or not acc.is_local_main_process,
               file=sys.stderr, mininterval=1.0 if sys.stderr.isatty() else 10.0)  # fmt: skip
    t0 = time.time() - run.elapsed

    def evaluate_now():
        nonlocal best_state
        val, per_task = validate(unwrapped, data, hp, pad_id, scorer, acc.autocast)
        if n_proc > 1:  # every process validates the same weights (none waits meanwhile in a collective, which
            # could time out) and all take the first one's score, so that they agree on the best step and on
            # stopping early even if their kernels differ in the last bit (a disagreement would hang them)
            from accelerate.utils import broadcast_object_list

            val, per_task = broadcast_object_list([val, per_task])
        run.history.append({"step": run.step, "score": val, "tasks": per_task, "elapsed_s": round(time.time() - t0, 1)})
        improved = math.isnan(val) or val > run.best["score"]  # no validation data: keep the latest
        log.info("step %d/%d: validation %.4f %s%s", run.step, total, val, per_task, " (best)" if improved else "")
        if improved or best_state is None:
            run.best.update(score=val if not math.isnan(val) else -math.inf, step=run.step, scores=per_task)
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in unwrapped.state_dict().items()}
            run.bad_evals = 0
        else:
            run.bad_evals += 1

    def save_state():
        run.elapsed = time.time() - t0
        if n_proc > 1:  # the state is the same in every process but for the random generators (dropout)
            from accelerate.utils import gather_object

            from xstilts.modelling.resume import rng_state

            process_rngs = gather_object([rng_state()])
        if acc.is_main_process:
            state = capture(run, unwrapped, optimizer, scheduler, acc.scaler, best_state)
            if n_proc > 1:
                state.update(processes=n_proc, process_rngs=process_rngs)
            store.save(state)
        acc.wait_for_everyone()

    model.train()
    done = False
    with StopSignals(active=store is not None) as stop:
        while not done:
            plan = epoch_schedule(data, hp["batch_size"], seed, run.epoch)
            plan = rank_plan(plan, rank, n_proc)
            for t, idx in plan[run.batch :]:
                run.batch += 1
                d = data[t]
                feats = [d.train[i] for i in idx]
                batch = collate(feats, d.task.format, pad_id)
                if d.masking:  # fresh masks per epoch and batch, the same in a rerun or a resumed run
                    batch = mask_tokens(batch, feats, seed=(seed, run.epoch, rank, run.batch), **d.masking)
                run.tokens += int(batch["attention_mask"].sum())
                batch = {k: v.to(acc.device) for k, v in batch.items()}
                # several processes: their gradients are averaged once per step, in its last backward pass
                accumulating = n_proc > 1 and (run.micro + 1) % hp["grad_accum"]
                with acc.no_sync(model) if accumulating else contextlib.nullcontext():
                    with acc.autocast():
                        loss, _ = model(d.task.name, batch)
                    acc.backward(loss / hp["grad_accum"])
                run.micro += 1
                if run.micro % hp["grad_accum"]:
                    continue
                acc.clip_grad_norm_(model.parameters(), hp["max_grad_norm"])
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                run.step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}", refresh=False)
                if run.step % hp["eval_every"] == 0 or run.step == total:
                    evaluate_now()
                    if hp["patience"] and run.bad_evals >= hp["patience"]:
                        log.info("early stop: %d validations without improvement", run.bad_evals)
                        done = True
                if run.step >= total:
                    done = True
                if done:
                    break
                if store is not None:  # a step boundary: nothing is accumulated
                    signum = _stop_signal(stop, acc)
                    if signum or (save_every and run.step % save_every == 0):
                        save_state()
                    if signum:
                        bar.close()
                        raise TrainingInterrupted(signum, run.step, str(store.path))
            run.epoch += 1
            run.batch = 0
    bar.close()
    if best_state is not None:
        unwrapped.load_state_dict(best_state)
    elapsed = time.time() - t0
    return {
        "steps": run.step,
        "epochs_started": run.epoch,
        "best_step": run.best["step"],
        "best_validation": run.best["score"],
        "best_validation_tasks": run.best["scores"],
        "history": run.history,
        "resumed_from": run.resumed_from,
        "train_seconds": round(elapsed, 2),
        "train_tokens_per_second": round(run.tokens / max(elapsed, 1e-9), 1),
        "device": str(acc.device),
        "mixed_precision": acc.mixed_precision,
        "processes": n_proc,
    }


def _stop_signal(stop: StopSignals, acc) -> int | None:
    """The stop signal received, agreed by all processes so that they save and stop at the same step."""
    if acc.num_processes == 1:
        return stop.received
    return int(acc.gather(torch.tensor([stop.received or 0], device=acc.device)).max()) or None
