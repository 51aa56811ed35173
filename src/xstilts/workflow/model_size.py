"""The parameter count of each configured model: from the config, known Hub ids, or a local model's weights."""

from __future__ import annotations

import os

from xstilts.common.errors import ConfigError
from xstilts.modelling.sizes import safetensors_params
from xstilts.workflow.config import Experiment

# Parameter counts (millions) of common base models, when the config does not state `params_millions`.
KNOWN_PARAMS_M = {
    "FacebookAI/xlm-roberta-large": 560,
    "xlm-roberta-large": 560,
    "FacebookAI/xlm-roberta-base": 278,
    "xlm-roberta-base": 278,
    "google-bert/bert-base-multilingual-cased": 178,
    "bert-base-multilingual-cased": 178,
    "intfloat/multilingual-e5-small": 118,
    "Qwen/Qwen2.5-0.5B": 494,
}


def params_of(exp: Experiment, model: str) -> float:
    """Parameter count of a model: config, known Hub ids, or the weights of a local directory."""
    m = exp.models[model]
    if m.params_millions:
        return m.params_millions * 1e6
    if m.source == "random":
        return params_of(exp, m.like)
    if m.source == "truncated":
        like = exp.models[m.like]
        if like.source == "local" and os.path.isdir(like.path):
            n = safetensors_params(like.path, keep_layers=m.layers)
            if n:
                return n
    if m.source == "hub" and m.id in KNOWN_PARAMS_M:
        return KNOWN_PARAMS_M[m.id] * 1e6
    if m.source == "local" and os.path.isdir(m.path):
        n = safetensors_params(m.path)
        if n:
            return n
    if m.source == "pretrain":
        p = m.pretrain
        h, layers, ffn, vocab = p.get("hidden", 128), p.get("layers", 4), p.get("intermediate", 512), p.get("vocab_size", 4000)
        return vocab * h + layers * (4 * h * h + 2 * h * ffn)
    raise ConfigError(
        f"config key 'models.{model}.params_millions' is needed for the cost plan (the parameter count of "
        f"'{m.id or m.path or model}' is not known here)."
    )
