"""Training throughput of the one training loop on a model directory, with and without
length-grouped batches (dynamic padding is always on).  Records examples/s, tokens/s (real, not
padded), padding overhead and peak memory; run it before and after any change to training or data.

    python benchmarks/train_throughput.py MODEL_DIR [--task udpos --root ../shared/realmini] [--steps 20]
    python benchmarks/train_throughput.py results/tiny/models/tiny-mlm/base --task syn_pos --root results/tiny/data/synthetic

On a GPU machine it uses the GPU with the config's precision (default auto: bf16 where supported).
"""

import argparse
import json
import resource
import time

import torch
from transformers import AutoTokenizer

from xstilts.data.registry import build_registry
from xstilts.data.rows import data_file, read_rows
from xstilts.modelling.features import collate, encode, length_grouped_batches
from xstilts.modelling.models import TaskModel, load_encoder
from xstilts.modelling.training import make_accelerator, set_seed


def run(model_dir, task, rows, tok, *, batch_size, max_length, steps, grouped, precision, freeze):
    set_seed(0)
    feats = encode(rows, task, tok, max_length=max_length, doc_stride=min(128, max_length // 2))
    acc = make_accelerator(precision)
    model = TaskModel(load_encoder(model_dir), [task])
    if freeze:
        model.encoder.get_input_embeddings().weight.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5, fused=acc.device.type == "cuda")
    model, opt = acc.prepare(model, opt)
    lengths = [len(f["input_ids"]) for f in feats]
    if grouped:
        batches = length_grouped_batches(lengths, batch_size, shuffle=True, seed=0)
    else:
        perm = torch.randperm(len(feats), generator=torch.Generator().manual_seed(0)).tolist()
        batches = [perm[i : i + batch_size] for i in range(0, len(perm), batch_size)]
    batches = (batches * (steps // max(1, len(batches)) + 2))[: steps + 2]
    real = padded = n = 0
    if acc.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for i, idx in enumerate(batches):
        if i == 2:  # warm-up steps excluded
            if acc.device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        batch = {k: v.to(acc.device) for k, v in collate([feats[j] for j in idx], task.format, tok.pad_token_id).items()}
        with acc.autocast():
            loss, _ = model(task.name, batch)
        acc.backward(loss)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= 2:
            real += int(batch["attention_mask"].sum())
            padded += batch["attention_mask"].numel()
            n += len(idx)
    if acc.device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    mem = torch.cuda.max_memory_allocated() / 2**20 if acc.device.type == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"grouped": grouped, "examples_per_s": round(n / dt, 2), "tokens_per_s": round(real / dt, 1),
            "padding_overhead": round(padded / max(real, 1) - 1, 3), "peak_mem_mib": round(mem),
            "device": str(acc.device), "precision": acc.mixed_precision}  # fmt: skip


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir")
    p.add_argument("--task", default="udpos")
    p.add_argument("--root", default="../shared/realmini")
    p.add_argument("--lang", default="en")
    p.add_argument("--split", default="train")
    p.add_argument("--examples", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--precision", default="auto")
    p.add_argument("--freeze-embeddings", action="store_true")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    task = build_registry(None)[args.task]
    rows = read_rows(data_file(args.root, task.name, args.split, args.lang), task, limit=args.examples)
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    for grouped in (False, True):
        r = run(args.model_dir, task, rows, tok, batch_size=args.batch_size, max_length=args.max_length, steps=args.steps,
                grouped=grouped, precision=args.precision, freeze=args.freeze_embeddings)  # fmt: skip
        print(json.dumps({"task": task.name, "batch_size": args.batch_size, "max_length": args.max_length, **r}))


if __name__ == "__main__":
    main()
