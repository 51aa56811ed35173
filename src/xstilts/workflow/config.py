"""Experiment configs: validation, defaults, and the resolved grid the workflow builds.

``Experiment(config)`` is what the Snakefile holds.  It answers every question a rule asks (which
pipelines run for a model, which hyperparameters a job uses, where a checkpoint lives) so that the
rules stay declarative and the same answers are testable without Snakemake.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from xstilts.common.errors import ConfigError
from xstilts.data.registry import Task, build_registry

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "config" / "schema.yaml"  # src/xstilts/workflow/ is three below the repository

# Training hyperparameters every phase starts from (the paper's recipe where it has one; the
# paper grid in config.yaml restates them explicitly).
HPARAM_DEFAULTS = {
    "lr": 1e-5,
    "weight_decay": 0.01,
    "warmup_ratio": 0.1,
    "epochs": 2,
    "max_steps": None,
    "batch_size": 32,
    "grad_accum": 1,
    "max_grad_norm": 1.0,
    "max_length": 256,
    "doc_stride": 128,
    "max_answer_length": 30,
    "max_train_examples": None,
    "eval_every": 1000,
    "eval_examples": 500,
    "patience": None,
    "freeze_embeddings": False,
    "regime": "english",
    "precision": "auto",
    "checkpoint_dtype": "float32",
    "gradient_checkpointing": False,
    "dropout": 0.1,
}
# Keys that describe how a task's text is featurised: in a multitask run these stay per task.
FEATURE_KEYS = ("max_length", "doc_stride", "max_answer_length", "max_train_examples")
EVAL_DEFAULTS = {"batch_size": 64, "max_examples": None, "max_length": 512}
FIGURE_DEFAULTS = {"width": 6.0, "height": None, "dpi": 200, "cmap": "RdBu", "font_scale": 0.9}
TABLE_DEFAULTS = {"digits": 1, "scale": 100.0}
STATISTICS_DEFAULTS = {"n_resamples": 1000, "confidence": 0.95, "seed": 0}
MODEL_DEFAULTS = {"pooling": "cls", "dtype": "float32", "revision": "main", "retrieval_layer": None, "attn_implementation": None}
# Multilingual masked-LM mixed into intermediate training (pipeline key `mlm`).  The paper's own
# values are not recorded in this repository: these follow XLM-R's pretraining (15 % masking,
# 80/10/10) and keep MLM sequences short, since they only regularise the encoder.
MLM_DEFAULTS = {"ratio": 0.5, "mask_prob": 0.15, "max_length": 128, "lines_per_language": 20000}

# Cluster resources (config key `resources`, slurm/README.md).  The five rule families that may use a
# GPU, with the per-job key each family's per-task table is indexed by; `cpu` is every other job
# (synthesize_world, random_init, the report rules), which never asks for a GPU.
GPU_FAMILIES = {"pretrain": None, "intermediate": "pipelines", "target": "tasks", "evaluate": "tasks", "retrieval": None}
CPU_FAMILY = "cpu"
# Without a `resources` section every job is a CPU job (gpu 0), so a preset that names none (the
# smoke test) runs on any machine and never waits for a GPU.  mem_mb/runtime: ample for the tiny
# preset, whose longest job (pretrain_mlm) takes about a minute on 2 cores (README, "The tiny preset").
RESOURCE_DEFAULTS = {"gpu": 0, "gpu_model": None, "cpus_per_gpu": 4, "mem_mb": 8000, "runtime": 60}
CPU_RESOURCE_DEFAULTS = {"mem_mb": 4000, "runtime": 30}


def slug(model_id: str) -> str:
    """A Hub id as one path component: ``FacebookAI/xlm-roberta-large`` -> ``FacebookAI--xlm-roberta-large``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", model_id.replace("/", "--"))


def hub_slug(model) -> str:
    """The folder of a Hub model under resources/models/: its id, and its revision unless main."""
    return slug(model.id) + ("" if model.revision in (None, "main") else f"@{slug(model.revision)}")


def load_yaml(path) -> dict:
    """A config file: a YAML mapping; a syntax error names the file, line and column."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file '{path}' does not exist.") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file '{path}' is not UTF-8 (byte {e.start}); save it as UTF-8.") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        at = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = " ".join(str(x) for x in (getattr(e, "context", None), getattr(e, "problem", None)) if x) or str(e).splitlines()[0]
        raise ConfigError(f"config file '{path}'{at}: not valid YAML ({what}); fix the YAML there.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}' holds a {type(data).__name__}, not a mapping of settings.")
    return data


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


REPO_ROOT = SCHEMA_PATH.parents[1]


def merge_configs(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``: mappings merge key by key, everything else (lists included) is
    replaced, so a preset's list of seeds, targets or languages never mixes with the base's; ``null``
    in place of one of the base's mappings removes it (a model, a pipeline, an analysis's settings)."""
    out = dict(base)
    for key, value in over.items():
        if value is None and isinstance(out.get(key), dict):
            del out[key]
        else:
            out[key] = merge_configs(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def resolve_extends(config: dict, root: Path = REPO_ROOT, _seen: tuple = ()) -> dict:
    """A config with ``extends: FILE`` (relative to the repository root) is that file's config with
    this one merged on top (``merge_configs``); chains are followed, cycles refused."""
    if "extends" not in config:
        return config
    config = dict(config)
    path = Path(config.pop("extends"))
    path = path if path.is_absolute() else root / path
    if path in _seen:
        raise ConfigError(f"config key 'extends' makes a cycle through '{path}'.")
    if not path.is_file():
        raise ConfigError(f"config key 'extends' names '{path}', which does not exist; expected a config YAML file.")
    base = resolve_extends(load_yaml(path), root, (*_seen, path))
    return merge_configs(base, config)


def expand_env(obj, where: str = ""):
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string of a config by the environment's
    value, so that machine-specific paths (a local model directory, a data root) stay out of the
    preset.  An unset variable without a default stops with a sentence naming the key."""
    if isinstance(obj, dict):
        return {k: expand_env(v, f"{where}.{k}" if where else str(k)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [expand_env(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if not isinstance(obj, str) or "${" not in obj:
        return obj

    def sub(m):
        value = os.environ.get(m.group(1))
        if value is None or value == "":
            if m.group(2) is None:
                raise ConfigError(
                    f"config key '{where}' uses environment variable {m.group(1)}, which is not set; "
                    f"set it or write a default as ${{{m.group(1)}:-default}}."
                )
            return m.group(2)
        return value

    return _ENV_REF.sub(sub, obj)


# --------------------------------------------------------------------------- validation


def _key_path(parts) -> str:
    return ".".join(str(p) for p in parts) or "<top level>"


def validate_schema(config: dict) -> None:
    """Raise ConfigError with one sentence for the first schema violation."""
    import jsonschema

    schema = load_yaml(SCHEMA_PATH)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        return
    err = errors[0]
    where = list(err.absolute_path)
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        hint = f"; expected one of {allowed}" if allowed else ""
        raise ConfigError(f"config key '{_key_path(where + [extra[0]])}' is not a known setting{hint}.")
    if err.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", err.message)
        raise ConfigError(f"config key '{_key_path(where + missing[:1])}' is required but missing.")
    if err.validator == "type":
        expected = [err.validator_value] if isinstance(err.validator_value, str) else list(err.validator_value)
        if "array" in expected and isinstance(err.instance, str):  # `languages: en` would be read as ['e', 'n']
            raise ConfigError(f"config key '{_key_path(where)}' is the string {err.instance!r}; expected a list, e.g. [{err.instance}].")
        raise ConfigError(
            f"config key '{_key_path(where)}' has value {err.instance!r}; expected type {err.validator_value}."
        )
    if err.validator == "enum":
        raise ConfigError(f"config key '{_key_path(where)}' is {err.instance!r}; expected one of {err.validator_value}.")
    raise ConfigError(f"config key '{_key_path(where)}': {err.message}.")


# --------------------------------------------------------------------------- resolved objects


@dataclass(frozen=True)
class Model:
    name: str
    source: str
    id: str | None = None
    revision: str = "main"
    path: str | None = None
    like: str | None = None
    layers: int | None = None  # source truncated: the first N transformer layers of `like`
    pretrain: dict | None = None
    retrieval_layer: int | None = None
    pooling: str = "cls"
    dtype: str = "float32"
    pipelines: tuple[str, ...] | None = None
    encoder_module: str | None = None
    params_millions: float | None = None
    attn_implementation: str | None = None  # None: transformers' default (sdpa where the model supports it)


@dataclass(frozen=True)
class Pipeline:
    name: str
    kind: str
    tasks: tuple[str, ...] = ()  # single: one task; multitask: several
    caps: tuple[tuple[str, int], ...] = ()
    stages: tuple[str, ...] = ()  # sequence: pipeline names
    train: tuple[tuple[str, object], ...] = ()  # multitask: the run's hyperparameters
    mlm: tuple[tuple[str, object], ...] = ()  # multilingual masked-LM mixed in (MLM_DEFAULTS + corpus, languages)
    translations: tuple[tuple[str, object], ...] = ()  # language -> machine-translated copy of the training data
    translation_ratio: float | None = None  # fraction of the rows drawn from the translations (None: all rows of every copy)
    target: tuple[tuple[str, object], ...] = ()  # target-phase hyperparameters of this row (over train.target)

    @property
    def trains(self) -> bool:
        return self.kind != "none"

    def mlm_spec(self) -> dict | None:
        """The masked-LM mix-in: ratio, mask_prob, max_length, lines_per_language, languages, corpus."""
        if not self.mlm:
            return None
        d = dict(self.mlm)
        return {**d, "corpus": json.loads(d["corpus"]), "languages": list(d["languages"])}

    def translation_sources(self) -> dict:
        """language -> a directory ({task}/train/{lang}.jsonl), a .jsonl file or a Hub dataset spec."""
        return {lang: json.loads(src) for lang, src in self.translations}

    def parent(self) -> str | None:
        """The pipeline whose encoder this one starts from (None: the base model)."""
        if self.kind != "sequence":
            return None
        return "+".join(self.stages[:-1]) if len(self.stages) > 2 else self.stages[0]


@dataclass(frozen=True)
class JobResources:
    """What one job asks the cluster for (``Experiment.job_resources``)."""

    mem_mb: int
    runtime: int  # minutes, first attempt
    gpu: int = 0
    gpu_model: str | None = None
    cpus_per_gpu: int | None = None
    max_runtime: int | None = None

    def runtime_at(self, attempt: int = 1) -> int:
        """Attempt n asks for n times the first attempt's time (a timed-out job is retried with more),
        capped at ``resources.max_runtime`` (the partition's limit)."""
        minutes = self.runtime * max(1, int(attempt))
        return min(minutes, self.max_runtime) if self.max_runtime else minutes


class Experiment:
    """A validated experiment config with defaults applied."""

    def __init__(self, config: dict):
        config = expand_env(resolve_extends(json.loads(json.dumps(config))))  # plain types, private copy
        validate_schema(config)
        self.raw = config
        self.name = config["experiment"]
        self.results_dir = config.get("results_dir", "results")
        self.out = f"{self.results_dir}/{self.name}"
        data = config.get("data", {})
        self.resources_dir = data.get("resources_dir", "resources")
        self.cache_dir = data.get("cache_dir", f"{self.results_dir}/.cache")
        self.on_bad_row = data.get("on_bad_row", "error")
        self.synthetic = dict(data.get("synthetic", {}))
        self.seeds = list(config["seeds"])
        self.tasks = build_registry(config.get("tasks"))
        self.models = self._models(config["models"])
        self.pipelines = self._pipelines(config.get("pipelines", {}))
        self.targets = self._targets(config["targets"])
        self.train_cfg = config.get("train", {})
        # not hyperparameters: how often a resumable state is saved (an environment variable of the
        # jobs, never a param, so changing it reruns nothing) and whether target checkpoints are
        # deleted once evaluated
        self.save_every = self.train_cfg.get("save_every")
        self.temporary_target_checkpoints = self.train_cfg.get("target_checkpoints", "keep") == "temporary"
        # whether transformers may fetch kernels from the Hub (USE_HUB_KERNELS, exported to every job)
        self.hub_kernels = bool(config.get("hub_kernels", False))
        self.eval_cfg = config.get("evaluate", {})
        report = config.get("report", {})
        self.figure = {**FIGURE_DEFAULTS, **report.get("figure", {})}
        self.table = {**TABLE_DEFAULTS, **report.get("table", {})}
        self.statistics = {**STATISTICS_DEFAULTS, **report.get("statistics", {})}
        self.analyses = list(report.get("analyses", []))
        self.task_category = dict(report.get("task_category", {}))
        for key in ("categories", "groups"):
            for name in self.task_category.get(key, {}):
                known = self.pipelines if key == "categories" else [t.name for t in self.targets]
                if name not in known:
                    raise ConfigError(f"config key 'report.task_category.{key}.{name}' names no "
                                      f"{'pipeline' if key == 'categories' else 'target'} of this experiment.")  # fmt: skip
        self.analysis_cfg = {name: dict(report.get(name, {})) for name in ("low_resource", "scale", "order", "mixed_language")}
        self.resources = config.get("resources", {})
        self._check_analyses()
        self._check_train_overrides()
        self.train_chains  # noqa: B018 - every target's training history is checked now, not in a job
        self._check_resources()

    # ------------------------------------------------------------------ construction

    def task(self, name: str, where: str = "") -> Task:
        try:
            return self.tasks[name]
        except KeyError:
            raise ConfigError(
                f"{where or 'config'} names unknown task '{name}'; known tasks: {sorted(self.tasks)}."
            ) from None

    def _models(self, spec: dict) -> dict[str, Model]:
        models = {}
        for name, m in spec.items():
            m = {**MODEL_DEFAULTS, **m}
            src = m["source"]
            need = {"hub": "id", "local": "path", "random": "like", "pretrain": "pretrain", "truncated": "like"}[src]
            if not m.get(need):
                raise ConfigError(f"config key 'models.{name}.{need}' is required for a model of source '{src}'.")
            if (src == "truncated") != (m.get("layers") is not None):
                raise ConfigError(f"config key 'models.{name}.layers' is " + ("required for a model of source 'truncated'."
                                  if src == "truncated" else "only for a model of source 'truncated'."))  # fmt: skip
            if m.get("pipelines") is not None:
                m["pipelines"] = tuple(m["pipelines"])
            models[name] = Model(name=name, **m)
        for m in models.values():
            if m.source in ("random", "truncated") and m.like not in models:
                raise ConfigError(f"config key 'models.{m.name}.like' names unknown model '{m.like}'.")
            if m.source == "truncated" and models[m.like].source == "truncated":
                raise ConfigError(f"config key 'models.{m.name}.like' names '{m.like}', itself truncated; name the full model.")
        return models

    def _pipelines(self, spec: dict) -> dict[str, Pipeline]:
        out: dict[str, Pipeline] = {"none": Pipeline("none", "none")}
        for name, p in spec.items():
            where = f"pipelines.{name}"
            kind = p["kind"]
            for key in ("task", "tasks", "caps", "train", "mlm", "translations", "translation_ratio", "stages"):
                if key in p and kind == "none":
                    raise ConfigError(f"config key '{where}.{key}' does not apply to a pipeline of kind 'none'.")
            if p.get("translation_ratio") is not None and not p.get("translations"):
                raise ConfigError(f"config key '{where}.translation_ratio' needs '{where}.translations' (the data mixed in).")
            target = _items(p.get("target"))
            if kind == "none":
                out[name] = Pipeline(name, "none", target=target)
            elif kind == "single":
                task = p.get("task", name)
                self._intermediate_task(task, where)
                out[name] = Pipeline(name, "single", tasks=(task,), train=_items(p.get("train")), target=target,
                                     **self._extras(p, where, [task]))  # fmt: skip
            elif kind == "multitask":
                if not p.get("tasks"):
                    raise ConfigError(f"config key '{where}.tasks' is required for a multitask pipeline.")
                for t in p["tasks"]:
                    self._intermediate_task(t, where)
                caps = p.get("caps", {})
                for t in caps:
                    if t not in p["tasks"]:
                        raise ConfigError(f"config key '{where}.caps.{t}' caps a task the pipeline does not mix.")
                out[name] = Pipeline(name, "multitask", tasks=tuple(p["tasks"]), caps=_items(caps), train=_items(p.get("train")),
                                     target=target, **self._extras(p, where, p["tasks"]))  # fmt: skip
            elif kind == "sequence":
                for key in ("mlm", "translations", "translation_ratio", "task", "tasks", "caps", "train"):
                    if key in p:
                        raise ConfigError(f"config key '{where}.{key}' does not apply to a sequence pipeline; set it on its stages.")
                if not p.get("stages") or len(p["stages"]) < 2:
                    raise ConfigError(f"config key '{where}.stages' needs at least two pipelines.")
                out[name] = Pipeline(name, "sequence", stages=tuple(p["stages"]), target=target)
        # sequence stages name other pipelines; their prefixes become implicit pipelines
        for p in list(out.values()):
            if p.kind != "sequence":
                continue
            for s in p.stages:
                if s not in out or out[s].kind in ("none", "sequence"):
                    raise ConfigError(
                        f"config key 'pipelines.{p.name}.stages' names '{s}', which is not a single or multitask pipeline."
                    )
            for k in range(2, len(p.stages)):
                prefix = "+".join(p.stages[:k])
                out.setdefault(prefix, Pipeline(prefix, "sequence", stages=p.stages[:k]))
        for m in self.models.values():
            for name in m.pipelines or ():
                if name not in out:
                    raise ConfigError(f"config key 'models.{m.name}.pipelines' names unknown pipeline '{name}'.")
        return out

    def _extras(self, p: dict, where: str, tasks) -> dict:
        """The `mlm` and `translations` options of a single or multitask pipeline, checked."""
        out = {}
        if p.get("mlm") is not None:
            mlm = {**MLM_DEFAULTS, **p["mlm"]}
            corpus = mlm["corpus"]
            kinds = [k for k in ("path", "hub", "synthetic") if corpus.get(k)]
            if len(kinds) != 1:
                raise ConfigError(f"config key '{where}.mlm.corpus' needs exactly one of 'path', 'hub' or 'synthetic: true'.")
            if kinds[0] == "hub" and "{lang}" not in str(corpus.get("config", "")) + str(corpus.get("data_dir", "")):
                raise ConfigError(f"config key '{where}.mlm.corpus.config' must contain '{{lang}}' (one Hub config per language).")
            if kinds[0] == "synthetic" and not self.synthetic and not any(t.source == "synthetic" for t in self.tasks.values()):
                raise ConfigError(f"config key '{where}.mlm.corpus.synthetic' needs the synthetic world (data.synthetic).")
            out["mlm"] = _items({**mlm, "corpus": json.dumps(corpus, sort_keys=True), "languages": tuple(mlm["languages"])})
        if p.get("translations"):
            for lang, src in p["translations"].items():
                if lang == "en":
                    raise ConfigError(f"config key '{where}.translations.en': English is the original data, not a translation.")
                if isinstance(src, str) and src.endswith(".jsonl") and len(tasks) != 1:
                    raise ConfigError(f"config key '{where}.translations.{lang}' names one file, but the pipeline mixes "
                                      f"{len(tasks)} tasks; give a directory holding {{task}}/train/{lang}.jsonl.")  # fmt: skip
                if isinstance(src, dict) and len(tasks) != 1:
                    raise ConfigError(f"config key '{where}.translations.{lang}' names one Hub dataset, but the pipeline mixes "
                                      f"{len(tasks)} tasks; give a directory holding {{task}}/train/{lang}.jsonl.")  # fmt: skip
                if isinstance(src, dict) and src.get("schema"):
                    self.task(src["schema"], f"config key '{where}.translations.{lang}.schema'")
            out["translations"] = _items({lang: json.dumps(src, sort_keys=True) for lang, src in p["translations"].items()})
            out["translation_ratio"] = p.get("translation_ratio")
        return out

    def _intermediate_task(self, name: str, where: str) -> Task:
        task = self.task(name, f"config key '{where}'")
        if not task.trained:
            raise ConfigError(f"config key '{where}' names retrieval task '{name}', which has no training data.")
        return task

    def _targets(self, names: list[str]) -> list[Task]:
        targets = [self.task(n, "config key 'targets'") for n in names]
        for t in targets:
            if t.trained:
                self.task(t.trainer, f"task '{t.name}' (train_task)")
        return targets

    def _check_analyses(self) -> None:
        """Rows named by the research-question analyses exist; every evaluated language has a resource class."""
        rows = {p for m in self.models for p in self.model_pipelines(m)}
        for name, cfg in self.analysis_cfg.items():
            if cfg and name not in self.analyses:
                raise ConfigError(f"config key 'report.{name}' is set but 'report.analyses' does not list '{name}'.")
            if name not in self.analyses:
                continue
            named = [("baseline", cfg.get("baseline", "none"))] + [("pipelines", p) for p in cfg.get("pipelines", [])]
            named += [(f"comparisons.{c}", p) for c, ps in cfg.get("comparisons", {}).items() for p in ps]
            for key, p in named:
                if p not in rows:
                    raise ConfigError(f"config key 'report.{name}.{key}' names '{p}', which is not a row of this experiment; "
                                      f"rows: {sorted(rows)}.")  # fmt: skip
        if "low_resource" in self.analyses:
            classes = self.analysis_cfg["low_resource"].get("classes", {})
            if not classes:
                raise ConfigError("config key 'report.low_resource.classes' is required by the low_resource analysis.")
            for t in self.targets:
                for lang in t.languages:
                    if lang not in classes and lang != "en":
                        raise ConfigError(f"config key 'report.low_resource.classes' has no resource class for language "
                                          f"'{lang}' (target '{t.name}'); expected a class 0-5.")  # fmt: skip
        if "mixed_language" in self.analyses:
            for p in self.analysis_cfg["mixed_language"]["pipelines"]:
                spec = self.pipelines[p]
                if spec.kind in ("none", "sequence") or (spec.translations and spec.translation_ratio is None):
                    raise ConfigError(f"config key 'report.mixed_language.pipelines' names '{p}', which needs a "
                                      f"translation_ratio (or no translations: English only, ratio 0).")  # fmt: skip

    def _check_train_overrides(self) -> None:
        for phase in ("intermediate", "target"):
            for name in self.train_cfg.get(phase, {}).get("tasks", {}):
                self.task(name, f"config key 'train.{phase}.tasks'")
        for name in self.eval_cfg.get("tasks", {}):
            self.task(name, "config key 'evaluate.tasks'")

    # ------------------------------------------------------------------ the grid

    def model_pipelines(self, model: str) -> list[str]:
        """The rows of the matrix for one model (every configured pipeline unless restricted)."""
        restricted = self.models[model].pipelines
        names = [n for n in self.pipelines if "+" not in n or n in self.raw.get("pipelines", {})]
        return [n for n in names if restricted is None or n in restricted]

    def needed_pipelines(self, model: str) -> list[str]:
        """Rows plus the sequence prefixes they start from."""
        need: list[str] = []

        def add(name):
            p = self.pipelines[name]
            parent = p.parent()
            if parent:
                add(parent)
            if name not in need:
                need.append(name)

        for name in self.model_pipelines(model):
            add(name)
        return need

    @property
    def trained_targets(self) -> dict[str, list[Task]]:
        """train task -> the benchmarks scored from a model trained on it."""
        out: dict[str, list[Task]] = {}
        for t in self.targets:
            if t.trained:
                out.setdefault(t.trainer, []).append(t)
        return out

    @functools.cached_property
    def train_chains(self) -> dict[str, tuple[str, ...]]:
        """Every task a target model is fine-tuned on -> the tasks it is trained on, in order, ending
        with itself.  A benchmark's ``train_first`` tasks (XTREME-R's XCOPA: Social IQa, then COPA)
        are target jobs of their own, each starting from the previous one's checkpoint."""
        chains: dict[str, tuple[str, ...]] = {}
        for train_task, benchmarks in self.trained_targets.items():
            firsts = {b.train_first for b in benchmarks}
            if len(firsts) > 1:
                raise ConfigError(f"targets {[b.name for b in benchmarks]} are scored from one '{train_task}' model but "
                                  f"name different 'train_first' tasks {sorted(firsts)}; they must agree.")  # fmt: skip
            chain = (*firsts.pop(), train_task)
            fmt = self.tasks[train_task].format
            for k, name in enumerate(chain):
                t = self.task(name, f"task '{benchmarks[0].name}' (train_first)")
                if not t.trained or t.format != fmt or t.labels != self.tasks[train_task].labels:
                    raise ConfigError(f"task '{benchmarks[0].name}' trains first on '{name}', which must be a trained "
                                      f"task of format '{fmt}' with the labels of '{train_task}' (its head is carried over).")  # fmt: skip
                if chains.get(name, chain[: k + 1]) != chain[: k + 1]:
                    raise ConfigError(f"task '{name}' is trained after {list(chains[name][:-1])} for one target and "
                                      f"after {list(chain[:k])} for another; a target job has one history.")  # fmt: skip
                chains[name] = chain[: k + 1]
        return chains

    @property
    def retrieval_targets(self) -> list[Task]:
        return [t for t in self.targets if not t.trained]

    def seeds_for(self, pipeline: str) -> list[int]:
        return self.seeds

    # ------------------------------------------------------------------ hyperparameters

    def hparams(self, phase: str, task: str, pipeline: str | None = None) -> dict:
        """The exact hyperparameters a training job uses (what its rule's params hold).  In the target
        phase a pipeline's ``target`` settings come last (a row's own regime or learning rate)."""
        cfg = self.train_cfg.get(phase, {})
        per_task = cfg.get("tasks", {}).get(task, {})
        hp = {**HPARAM_DEFAULTS, **cfg.get("defaults", {})}
        if phase == "target":
            hp.update(per_task)
            if pipeline is not None:
                hp.update(dict(self.pipelines[pipeline].target))
            return hp
        if pipeline is not None and self.pipelines[pipeline].kind == "multitask":
            hp.update(dict(self.pipelines[pipeline].train))
            hp.update({k: v for k, v in per_task.items() if k in FEATURE_KEYS})
        else:
            hp.update(per_task)
            if pipeline is not None:
                hp.update(dict(self.pipelines[pipeline].train))
        if phase == "intermediate":
            hp["regime"] = "english"
        return hp

    def eval_params(self, task: str) -> dict:
        return {**EVAL_DEFAULTS, **self.eval_cfg.get("defaults", {}), **self.eval_cfg.get("tasks", {}).get(task, {})}

    def retrieval_layer(self, model: str) -> int | None:
        return self.models[model].retrieval_layer

    # ------------------------------------------------------------------ cluster resources

    def _check_resources(self) -> None:
        """Names under ``resources`` must be models, pipelines and training tasks of this experiment."""
        res = self.resources
        for model in res.get("models", {}):
            if model not in self.models:
                raise ConfigError(
                    f"config key 'resources.models.{model}' names unknown model '{model}'; known models: {sorted(self.models)}."
                )
        # a training task of some target in the registry (a config that extends another keeps the base's
        # entries for tasks it does not train); a benchmark scored from another task's model is a typo
        trainers = set(self.train_chains) | {t.trainer for t in self.tasks.values() if t.trained}
        trainers |= {f for t in self.tasks.values() for f in t.train_first}
        known = {"pipelines": sorted(n for n, p in self.pipelines.items() if p.trains), "tasks": sorted(trainers)}
        for family, table in GPU_FAMILIES.items():
            for name in res.get(family, {}).get(table, {}) if table else ():
                if name not in known[table]:
                    what = "trained pipeline" if table == "pipelines" else "training task of a target"
                    raise ConfigError(
                        f"config key 'resources.{family}.{table}.{name}' is not a {what} of this experiment"
                        + (f"; expected one of {known[table]}." if table == "pipelines" else
                           f"; expected one of this experiment's {sorted(self.train_chains)} or another task's trainer "
                           f"(e.g. mnli for xnli).")  # fmt: skip
                    )

    def job_resources(self, family: str, model: str | None = None, key: str | None = None) -> JobResources:
        """The resources of one job of a rule family, from the config's ``resources`` section.

        Later wins: built-in defaults, ``resources.defaults``, ``resources.{family}``, then the
        family's per-job table (``intermediate.pipelines.{pipeline}``, ``target.tasks.{train_task}``,
        ``evaluate.tasks.{train_task}``; ``key`` names the entry).  The model's entry
        (``resources.models.{model}``) then multiplies ``runtime`` and ``mem_mb`` by its
        ``runtime_scale`` and ``mem_scale``, sets the GPU count of a GPU job to its ``gpus``
        (a model larger than one GPU) and may name its ``gpu_model``.  A job asking for 0 GPUs is a
        CPU job: it names no GPU model.  ``cpu`` jobs take only ``resources.cpu`` (mem_mb, runtime).
        """
        res = self.resources
        max_runtime = res.get("max_runtime")
        if family == CPU_FAMILY:
            r = {**CPU_RESOURCE_DEFAULTS, **res.get(CPU_FAMILY, {})}
            return JobResources(mem_mb=r["mem_mb"], runtime=_cap(r["runtime"], max_runtime), max_runtime=max_runtime)
        if family not in GPU_FAMILIES:
            raise ConfigError(f"unknown resource family '{family}'; expected one of {[*GPU_FAMILIES, CPU_FAMILY]}.")
        section = res.get(family, {})
        table = GPU_FAMILIES[family]
        r = {**RESOURCE_DEFAULTS, **res.get("defaults", {})}
        r.update({k: v for k, v in section.items() if k != table})
        if table and key is not None:
            r.update(section.get(table, {}).get(key, {}))
        m = res.get("models", {}).get(model, {}) if model is not None else {}
        gpu = r["gpu"] and m.get("gpus", r["gpu"])
        return JobResources(
            mem_mb=math.ceil(r["mem_mb"] * m.get("mem_scale", 1)),
            runtime=_cap(math.ceil(r["runtime"] * m.get("runtime_scale", 1)), max_runtime),
            gpu=gpu,
            gpu_model=(m.get("gpu_model") or r["gpu_model"]) if gpu else None,
            cpus_per_gpu=r["cpus_per_gpu"],
            max_runtime=max_runtime,
        )


def _cap(minutes: int, max_runtime: int | None) -> int:
    return min(minutes, max_runtime) if max_runtime else minutes


def _items(d: dict | None) -> tuple:
    return tuple(sorted((d or {}).items()))


def canonical_json(obj) -> str:
    """Stable text for params: Snakemake compares params by repr, so key order must not matter."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=list)
