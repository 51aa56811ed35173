"""Know the cost before spending it: jobs per rule, GPU-hours and disk for a configured grid.

    python -m xstilts.cost [--configfile config.yaml] [--tflops 100]
    snakemake cost_plan                  # the same table as results/{experiment}/plan/cost.md

The estimate works from the exact params every job of the grid would get (``xstilts.workflow.plan``), the
published size of each data set (``DATA_SIZES``), an approximate mean length in XLM-R tokens per
example, and the model's parameter count N: training costs ~6 N FLOPs per token (forward and
backward), inference ~2 N; GPU time = FLOPs / sustained throughput.  The sustained throughput
(``cost.sustained_tflops`` in the config) is an assumption, not a measurement: ~100 TFLOP/s is a
reasonable bf16 figure for encoder fine-tuning on one A100 (a third of its 312 TFLOP/s peak),
~250 on one H100.  Replace it with what ``benchmarks/train_throughput.py`` measures on your GPUs.
Padding, data loading and checkpoint writing are not counted; validation during training is.
Early stopping (``patience``) can only make a job cheaper: the figures are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass

from xstilts.common.errors import ConfigError, XstiltsError
from xstilts.workflow.config import Experiment, load_yaml
from xstilts.workflow.model_size import params_of
from xstilts.workflow.plan import Plan

# Published sizes (rows) and approximate mean XLM-R tokens per sequence; `choices` sequences per
# row for multiple choice.  Training sizes are the English training sets; `eval` is the test or
# dev size per language that XTREME scores (mean over languages where it varies).
DATA_SIZES = {
    # intermediate tasks (English)
    "mnli": dict(train=392_702, validation=9_815, tokens=45),  # GLUE MNLI, validation_matched
    "anli_plus": dict(train=1_104_934, validation=3_200, tokens=50),  # SNLI 549,367 (labelled) + MNLI + ANLI R1-R3 162,865
    "snli": dict(train=549_367, validation=9_842, tokens=30),
    "anli": dict(train=162_865, validation=3_200, tokens=90),
    "qqp": dict(train=363_846, validation=40_430, tokens=30),  # GLUE QQP
    "squad": dict(train=87_599, validation=10_570, tokens=180),  # SQuAD v1.1; context + question
    "squad2": dict(train=130_319, validation=11_873, tokens=180),
    "hellaswag": dict(train=39_905, validation=10_042, tokens=70, choices=4),
    "csqa": dict(train=9_741, validation=1_221, tokens=20, choices=5),
    "cosmosqa": dict(train=25_262, validation=2_985, tokens=110, choices=4),
    "ccg": dict(train=39_604, validation=1_913, tokens=30),  # CCGbank sections 02-21 / 00
    "siqa": dict(train=33_410, validation=1_954, tokens=35, choices=3),
    # XTREME targets: English training set, evaluation rows per language
    "pawsx": dict(train=49_401, validation=2_000, eval=2_000, tokens=60),
    "udpos": dict(train=21_253, validation=3_974, eval=1_100, tokens=25),  # English UD 2.5 treebanks concatenated (approximate)
    "panx": dict(train=20_000, validation=10_000, eval=5_000, tokens=15),  # eval: mean over 40 languages (approximate)
    "tydiqa": dict(train=3_696, validation=440, eval=600, tokens=220),  # TyDiQA-GoldP; eval: mean dev size per language
    "xnli": dict(eval=5_010, tokens=45),  # trained on MNLI
    "xquad": dict(eval=1_190, tokens=200),  # trained on SQuAD v1.1
    "mlqa": dict(eval=5_000, tokens=200),  # en 11,590; others ~4,500-5,500
    "tatoeba": dict(eval=1_000, tokens=15),  # pairs per language, both sides embedded
    "bucc": dict(eval=600_000, tokens=35),  # sentences of both sides, dev + test corpora, per language (approximate)
    # XTREME-R's XCOPA: trained on Social IQa, then COPA (SuperGLUE); 500 test rows per language
    "copa": dict(train=400, validation=100, tokens=20, choices=2),
    "xcopa": dict(eval=500, tokens=20, choices=2),
    # XGLUE's understanding tasks (Liang et al. 2020, Table 1: train / dev per language, approximate
    # where the table rounds); every XGLUE task is scored on its dev sets
    "xglue_ner": dict(train=15_000, validation=2_800, eval=2_800, tokens=20),
    "xglue_pos": dict(train=25_400, validation=1_000, eval=1_000, tokens=25),
    "xglue_nc": dict(train=100_000, validation=10_000, eval=10_000, tokens=200),
    "xglue_mlqa": dict(train=87_599, validation=600, eval=600, tokens=200),
    "xglue_xnli": dict(train=392_702, validation=2_500, eval=2_500, tokens=45),
    "xglue_pawsx": dict(train=49_401, validation=2_000, eval=2_000, tokens=60),
    "xglue_qadsm": dict(train=100_000, validation=10_000, eval=10_000, tokens=40),
    "xglue_wpr": dict(train=100_000, validation=10_000, eval=10_000, tokens=60),
    "xglue_qam": dict(train=100_000, validation=10_000, eval=10_000, tokens=60),
}
DEFAULT_TFLOPS = 100.0
BYTES_PER_PARAM = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass
class RuleCost:
    rule: str
    jobs: int = 0
    tokens: float = 0.0  # processed tokens (training passes, validation and inference)
    flops: float = 0.0
    checkpoint_bytes: float = 0.0  # training rules: the checkpoints their jobs write

    def gpu_hours(self, tflops: float) -> float:
        return self.flops / (tflops * 1e12) / 3600


def _size(task: str, key: str, where: str) -> float:
    try:
        return DATA_SIZES[task][key]
    except KeyError:
        raise ConfigError(f"{where}: the cost plan has no {key} size for task '{task}' (add it to xstilts.workflow.cost.DATA_SIZES).") from None


def _seq_tokens(task: str, hp: dict, where: str) -> float:
    """Tokens per example as the model sees them: capped at max_length, one sequence per choice,
    extra windows for long QA contexts."""
    info = DATA_SIZES.get(task, {})
    tokens = info.get("tokens")
    if tokens is None:
        raise ConfigError(f"{where}: the cost plan has no token length for task '{task}' (add it to xstilts.workflow.cost.DATA_SIZES).")
    max_len = hp.get("max_length") or tokens
    windows = 1 + max(0, math.ceil((tokens - max_len) / max(1, hp.get("doc_stride") or max_len)))
    return min(tokens, max_len) * windows * info.get("choices", 1)


def _training(spec: dict, n_params: float, where: str) -> tuple[float, float]:
    """Tokens and FLOPs of one training job from its exact params."""
    hp = spec["hparams"]
    tokens = flops = 0.0
    per_task = []
    for t in spec["tasks"]:
        name = t["name"]
        thp = {**hp, **spec["task_hparams"].get(name, {})}
        rows = _size(name, "train", where)
        cap = spec["data"][name].get("cap")
        rows = min(rows, cap) if cap else rows
        if spec["data"][name].get("translation_ratio") is None:  # mixed at a ratio, the total stays the English rows'
            rows *= 1 + len(spec["data"][name].get("translations", {}))  # machine-translated copies, capped alike
        per_task.append((name, thp, rows))
    mlm = spec.get("mlm")
    if mlm:  # masked-LM sequences mixed in: ratio x the task examples, counted at their full length
        per_task.append(("mlm", {**hp, "max_length": mlm["max_length"]}, round(mlm["ratio"] * sum(r for _, _, r in per_task))))
    rows_total = sum(r for _, _, r in per_task)
    batch = hp["batch_size"] * hp["grad_accum"]
    if hp["max_steps"]:
        steps, passes = hp["max_steps"], hp["max_steps"] * batch / max(1, rows_total)
    else:
        steps, passes = math.ceil(hp["epochs"] * rows_total / batch), hp["epochs"]
    n_evals = steps // hp["eval_every"] + (1 if steps % hp["eval_every"] else 0)  # every N steps and at the end
    for name, thp, rows in per_task:
        if name == "mlm":
            train_tokens = rows * passes * thp["max_length"]
            tokens += train_tokens
            flops += 6 * n_params * train_tokens
            continue
        seq = _seq_tokens(name, thp, where)
        train_tokens = rows * passes * seq
        val_rows = min(_size(name, "validation", where), thp["eval_examples"] or math.inf)
        val_tokens = n_evals * val_rows * seq
        tokens += train_tokens + val_tokens
        flops += 6 * n_params * train_tokens + 2 * n_params * val_tokens
    return tokens, flops


def _inference(benchmarks: list[dict], n_params: float, max_length: int | None, where: str) -> tuple[float, float]:
    tokens = 0.0
    for b in benchmarks:
        name = b["task"]["name"]
        rows = _size(name, "eval", where)
        if b.get("max_examples"):
            rows = min(rows, b["max_examples"])
        sides = 2 if b["task"]["format"] == "retrieval" and name != "bucc" else 1
        seq = _seq_tokens(name, {"max_length": max_length or 512, "doc_stride": 128}, where)
        tokens += rows * sides * seq * len(b["languages"])
    return tokens, 2 * n_params * tokens


def estimate(exp: Experiment) -> dict[str, RuleCost]:
    """Jobs, tokens and FLOPs per rule for every job of the grid (the same jobs the workflow runs)."""
    plan = Plan(exp)
    rules: dict[str, RuleCost] = {r: RuleCost(r) for r in ("train_intermediate", "train_target", "evaluate_target", "evaluate_retrieval")}
    for model in exp.models:
        n = params_of(exp, model)
        for pipeline in exp.needed_pipelines(model):
            row = pipeline in exp.model_pipelines(model)
            for seed in exp.seeds:
                if exp.pipelines[pipeline].trains:
                    spec = json.loads(plan.intermediate_params(model, pipeline, seed))
                    tok, fl = _training(spec, n, f"pipeline '{pipeline}'")
                    _add(rules["train_intermediate"], tok, fl, n * BYTES_PER_PARAM[spec["hparams"]["checkpoint_dtype"]])
                if not row:
                    continue
                for train_task in exp.train_chains:  # with the train_first stages (XCOPA: siqa, then copa)
                    spec = json.loads(plan.target_params(model, pipeline, train_task, seed))
                    tok, fl = _training(spec, n, f"target '{train_task}'")
                    _add(rules["train_target"], tok, fl, n * BYTES_PER_PARAM[spec["hparams"]["checkpoint_dtype"]])
                    if train_task not in exp.trained_targets:
                        continue
                    ev = json.loads(plan.evaluate_params(model, pipeline, train_task, seed))
                    tok, fl = _inference(ev["benchmarks"], n, spec["hparams"]["max_length"], f"target '{train_task}'")
                    _add(rules["evaluate_target"], tok, fl)
            if row and exp.retrieval_targets:
                tags = {plan.retrieval_tag(pipeline, s) for s in exp.seeds}
                ev = json.loads(plan.retrieval_params(model, pipeline, "base" if tags == {"base"} else "seed0"))
                tok, fl = _inference(ev["benchmarks"], n, ev["max_length"], "retrieval")
                for _ in tags:
                    _add(rules["evaluate_retrieval"], tok, fl)
    return rules


def _add(rc: RuleCost, tokens: float, flops: float, checkpoint_bytes: float = 0.0) -> None:
    rc.jobs += 1
    rc.tokens += tokens
    rc.flops += flops
    rc.checkpoint_bytes += checkpoint_bytes


def disk_bytes(exp: Experiment, rules: dict[str, RuleCost] | None = None) -> dict[str, float]:
    """Checkpoint disk: intermediate and target checkpoints at their saved dtype."""
    rules = rules or estimate(exp)
    return {"intermediate": rules["train_intermediate"].checkpoint_bytes, "target": rules["train_target"].checkpoint_bytes}


def report(exp: Experiment, tflops: float) -> str:
    rules = estimate(exp)
    disk = disk_bytes(exp, rules)
    lines = [
        f"# Cost plan: {exp.name}",
        "",
        f"Sustained throughput assumed: {tflops:g} TFLOP/s per GPU (training 6N, inference 2N FLOPs per token).",
        "",
        "| rule | jobs | tokens (billions) | GPU-hours |",
        "| --- | ---: | ---: | ---: |",
    ]
    total_h = 0.0
    for rc in rules.values():
        h = rc.gpu_hours(tflops)
        total_h += h
        lines.append(f"| {rc.rule} | {rc.jobs} | {rc.tokens / 1e9:.2f} | {h:,.1f} |")
    lines.append(f"| **total** | {sum(r.jobs for r in rules.values())} | {sum(r.tokens for r in rules.values()) / 1e9:.2f} | **{total_h:,.1f}** |")
    lines += [
        "",
        f"Checkpoints on disk if all are kept: intermediate {disk['intermediate'] / 1e9:,.0f} GB, "
        f"target {disk['target'] / 1e9:,.0f} GB (at each phase's checkpoint_dtype).",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xstilts.cost", description="Jobs and GPU-hours of a configured grid.")
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--config-json", default=None, help="the resolved config as JSON (what the cost_plan rule passes)")
    parser.add_argument("--tflops", type=float, default=None, help="sustained TFLOP/s per GPU (default: the config's cost.sustained_tflops, else 100)")
    parser.add_argument("--out", default=None, help="also write the table to this file")
    args = parser.parse_args(argv)
    try:
        exp = Experiment(json.loads(args.config_json) if args.config_json else load_yaml(args.configfile))
        tflops = args.tflops or exp.raw.get("cost", {}).get("sustained_tflops", DEFAULT_TFLOPS)
        text = report(exp, tflops)
    except XstiltsError as e:
        print(f"xstilts: {e}", file=sys.stderr)
        return 1
    print(text, end="")
    if args.out:
        from xstilts.common.files import atomic_path

        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with atomic_path(args.out) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
