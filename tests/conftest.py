import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

CORPUS = [
    "the dog eats the red apple .",
    "a cat sees the big house near the river .",
    "der hund isst den roten apfel .",
    "une chatte voit la grande maison .",
    "the teacher gives the child a book today .",
    "東京 は 日本 の 首都 です",
] * 20


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory):
    """A 2-layer BERT with a WordPiece tokenizer trained on a toy corpus, saved as a model directory."""
    return str(make_model_dir(tmp_path_factory.mktemp("encoder")))


def make_model_dir(d: Path) -> Path:
    """A 2-layer BERT with a WordPiece tokenizer trained on a toy corpus, saved in ``d``."""
    from transformers import BertConfig, BertModel

    from xstilts.modelling.pretrain import train_tokenizer

    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    corpus = d / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    tok = train_tokenizer([str(corpus)], str(d), vocab_size=300)
    import torch

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=256, pad_token_id=tok.pad_token_id)  # fmt: skip
    BertModel(cfg, add_pooling_layer=False).save_pretrained(d)
    return d


def write_jsonl(path, rows):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def fake_model_dir(d: Path, *, layers: int = 2) -> Path:
    """A model directory whole enough for the plan-time checks (config, a readable safetensors
    header, tokenizer files) but with no tensors: for dry runs and cluster simulations."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps({"model_type": "bert", "num_hidden_layers": layers, "vocab_size": 100}))
    header = json.dumps({"__metadata__": {"format": "pt"}}).encode()
    (d / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)
    (d / "tokenizer.json").write_text("{}")
    return d


def load_script(name: str):
    """workflow/scripts/{name}.py as a module (its entry point not run), to call its job function."""
    import importlib.util

    path = ROOT / "workflow" / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"xstilts_script_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_repo(dest: Path) -> Path:
    """The workflow files (not results) in a fresh directory, so runs never touch the checkout."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "config.yaml", "config", "workflow", "envs", "slurm", "src"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def snakemake(workdir, *args, timeout=900, check=True):
    env = {**os.environ, "PYTHONPATH": str(Path(workdir) / "src")}
    proc = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, capture_output=True, text=True,
                          timeout=timeout, env=env)  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def job_counts(output: str) -> dict[str, int]:
    """Parse the 'Job stats' table of `snakemake -n -q rules`."""
    counts, in_table = {}, False
    for line in output.splitlines():
        parts = line.split()
        if line.startswith("job ") and "count" in line:
            in_table, counts = True, {}
            continue
        if in_table:
            if len(parts) == 2 and parts[1].isdigit():
                counts[parts[0]] = int(parts[1])
            elif parts and set(parts[0]) <= {"-"}:
                continue
            elif counts:
                in_table = False
    counts.pop("total", None)
    return counts
