# Shared settings of the rules.  Jobs run `python -m xstilts.jobs COMMAND --params JSON ...`;
# params hold exactly the settings a job uses (canonical JSON, so key order never triggers a
# rerun).  Library code under src/ is not tracked by Snakemake: after editing it, force the jobs
# it affects with `--forcerun RULE` (every metrics file records the code version that made it).

os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (os.path.join(workflow.basedir, "src"), os.environ.get("PYTHONPATH")) if p
)
JOBS = "python -m xstilts.jobs"
ENV_TRAIN = "../../envs/train.yaml"
ENV_DATA = "../../envs/data.yaml"
ENV_REPORT = "../../envs/report.yaml"


def model_alternatives(*sources):
    return _alternatives([m for m, spec in EXP.models.items() if spec.source in sources])


def trained_pipelines():
    return _alternatives([p for p, spec in EXP.pipelines.items() if spec.trains])


def seed_of(wildcards):
    return int(wildcards.seed)
