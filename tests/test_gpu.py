"""GPU efficiency switches, on by default where a GPU is present: bf16 autocast (fp16 with loss
scaling without bf16), TF32 matmuls, fused AdamW, PyTorch's scaled-dot-product attention, optional
gradient checkpointing.  Runs only where CUDA is available (skipped on the CPU test machines)."""

import json
import os

import pytest
import torch
from conftest import write_jsonl

from xstilts.common.errors import CheckpointError
from xstilts.data.registry import NLI_LABELS, Task, task_to_dict
from xstilts.modelling.models import load_encoder
from xstilts.workflow.config import HPARAM_DEFAULTS
from xstilts.workflow.jobs import training as jobs

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

CLS = Task("toy_cls", "classification", "accuracy", labels=NLI_LABELS, pair=True)


def test_encoders_load_with_sdpa_attention_unless_told_otherwise(tiny_encoder_dir):
    """Also on CPU: transformers' default is SDPA where the architecture has it; a model's
    `attn_implementation` overrides it, and one that cannot be used stops with one sentence."""
    assert load_encoder(tiny_encoder_dir).config._attn_implementation == "sdpa"
    assert load_encoder(tiny_encoder_dir, attn_implementation="eager").config._attn_implementation == "eager"
    try:
        import flash_attn  # noqa: F401
    except ImportError:
        with pytest.raises(CheckpointError, match="does not support attn_implementation 'flash_attention_2'"):
            load_encoder(tiny_encoder_dir, attn_implementation="flash_attention_2")


@needs_gpu
@pytest.mark.parametrize("checkpointing", [False, True])
def test_training_on_gpu_uses_mixed_precision_tf32_and_fused_adamw(tiny_encoder_dir, tmp_path, monkeypatch, checkpointing):
    seen = {}
    real_adamw = torch.optim.AdamW

    def adamw(*args, **kwargs):
        seen["fused"] = kwargs.get("fused")
        return real_adamw(*args, **kwargs)

    monkeypatch.setattr(torch.optim, "AdamW", adamw)
    words = ["a", "the", "red", "big", "dog", "cat"]
    rows = [{"id": str(i), "text_a": f"{words[i % 6]} dog eats", "text_b": "the dog", "label": NLI_LABELS[i % 3]} for i in range(32)]
    write_jsonl(tmp_path / "data/toy_cls/train/en.jsonl", rows)
    write_jsonl(tmp_path / "data/toy_cls/validation/en.jsonl", rows[:8])
    hp = {**HPARAM_DEFAULTS, "lr": 1e-3, "epochs": 2, "batch_size": 8, "eval_every": 4, "eval_examples": 8, "max_length": 16,
          "gradient_checkpointing": checkpointing}  # fmt: skip
    params = {"phase": "intermediate", "tasks": [task_to_dict(CLS, training=True)], "hparams": hp, "task_hparams": {},
              "data": {"toy_cls": {"root": str(tmp_path / "data"), "train_languages": ["en"], "cap": None}}, "seed": 0,
              "model": {"dtype": "float32", "pooling": "cls", "encoder_module": None}, "from_base": True, "on_bad_row": "error"}  # fmt: skip
    out = tmp_path / "model/checkpoint.json"
    jobs.train(params, os.path.join(tiny_encoder_dir, "config.json"), str(out), threads=1)
    result = json.loads(out.read_text())["result"]
    assert result["device"].startswith("cuda")
    assert result["mixed_precision"] == ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    assert seen["fused"] is True
    assert result["steps"] == 8 and result["best_validation"] >= 0
