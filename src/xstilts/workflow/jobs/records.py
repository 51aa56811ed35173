"""What every output records about how it was made: code and package versions, the chain of
encoders a model was trained from (lineage), and where each task's rows came from."""

from __future__ import annotations

import os
import time

from xstilts.common.files import read_json
from xstilts.common.provenance import code_version, package_versions

# environment variables that change what a job does without being params (recorded, never compared)
RECORDED_ENVIRONMENT = ("USE_HUB_KERNELS", "XSTILTS_SAVE_EVERY", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")


def provenance() -> dict:
    return {"code_version": code_version(), "versions": package_versions(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "environment": {k: os.environ[k] for k in RECORDED_ENVIRONMENT if k in os.environ}}


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
