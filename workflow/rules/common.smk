import re
import shlex

# Shared settings of the rules.  Every rule runs one thin entry script of workflow/scripts/ from
# `shell:` (`python "$XSTILTS_SCRIPTS/NAME.py" --params JSON --in/--out paths`), which calls the
# library under src/xstilts.  params hold exactly the settings a job uses (canonical JSON, so key
# order never triggers a rerun).  Neither the scripts nor the library are tracked by Snakemake: the
# shell text (Snakemake's `code` rerun trigger) names the script through $XSTILTS_SCRIPTS, set in the
# shell prefix below, so it is the same wherever the checkout is.  After editing code, force the jobs
# it affects with `--forcerun RULE` (every metrics file records the code version that made it).
SCRIPTS = os.path.join(workflow.basedir, "workflow", "scripts")

# Jobs import the package from this checkout's src/ (also when it is not pip-installed, as in a
# conda environment built by --software-deployment-method conda); the tokenisation cache location
# is an environment variable, not a param, so moving the cache never reruns a job; so is how often
# training saves its resumable state (train.save_every).
shell.prefix(
    f"export PYTHONPATH={shlex.quote(os.path.join(workflow.basedir, 'src'))}${{{{PYTHONPATH:+:$PYTHONPATH}}}} "
    f"XSTILTS_SCRIPTS={shlex.quote(SCRIPTS)} "
    f"XSTILTS_CACHE_DIR={shlex.quote(EXP.cache_dir)} XSTILTS_SAVE_EVERY={EXP.save_every or ''} "
    # transformers 5 reaches for Hub kernels on CUDA unless told not to: offline GPU nodes fail there
    f"USE_HUB_KERNELS={'1' if EXP.hub_kernels else '0'}; "
    "trap : TERM USR1; "  # bash outlives SIGTERM while a training job saves its state (resume.py)
)


def maybe_temp(path):
    """Target checkpoints are deleted once evaluated when `train.target_checkpoints: temporary`."""
    return temp(path) if EXP.temporary_target_checkpoints else path


def _alternatives(names):
    """A wildcard constraint matching exactly these names (never a slash)."""
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) or "(?!)"


wildcard_constraints:
    model=_alternatives(EXP.models),
    pipeline=_alternatives(EXP.pipelines),
    train_task=_alternatives(EXP.train_chains),
    seed=r"\d+",
    seedtag=r"base|seed\d+",

ENV_TRAIN = "../../envs/train.yaml"
ENV_DATA = "../../envs/data.yaml"
ENV_REPORT = "../../envs/report.yaml"


def model_alternatives(*sources):
    return _alternatives([m for m, spec in EXP.models.items() if spec.source in sources])


def trained_pipelines():
    return _alternatives([p for p, spec in EXP.pipelines.items() if spec.trains])


def seed_of(wildcards):
    return int(wildcards.seed)


def retrieval_seed(wc):
    return 0 if wc.seedtag == "base" else int(wc.seedtag[4:])


def fetched_tasks():
    """Tasks whose data a fetch_dataset job prepares (Hub datasets and release files)."""
    names = {t.name for t in EXP.targets if t.source in ("hub", "release")}
    for p in EXP.pipelines.values():
        names |= {n for n in p.tasks if EXP.tasks[n].source in ("hub", "release")}
    names |= {t for t in EXP.train_chains if EXP.tasks[t].source in ("hub", "release")}  # with train_first stages
    return sorted(names)


HUB_MODELS = {os.path.basename(os.path.dirname(PLAN.base_encoder(m))): m for m, s in EXP.models.items() if s.source == "hub"}


def rule_resources(rule):
    """The `resources:` of a rule, from the config's `resources` section (Plan.rule_resources): a
    value shared by all of the rule's jobs as a constant, the others (runtime always, which grows
    with the attempt) as functions of the job's wildcards and attempt.  Under the slurm profile
    gpu/gpu_model/cpus_per_gpu/mem_mb/runtime become sbatch --gpus, --cpus-per-gpu, --mem and -t."""

    def per_job(name):
        return lambda wildcards, attempt: PLAN.resources(rule, wildcards, attempt)[name]

    return {name: per_job(name) if value is None else value for name, value in PLAN.rule_resources(rule).items()}
