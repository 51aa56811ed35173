"""The base-encoder jobs: masked-LM pretraining on the synthetic corpus, a random copy, a truncated
copy, a Hub download (rules pretrain_mlm, random_init, truncate_model, fetch_model)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from xstilts.common.errors import XstiltsError
from xstilts.common.files import write_json
from xstilts.workflow.jobs.records import provenance

log = logging.getLogger("xstilts.jobs")


def pretrain(params: dict, corpus_dir: str, out: str, threads: int | None = None) -> None:
    """Masked-LM pretraining of a small BERT (and its tokenizer) on the synthetic corpus."""
    from xstilts.modelling.pretrain import pretrain_mlm

    out_dir = os.path.dirname(out)
    files = sorted(str(p) for p in Path(corpus_dir).glob("*.txt"))
    stats = pretrain_mlm(files, out_dir, **params, threads=threads or 1, log=log.info)
    write_json(out, {"kind": "pretrained", "pretrain": params, "stats": stats, **provenance()})


def random_init(params: dict, like: str, out: str) -> None:
    from xstilts.modelling.pretrain import random_init_like

    random_init_like(os.path.dirname(like), os.path.dirname(out), seed=params["seed"])
    write_json(out, {"kind": "random_init", "like": os.path.dirname(like), **params, **provenance()})


def truncate_model(params: dict, like: str, out: str) -> None:
    """A smaller model of the same family: the embeddings and first ``layers`` layers of ``like``."""
    from xstilts.modelling.pretrain import truncate_like

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
