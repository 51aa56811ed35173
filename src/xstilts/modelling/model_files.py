"""Checks that a model directory is whole before anything trains on it: config, weights, tokenizer (no torch).

A directory with a missing or unreadable ``config.json``, a truncated or corrupt safetensors file,
or no tokenizer files must stop the job with one sentence, never fall back to a random encoder or a
tokenizer of special tokens only.  The Snakefile runs :func:`check_model_dir` on every local model
when the plan is made; the jobs run it again on every directory they load.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from xstilts.common.errors import CheckpointError

# files any Hugging Face tokenizer is built from: the fast tokenizer, WordPiece, BPE, SentencePiece, tiktoken
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "sentencepiece.bpe.model", "spiece.model", "tokenizer.model",
                   "spm.model", "sentencepiece.model", "tiktoken.model", "vocab.model")  # fmt: skip
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
FIX = "re-download or re-create it (a local model: save it with save_pretrained; a workflow output: delete it and rerun)"


def _config(directory: Path, where: str) -> dict:
    path = directory / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{where}: '{directory}' has no config.json, so it is not a model directory; {FIX}.")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{where}: '{path}' is not valid JSON ({e}); {FIX}.") from None
    if not isinstance(config, dict) or not config.get("model_type"):
        raise CheckpointError(f"{where}: '{path}' names no model_type, so no architecture can be built from it; {FIX}.")
    return config


def safetensors_problem(path: Path) -> str | None:
    """Why a safetensors file cannot be read whole (truncated, corrupt header), or None when it can:
    its header is parsed and the tensors it lists must end exactly where the file ends."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            if size < 8:
                return "is shorter than a safetensors header"
            n = struct.unpack("<Q", f.read(8))[0]
            if n > size - 8:
                return f"is truncated ({size} bytes; its header alone needs {n + 8})"
            header = json.loads(f.read(n))
    except (UnicodeDecodeError, json.JSONDecodeError, struct.error):
        return "has a corrupt header"
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__" and isinstance(t, dict) and "data_offsets" in t]
    expected = 8 + n + max(ends, default=0)
    if expected != size:
        return f"is {'truncated' if size < expected else 'longer than its tensors'} ({size} bytes; its header describes {expected})"
    return None


def _weights(directory: Path, where: str) -> None:
    present = [name for name in WEIGHT_FILES if (directory / name).is_file()]
    if not present:
        raise CheckpointError(f"{where}: '{directory}' has no weights ({' or '.join(WEIGHT_FILES[:2])}); {FIX}.")
    files = []
    for name in present:
        if name.endswith(".index.json"):
            try:
                shards = sorted(set(json.loads((directory / name).read_text(encoding="utf-8"))["weight_map"].values()))
            except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
                raise CheckpointError(f"{where}: '{directory / name}' is not a valid weight index ({e}); {FIX}.") from None
            missing = [s for s in shards if not (directory / s).is_file()]
            if missing:
                raise CheckpointError(f"{where}: '{directory}' lacks the weight shard {missing[0]} named in {name}; {FIX}.")
            files += [directory / s for s in shards]
        else:
            files.append(directory / name)
    for path in files:
        problem = safetensors_problem(path) if path.suffix == ".safetensors" else None
        if problem:
            raise CheckpointError(f"{where}: '{path}' {problem}; {FIX}.")


def _tokenizer(directory: Path, where: str) -> None:
    present = [name for name in TOKENIZER_FILES if (directory / name).is_file()]
    present += [p.name for p in directory.glob("*.tiktoken")]
    if not present:
        raise CheckpointError(
            f"{where}: '{directory}' has no tokenizer files (one of {', '.join(TOKENIZER_FILES[:4])}, ...); "
            f"without them transformers builds a tokenizer of special tokens only; {FIX}."
        )
    if "tokenizer.json" in present:
        try:
            json.loads((directory / "tokenizer.json").read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CheckpointError(f"{where}: '{directory / 'tokenizer.json'}' is not valid JSON ({e}); {FIX}.") from None


def check_model_dir(directory: str | os.PathLike, where: str = "model", *, weights: bool = True, tokenizer: bool = True) -> dict:
    """Raise CheckpointError unless ``directory`` holds a readable config, whole weights (unless
    ``weights=False``: a random copy needs none) and tokenizer files; returns the config."""
    directory = Path(directory)
    config = _config(directory, where)
    if weights:
        _weights(directory, where)
    if tokenizer:
        _tokenizer(directory, where)
    return config


def vocab_sizes(config: dict) -> list[int]:
    """Every ``vocab_size`` of a config and its sub-configs (a multimodal model's text tower has its own)."""
    out = [config["vocab_size"]] if isinstance(config.get("vocab_size"), int) else []
    for value in config.values():
        if isinstance(value, dict):
            out += vocab_sizes(value)
    return out
