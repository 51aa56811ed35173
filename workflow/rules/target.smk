# Target fine-tuning on English training data (zero-shot regime) from the intermediate encoder,
# with a fresh head.  Checkpoints are keyed by the training task: XQuAD and MLQA are both scored
# from one SQuAD-trained model.


rule train_target:
    input:
        unpack(lambda wc: PLAN.target_inputs(wc.model, wc.pipeline, wc.train_task, seed_of(wc))),
    output:
        meta=f"{OUT}/models/{{model}}/{{pipeline}}/{{train_task}}/seed{{seed}}/checkpoint.json",
        # the weights may be temporary (train.target_checkpoints); checkpoint.json, with the training
        # record, always stays
        weights=maybe_temp(f"{OUT}/models/{{model}}/{{pipeline}}/{{train_task}}/seed{{seed}}/model.safetensors"),
        heads=maybe_temp(f"{OUT}/models/{{model}}/{{pipeline}}/{{train_task}}/seed{{seed}}/heads.safetensors"),
    params:
        spec=lambda wc: PLAN.target_params(wc.model, wc.pipeline, wc.train_task, seed_of(wc)),
        # python, or torchrun with one process per GPU (resources.models.{model}.gpus)
        launcher=lambda wc: PLAN.launcher(wc.model),
    threads: 1
    resources:
        **rule_resources("train_target"),
    log:
        f"{OUT}/logs/target/{{model}}/{{pipeline}}/{{train_task}}/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/target/{{model}}/{{pipeline}}/{{train_task}}/seed{{seed}}.tsv"
    conda:
        ENV_TRAIN
    shell:
        "{params.launcher} \"$XSTILTS_SCRIPTS/train_model.py\" --params {params.spec:q} --init {input.init:q} --out {output.meta:q} "
        "--threads {threads} > {log:q} 2>&1"
