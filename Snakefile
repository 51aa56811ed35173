# xstilts: English intermediate-task training and zero-shot cross-lingual transfer (X-STILTs).
#
#   snakemake --cores 2 --configfile config/tiny.yaml     # the offline tiny experiment
#   snakemake --profile slurm                              # the paper grid (config.yaml) on SLURM
#
# The config is validated before any job starts (config/schema.yaml plus name checks in
# xstilts.workflow.config).  Rules: workflow/rules/ (one .smk per stage); each runs one entry script of
# workflow/scripts/, which calls the library in src/xstilts/.  config.yaml is read only when no --configfile is given, so a preset never
# inherits the paper grid's models, pipelines or tasks.

import os
import sys

sys.path.insert(0, os.path.join(workflow.basedir, "src"))

from xstilts.common.errors import XstiltsError
from xstilts.modelling.model_files import check_model_dir
from xstilts.workflow.config import Experiment, canonical_json, load_yaml
from xstilts.workflow.model_size import check_retrieval_layers
from xstilts.workflow.plan import RQ_ANALYSES, Plan

if not config:
    config.update(load_yaml(os.path.join(workflow.basedir, "config.yaml")))
try:
    EXP = Experiment(config)
except XstiltsError as e:
    sys.exit(f"xstilts: {e}")
try:  # a local model is checked whole before any job is planned: config, weights, tokenizer files
    for _name, _model in EXP.models.items():
        if _model.source == "local":
            check_model_dir(_model.path, f"config key 'models.{_name}.path'")
    check_retrieval_layers(EXP)  # a hidden state the model has, known now for all but unfetched Hub models
except XstiltsError as e:
    sys.exit(f"xstilts: {e}")
PLAN = Plan(EXP)
OUT = EXP.out


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/intermediate.smk"
include: "workflow/rules/target.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/plan.smk"


rule all:
    input:
        PLAN.all_metrics(),
        REPORT_OUTPUTS,
    default_target: True
