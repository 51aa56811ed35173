# English intermediate training: one model per (model, pipeline, seed), reused by every target.
# A sequence pipeline a+b starts from pipeline a's encoder.


rule train_intermediate:
    input:
        unpack(lambda wc: PLAN.intermediate_inputs(wc.model, wc.pipeline, seed_of(wc))),
    output:
        meta=f"{OUT}/models/{{model}}/{{pipeline}}/seed{{seed}}/checkpoint.json",
        weights=f"{OUT}/models/{{model}}/{{pipeline}}/seed{{seed}}/model.safetensors",
    wildcard_constraints:
        pipeline=trained_pipelines(),
    params:
        spec=lambda wc: PLAN.intermediate_params(wc.model, wc.pipeline, seed_of(wc)),
        # python, or torchrun with one process per GPU (resources.models.{model}.gpus)
        launcher=lambda wc: PLAN.launcher(wc.model),
    threads: 1
    resources:
        **rule_resources("train_intermediate"),
    log:
        f"{OUT}/logs/intermediate/{{model}}/{{pipeline}}/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/intermediate/{{model}}/{{pipeline}}/seed{{seed}}.tsv"
    conda:
        ENV_TRAIN
    shell:
        "{params.launcher} \"$XSTILTS_SCRIPTS/train_model.py\" --params {params.spec:q} --init {input.init:q} --out {output.meta:q} "
        "--threads {threads} > {log:q} 2>&1"
