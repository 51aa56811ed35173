"""The size of each configured model: its parameter count (config, known Hub ids, local weights) and its depth."""

from __future__ import annotations

import json
import os

from xstilts.common.errors import ConfigError
from xstilts.modelling.sizes import safetensors_params
from xstilts.workflow.config import Experiment, hub_slug

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


def _layers_in(config: dict, encoder_module: str | None) -> int | None:
    """num_hidden_layers of a model config (of the text tower's sub-config for a multimodal model)."""
    if encoder_module:
        subs = [v for k, v in config.items() if isinstance(v, dict) and "text" in k and isinstance(v.get("num_hidden_layers"), int)]
        return subs[0]["num_hidden_layers"] if len(subs) == 1 else None
    n = config.get("num_hidden_layers")
    return n if isinstance(n, int) else None


def model_depth(exp: Experiment, model: str, resources_dir: str | None = None) -> int | None:
    """Transformer layers of a configured model, where they can be known before any job runs: a
    local directory's config, a fetched Hub model's, the pretraining settings, a truncated copy's
    ``layers``; None otherwise (a Hub model not yet downloaded)."""
    m = exp.models[model]
    if m.source == "truncated":
        return m.layers
    if m.source == "random":
        return model_depth(exp, m.like, resources_dir)
    if m.source == "pretrain":
        return (m.pretrain or {}).get("layers", 4)
    directory = m.path if m.source == "local" else os.path.join(resources_dir or exp.resources_dir, "models", hub_slug(m))
    path = os.path.join(directory, "config.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return _layers_in(json.load(f), m.encoder_module)


def check_retrieval_layers(exp: Experiment) -> None:
    """Each model's ``retrieval_layer`` names one of its hidden states: 0 (the embeddings) to its depth."""
    for name, m in exp.models.items():
        if m.retrieval_layer is None:
            continue
        depth = model_depth(exp, name)
        if depth is not None and m.retrieval_layer > depth:
            raise ConfigError(
                f"config key 'models.{name}.retrieval_layer' is {m.retrieval_layer}, but model '{name}' has {depth} layers; "
                f"choose 0 (the embeddings) to {depth}, or leave it unset for the last layer."
            )
