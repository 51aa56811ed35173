"""The workflow's plan: every declared file, and the exact params of every job.

The Snakefile's rules ask a ``Plan`` for their inputs, outputs and params, so that what a job does
is decided (and tested) here, not in the rules.  Params hold exactly the settings a job uses, as
canonical JSON: Snakemake reruns a job when its params text changes and only then.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os

from xstilts.data.registry import Task, task_to_dict
from xstilts.workflow.config import CPU_FAMILY, FEATURE_KEYS, Experiment, canonical_json, hub_slug

# The resource family of every rule that runs as a cluster job (the config's `resources` section;
# fetch_model and fetch_dataset are local rules: downloads run where the internet is).
RULE_FAMILIES = {
    "pretrain_mlm": "pretrain",
    "train_intermediate": "intermediate",
    "train_target": "target",
    "evaluate_target": "evaluate",
    "evaluate_retrieval": "retrieval",
    "synthesize_world": CPU_FAMILY,
    "synthetic_xglue": CPU_FAMILY,
    "random_init": CPU_FAMILY,
    "truncate_model": CPU_FAMILY,
    "collect_scores": CPU_FAMILY,
    "transfer_matrix_table": CPU_FAMILY,
    "transfer_matrix_figure": CPU_FAMILY,
    "language_tables": CPU_FAMILY,
    "statistics": CPU_FAMILY,
    "published_comparison": CPU_FAMILY,
    "task_category": CPU_FAMILY,
    "language_figures": CPU_FAMILY,
    "low_resource": CPU_FAMILY,
    "scale": CPU_FAMILY,
    "order": CPU_FAMILY,
    "mixed_language": CPU_FAMILY,
}
# The research-question analyses beside task_category (report.analyses): name -> extra tables they write
RQ_ANALYSES = {"low_resource": ["languages"], "scale": [], "order": [], "mixed_language": []}
# Every job of a GPU family takes one slot of the job (or group of jobs) SLURM runs it in.  The slurm
# profile gives each submission one slot (`resources: group_slot=1`, scope local), so that Snakemake
# sizes a group of evaluations as jobs run one after another -- as the jobstep executor runs them --
# and a group of GPU evaluations asks for one GPU, not one per job (slurm/README.md).
GROUP_SLOT = "group_slot"


class Plan:
    def __init__(self, exp: Experiment):
        self.exp = exp
        self.out = exp.out

    # ------------------------------------------------------------------ cluster resources

    def rule_resources(self, rule: str) -> dict:
        """The resources a rule declares: name -> the value every job of the rule asks for, or None
        where it differs between jobs (``runtime`` always: it grows with the attempt).  A value the
        rule's jobs can share is declared as a constant, which keeps the dry run of a large grid
        fast; ``gpu_model`` is declared only where some job of the rule names one."""
        family = RULE_FAMILIES[rule]
        keys = {"intermediate": [self._intermediate_key(p) for p, spec in self.exp.pipelines.items() if spec.trains],
                "target": list(self.exp.train_chains), "evaluate": list(self.exp.trained_targets)}.get(family, [None])  # fmt: skip
        jobs = [self._resources(family, model, key, 1) for model in self.exp.models for key in keys or [None]]
        out = {}
        for name in jobs[0]:
            values = {job[name] for job in jobs}
            if name == "gpu_model" and values == {None}:
                continue  # no job names a GPU model
            out[name] = values.pop() if len(values) == 1 and name != "runtime" else None
        return out

    def resources(self, rule: str, wildcards=None, attempt: int = 1) -> dict:
        """Snakemake resources of one job of ``rule`` (its wildcards, a mapping): ``gpu``,
        ``cpus_per_gpu``, ``mem_mb``, ``runtime`` (minutes, times the attempt: a retried job asks for
        more), ``group_slot`` and ``gpu_model`` (None: no GPU model named, or a CPU job).  ``cpu``
        jobs have only ``mem_mb`` and ``runtime``: they never ask for a GPU."""
        family = RULE_FAMILIES[rule]
        wildcards = wildcards or {}
        key = self._intermediate_key(wildcards["pipeline"]) if family == "intermediate" else wildcards.get("train_task")
        return dict(self._resources(family, wildcards.get("model"), key, attempt))

    def processes(self, model: str) -> int:
        """Processes of each training job of a model: one per GPU (``resources.models.{model}.gpus``)."""
        return int(self.exp.resources.get("models", {}).get(model, {}).get("gpus", 1))

    def launcher(self, model: str) -> str:
        """How a training job starts: plain python, or torchrun with one process per GPU (DDP through
        Accelerate; on CPU the gloo backend, which the test suite runs with two processes)."""
        n = self.processes(model)
        if n == 1:
            return "python"
        # torchrun forwards SIGTERM (SLURM's preemption and time-limit warning) to every process, which
        # saves its state; it waits TORCH_ELASTIC_SHUTDOWN_TIMEOUT seconds (default 30) before SIGKILL,
        # too short for a large model's state (its --shutdown-timeout flag is newer than torch 2.4)
        return f"TORCH_ELASTIC_SHUTDOWN_TIMEOUT=600 python -m torch.distributed.run --standalone --nproc_per_node {n}"

    def _intermediate_key(self, pipeline: str) -> str:
        """A pipeline's entry in ``resources.intermediate.pipelines``: its own, else its last stage's."""
        table = self.exp.resources.get("intermediate", {}).get("pipelines", {})
        return pipeline if pipeline in table else self.intermediate_stage(pipeline).name

    @functools.lru_cache(maxsize=None)  # noqa: B019 - one Plan per workflow; a rule asks once per resource
    def _resources(self, family: str, model: str | None, key: str | None, attempt: int) -> dict:
        r = self.exp.job_resources(family, model, key)
        if family == CPU_FAMILY:
            return {"mem_mb": r.mem_mb, "runtime": r.runtime_at(attempt)}
        return {"gpu": r.gpu, "cpus_per_gpu": r.cpus_per_gpu, "mem_mb": r.mem_mb, "runtime": r.runtime_at(attempt),
                GROUP_SLOT: 1, "gpu_model": r.gpu_model}  # fmt: skip

    # ------------------------------------------------------------------ paths

    def base_encoder(self, model: str) -> str:
        """A file inside the base encoder's directory (the rules' handle on it)."""
        m = self.exp.models[model]
        if m.source == "local":
            return f"{m.path.rstrip('/')}/config.json"
        if m.source == "hub":
            return f"{self.exp.resources_dir}/models/{hub_slug(m)}/checkpoint.json"
        return f"{self.out}/models/{model}/base/checkpoint.json"

    def intermediate(self, model, pipeline, seed) -> str:
        if self.exp.pipelines[pipeline].kind == "none":
            return self.base_encoder(model)
        return f"{self.out}/models/{model}/{pipeline}/seed{seed}/checkpoint.json"

    def target(self, model, pipeline, train_task, seed) -> str:
        return f"{self.out}/models/{model}/{pipeline}/{train_task}/seed{seed}/checkpoint.json"

    def metrics(self, model, pipeline, train_task, seed) -> str:
        return f"{self.out}/metrics/{model}/{pipeline}/{train_task}/seed{seed}.json"

    def retrieval_tag(self, pipeline, seed) -> str:
        """The ``none`` row of a retrieval task does not depend on the seed: computed once."""
        return "base" if self.exp.pipelines[pipeline].kind == "none" else f"seed{seed}"

    def retrieval_metrics(self, model, pipeline, seed) -> str:
        return f"{self.out}/metrics/{model}/{pipeline}/retrieval/{self.retrieval_tag(pipeline, seed)}.json"

    def synthetic_world(self) -> str:
        return f"{self.out}/data/synthetic/world.json"

    def synthetic_xglue(self) -> str:
        """The synthetic world written as XGLUE release files (a task's root may point here)."""
        return f"{self.out}/data/synthetic_xglue/manifest.json"

    def fetch_inputs(self, task_name: str) -> list[str]:
        """A release task read from files the workflow writes (the synthetic world in XGLUE's layout)."""
        root = self.exp.tasks[task_name].root
        made = os.path.dirname(self.synthetic_xglue())
        return [self.synthetic_xglue()] if root and os.path.normpath(root) == os.path.normpath(made) else []

    def synthetic_xglue_params(self) -> str:
        from xstilts.data.synthetic import LANGUAGES

        return canonical_json({"languages": list(LANGUAGES)})

    # ------------------------------------------------------------------ extra intermediate data

    @staticmethod
    def _key(prefix: str, spec) -> str:
        digest = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]
        return f"{prefix.replace('/', '--')}-{digest}"

    def corpus_key(self, mlm: dict) -> str:
        """The folder a Hub corpus is fetched into: named by its id, keyed by what is fetched."""
        corpus = mlm["corpus"]
        return self._key(corpus["hub"], {**corpus, "lines": mlm["lines_per_language"]})

    def corpus_files(self, mlm: dict) -> dict[str, str]:
        """language -> the text file the MLM examples of that language are read from."""
        corpus = mlm["corpus"]
        if corpus.get("synthetic"):
            root = f"{self.out}/data/synthetic/corpus"
        elif corpus.get("path"):
            root = corpus["path"].rstrip("/")
        else:
            root = f"{self.exp.resources_dir}/corpora/{self.corpus_key(mlm)}"
        return {lang: f"{root}/{lang}.txt" for lang in mlm["languages"]}

    def corpus_inputs(self, mlm: dict) -> list[str]:
        if mlm["corpus"].get("synthetic"):
            return [self.synthetic_world()]
        return sorted(self.corpus_files(mlm).values())

    def hub_corpora(self) -> dict[str, dict]:
        """corpus key -> the MLM spec of every Hub corpus some pipeline mixes in (rule fetch_corpus)."""
        out = {}
        for p in self.exp.pipelines.values():
            mlm = p.mlm_spec()
            if mlm and mlm["corpus"].get("hub"):
                key = self.corpus_key(mlm)
                out.setdefault(key, {**mlm, "languages": []})
                out[key]["languages"] = sorted(set(out[key]["languages"]) | set(mlm["languages"]))
        return out

    def fetch_corpus_params(self, key: str, lang: str) -> str:
        mlm = self.hub_corpora()[key]
        return canonical_json({"corpus": mlm["corpus"], "lang": lang, "lines": mlm["lines_per_language"]})

    def translation_key(self, task: str, lang: str, spec: dict) -> str:
        return self._key(f"{task}.{lang}", spec)

    def translation_file(self, task: str, lang: str, src) -> str:
        """The JSONL file of one machine-translated copy of a task's training data."""
        if isinstance(src, dict):
            return f"{self.exp.resources_dir}/translations/{self.translation_key(task, lang, src)}.jsonl"
        if src.endswith(".jsonl"):
            return src
        return f"{src.rstrip('/')}/{task}/train/{lang}.jsonl"

    def hub_translations(self) -> dict[str, dict]:
        """translation key -> {task, lang, source} for every Hub translation (rule fetch_translation)."""
        out = {}
        for p in self.exp.pipelines.values():
            for lang, src in p.translation_sources().items():
                if isinstance(src, dict):
                    for task in p.tasks:
                        out[self.translation_key(task, lang, src)] = {"task": task, "lang": lang, "source": src}
        return out

    def fetch_translation_params(self, key: str) -> str:
        t = self.hub_translations()[key]
        task = self.exp.tasks[t["task"]]
        return canonical_json({"task": task_to_dict(task), "lang": t["lang"], "source": t["source"], "on_bad_row": self.exp.on_bad_row})

    def data_root(self, task: Task) -> str:
        if task.source == "local":
            return task.root.rstrip("/")
        if task.source == "synthetic":
            return f"{self.out}/data/synthetic"
        return f"{self.exp.resources_dir}/data"

    def data_inputs(self, task: Task, split: str, languages) -> list[str]:
        """Declared input files for reading ``split`` of a task in ``languages``."""
        if task.source == "local":
            files = [f"{self.data_root(task)}/{task.name}/{split}/{lang}.jsonl" for lang in languages]
            # model selection uses English validation data when the task has it
            return [f for f in files if split != "validation" or os.path.exists(f)]
        if task.source == "synthetic":
            return [self.synthetic_world()]
        return [f"{self.exp.resources_dir}/data/{task.name}/manifest.json"]

    # ------------------------------------------------------------------ the grid

    def all_metrics(self) -> list[str]:
        exp, files = self.exp, []
        for model in exp.models:
            for pipeline in exp.model_pipelines(model):
                for seed in exp.seeds:
                    for train_task in exp.trained_targets:
                        files.append(self.metrics(model, pipeline, train_task, seed))
                    if exp.retrieval_targets:
                        files.append(self.retrieval_metrics(model, pipeline, seed))
        return sorted(set(files))

    def all_predictions(self) -> list[str]:
        """The per-example predictions beside every metrics file (the statistics' input)."""
        return [f"{self.out}/predictions/{m[len(self.out) + len('/metrics/'):].removesuffix('.json')}.jsonl.gz" for m in self.all_metrics()]

    def task_category_params(self) -> str:
        """The task-category analysis: each single-task pipeline's intermediate category and each
        target's group (syntactic or semantic), from the task registry and the config's overrides."""
        exp = self.exp
        override = exp.task_category
        categories = {n: intermediate_category(exp.tasks[p.tasks[0]]) for n, p in exp.pipelines.items()
                      if p.kind == "single" and not p.mlm and not p.translations}  # fmt: skip
        categories.update({k: v for k, v in override.get("categories", {}).items() if k in categories})
        groups = {t.name: override.get("groups", {}).get(t.name, t.category) for t in exp.targets}
        groups = {t: g for t, g in groups.items() if g in ("syntactic", "semantic")}
        return canonical_json({"categories": categories, "groups": groups, **exp.table,
                               **{k: exp.figure[k] for k in ("dpi", "cmap", "font_scale")}})  # fmt: skip

    def analysis_params(self, name: str) -> str:
        """The params of a research-question analysis (report.analyses): what it compares, the table
        and figure settings."""
        exp = self.exp
        cfg = exp.analysis_cfg[name]
        spec = {"baseline": cfg.get("baseline", "none")}
        if name == "low_resource":
            langs = {lang for t in exp.targets for lang in t.languages}
            spec |= {"classes": {lang: c for lang, c in cfg["classes"].items() if lang in langs}, "pipelines": cfg.get("pipelines")}
        elif name == "scale":
            from xstilts.workflow.model_size import params_of

            spec |= {"params_millions": {m: round(params_of(exp, m) / 1e6, 3) for m in exp.models}, "pipelines": cfg.get("pipelines")}
        elif name == "order":
            spec |= {"comparisons": cfg["comparisons"]}
        elif name == "mixed_language":
            rows = {p: exp.pipelines[p] for p in cfg["pipelines"]}
            spec |= {"ratios": {p: r.translation_ratio or 0.0 for p, r in rows.items()},
                     "data": {p: "+".join(r.tasks) for p, r in rows.items()},  # one curve over the ratio per intermediate data
                     "translated": {p: sorted(lang for lang, _ in r.translations) for p, r in rows.items()}}
        return canonical_json({**spec, **exp.table, **{k: exp.figure[k] for k in ("dpi", "cmap", "font_scale")}})

    def model_ids(self) -> dict[str, str]:
        """model name -> Hub id, for the models that come from the Hub (the published-numbers table)."""
        return {name: m.id for name, m in self.exp.models.items() if m.source == "hub"}

    # ------------------------------------------------------------------ params

    def _model_params(self, model: str) -> dict:
        m = self.exp.models[model]
        out = {"dtype": m.dtype, "pooling": m.pooling, "encoder_module": m.encoder_module}
        if m.attn_implementation:  # only when set, so that existing jobs keep their params
            out["attn_implementation"] = m.attn_implementation
        return out

    def _train_spec(self, task: Task, languages, cap) -> dict:
        return {"root": self.data_root(task), "train_languages": list(languages), "cap": cap}

    def intermediate_stage(self, pipeline: str):
        """The single/multitask pipeline whose tasks this intermediate job trains on."""
        p = self.exp.pipelines[pipeline]
        return self.exp.pipelines[p.stages[-1]] if p.kind == "sequence" else p

    def intermediate_inputs(self, model, pipeline, seed) -> dict:
        p = self.exp.pipelines[pipeline]
        stage = self.intermediate_stage(pipeline)
        parent = p.parent()
        init = self.intermediate(model, parent, seed) if parent else self.base_encoder(model)
        data = []
        for name in stage.tasks:
            t = self.exp.tasks[name]
            data += self.data_inputs(t, "train", ["en"]) + self.data_inputs(t, "validation", ["en"])
            data += [self.translation_file(name, lang, src) for lang, src in stage.translation_sources().items()]
        mlm = stage.mlm_spec()
        if mlm:
            data += self.corpus_inputs(mlm)
        return {"init": init, "data": sorted(set(data))}

    def intermediate_params(self, model, pipeline, seed) -> str:
        exp = self.exp
        p = exp.pipelines[pipeline]
        stage = self.intermediate_stage(pipeline)
        tasks = [exp.tasks[n] for n in stage.tasks]
        caps = dict(stage.caps)
        if stage.kind == "multitask":
            hp = exp.hparams("intermediate", tasks[0].name, stage.name)
            task_hp = {t.name: {k: exp.hparams("intermediate", t.name, stage.name)[k] for k in FEATURE_KEYS} for t in tasks}
        else:
            hp = exp.hparams("intermediate", tasks[0].name, stage.name)
            task_hp = {}
        data = {}
        for t in tasks:
            cap = _min(caps.get(t.name), {**hp, **task_hp.get(t.name, {})}["max_train_examples"])
            data[t.name] = self._train_spec(t, ["en"], cap)
            translations = stage.translation_sources()
            if translations:  # machine-translated copies, each capped like the English data
                data[t.name]["translations"] = {lang: self.translation_file(t.name, lang, src) for lang, src in translations.items()}
                if stage.translation_ratio is not None:  # mixed at a ratio, the total staying the English rows'
                    data[t.name]["translation_ratio"] = stage.translation_ratio
        mlm = stage.mlm_spec()
        if mlm:
            mlm = {k: mlm[k] for k in ("ratio", "mask_prob", "max_length", "lines_per_language", "languages")} | {
                "files": self.corpus_files(mlm)}
        return canonical_json({
            "phase": "intermediate",
            "pipeline": {"name": pipeline, "kind": p.kind, "stage": stage.name},
            "tasks": [task_to_dict(t, training=True) for t in tasks],
            "hparams": hp,
            "task_hparams": task_hp,
            "data": data,
            "seed": seed,
            "model": self._model_params(model),
            "from_base": p.parent() is None,
            "on_bad_row": exp.on_bad_row,
            **({"mlm": mlm} if mlm else {}),
        })  # fmt: skip

    def target_train_languages(self, train_task: str, pipeline: str | None = None) -> list[str]:
        """English only in the zero-shot regime; with ``regime: multilingual`` (``train.target`` or the
        pipeline's ``target``) also every language of the benchmarks scored from this model (the job
        uses those that have training data)."""
        hp = self.exp.hparams("target", train_task, pipeline)
        if hp["regime"] == "english":
            return ["en"]
        langs = {lang for b in self.exp.trained_targets.get(train_task, []) for lang in b.languages}
        return ["en"] + sorted(langs - {"en"})

    def previous_stage(self, train_task: str) -> str | None:
        """The task a target job continues from (``train_first``), or None: it starts from the encoder."""
        chain = self.exp.train_chains[train_task]
        return chain[-2] if len(chain) > 1 else None

    def target_init(self, model, pipeline, train_task, seed) -> str:
        before = self.previous_stage(train_task)
        return self.target(model, pipeline, before, seed) if before else self.intermediate(model, pipeline, seed)

    def target_inputs(self, model, pipeline, train_task, seed) -> dict:
        t = self.exp.tasks[train_task]
        data = self.data_inputs(t, "validation", ["en"])
        langs = self.target_train_languages(train_task, pipeline)
        data += self.data_inputs(t, "train", ["en"]) if t.source == "local" else self.data_inputs(t, "train", langs)
        init = self.target_init(model, pipeline, train_task, seed)
        out = {"init": init, "data": sorted(set(data))}
        if self.previous_stage(train_task):  # declared so that temporary weights live until this job has read them
            out |= {"init_weights": f"{os.path.dirname(init)}/model.safetensors", "init_heads": f"{os.path.dirname(init)}/heads.safetensors"}
        return out

    def target_params(self, model, pipeline, train_task, seed) -> str:
        exp = self.exp
        t = exp.tasks[train_task]
        hp = exp.hparams("target", train_task, pipeline)
        before = self.previous_stage(train_task)
        return canonical_json({
            "phase": "target",
            "tasks": [task_to_dict(t, training=True)],
            "hparams": hp,
            "task_hparams": {},
            "data": {t.name: self._train_spec(t, self.target_train_languages(train_task, pipeline), hp["max_train_examples"])},
            "seed": seed,
            "model": self._model_params(model),
            "from_base": exp.pipelines[pipeline].kind == "none" and before is None,
            "on_bad_row": exp.on_bad_row,
            **({"init_head": before} if before else {}),  # the previous stage's head is carried over
        })  # fmt: skip

    def _benchmarks(self, tasks: list[Task]) -> list[dict]:
        out = []
        for b in tasks:
            ev = self.exp.eval_params(b.name)
            out.append({
                "task": task_to_dict(b), "root": self.data_root(b), "split": b.eval_split,
                "splits": {lang: b.eval_split_overrides.get(lang, b.eval_split) for lang in b.languages},
                "languages": list(b.languages), "max_examples": ev["max_examples"],
            })  # fmt: skip
        return out

    def evaluate_inputs(self, model, pipeline, train_task, seed) -> dict:
        data = []
        for b in self.exp.trained_targets[train_task]:
            for lang in b.languages:
                data += self.data_inputs(b, b.eval_split_overrides.get(lang, b.eval_split), [lang])
        ckpt = self.target(model, pipeline, train_task, seed)
        weights = os.path.dirname(ckpt)  # declared so that temporary weights (train.target_checkpoints) live until evaluated
        return {"checkpoint": ckpt, "weights": f"{weights}/model.safetensors", "heads": f"{weights}/heads.safetensors",
                "data": sorted(set(data))}  # fmt: skip

    def evaluate_params(self, model, pipeline, train_task, seed) -> str:
        benchmarks = self.exp.trained_targets[train_task]
        return canonical_json({
            "identity": {"model": model, "pipeline": pipeline, "train_task": train_task, "seed": seed},
            "train_task": train_task,
            "benchmarks": self._benchmarks(benchmarks),
            "batch_size": self.exp.eval_params(train_task)["batch_size"],
            "on_bad_row": self.exp.on_bad_row,
        })  # fmt: skip

    def retrieval_inputs(self, model, pipeline, seed) -> dict:
        data = []
        for b in self.exp.retrieval_targets:
            for lang in b.languages:
                data += self.data_inputs(b, b.eval_split_overrides.get(lang, b.eval_split), [lang])
        return {"encoder": self.intermediate(model, pipeline, seed), "data": sorted(set(data))}

    def retrieval_params(self, model, pipeline, seedtag: str) -> str:
        exp = self.exp
        m = exp.models[model]
        ev = exp.eval_params(exp.retrieval_targets[0].name) if exp.retrieval_targets else exp.eval_params("")
        return canonical_json({
            "identity": {"model": model, "pipeline": pipeline, "seed": None if seedtag == "base" else int(seedtag[4:])},
            "benchmarks": self._benchmarks(exp.retrieval_targets),
            "layer": m.retrieval_layer,
            "max_length": ev["max_length"],
            "batch_size": ev["batch_size"],
            "dtype": m.dtype,
            "encoder_module": m.encoder_module,
            "from_base": exp.pipelines[pipeline].kind == "none",
            "on_bad_row": exp.on_bad_row,
        })  # fmt: skip

    def fetch_params(self, task_name: str) -> str:
        """A Hub dataset at a pinned revision, or release files read from a local path."""
        t = self.exp.tasks[task_name]
        return canonical_json({
            "task": task_to_dict(t), "source": t.source, "root": t.root, "hub": t.hub,
            "languages": list(t.languages), "on_bad_row": self.exp.on_bad_row,
        })  # fmt: skip

    def pretrain_params(self, model: str) -> str:
        return canonical_json(self.exp.models[model].pretrain)

    def synthesize_params(self) -> str:
        return canonical_json(self.exp.synthetic)


def intermediate_category(task: Task) -> str:
    """A task's category as an intermediate task: the registry's, or, for a task registered as a
    target (category syntactic/semantic, e.g. XNLI's English data used for intermediate training),
    the category its format and labels imply."""
    if task.category not in ("syntactic", "semantic"):
        return task.category
    from xstilts.data.registry import NLI_LABELS, PARAPHRASE_LABELS

    if task.format == "classification" and task.labels == NLI_LABELS:
        return "nli"
    if task.format == "classification" and task.labels == PARAPHRASE_LABELS:
        return "paraphrase"
    return {"span_qa": "extractive_qa", "multiple_choice": "commonsense_mc", "tagging": "syntactic_tagging"}.get(task.format, task.category)


def _min(*values):
    values = [v for v in values if v is not None]
    return min(values) if values else None
