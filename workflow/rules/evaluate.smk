# Zero-shot evaluation: one job per trained target model covers every benchmark and language
# scored from it; retrieval benchmarks are scored straight from the base or intermediate encoder
# (the `none` row once, with no seed).


rule evaluate_target:
    input:
        unpack(lambda wc: PLAN.evaluate_inputs(wc.model, wc.pipeline, wc.train_task, seed_of(wc))),
    output:
        metrics=f"{OUT}/metrics/{{model}}/{{pipeline}}/{{train_task}}/seed{{seed}}.json",
        predictions=f"{OUT}/predictions/{{model}}/{{pipeline}}/{{train_task}}/seed{{seed}}.jsonl.gz",
    params:
        spec=lambda wc: PLAN.evaluate_params(wc.model, wc.pipeline, wc.train_task, seed_of(wc)),
    threads: 1
    resources:
        **rule_resources("evaluate_target"),
    # grouped on a cluster (slurm profile: group-components), one GPU per group: slurm/README.md
    group:
        "evaluate"
    log:
        f"{OUT}/logs/evaluate/{{model}}/{{pipeline}}/{{train_task}}/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/evaluate/{{model}}/{{pipeline}}/{{train_task}}/seed{{seed}}.tsv"
    conda:
        ENV_TRAIN
    shell:
        "python \"$XSTILTS_SCRIPTS/evaluate_target.py\" --params {params.spec:q} --checkpoint {input.checkpoint:q} --out {output.metrics:q} "
        "--predictions {output.predictions:q} --threads {threads} > {log:q} 2>&1"


rule evaluate_retrieval:
    input:
        unpack(lambda wc: PLAN.retrieval_inputs(wc.model, wc.pipeline, retrieval_seed(wc))),
    output:
        metrics=f"{OUT}/metrics/{{model}}/{{pipeline}}/retrieval/{{seedtag}}.json",
        predictions=f"{OUT}/predictions/{{model}}/{{pipeline}}/retrieval/{{seedtag}}.jsonl.gz",
    params:
        spec=lambda wc: PLAN.retrieval_params(wc.model, wc.pipeline, wc.seedtag),
    threads: 1
    resources:
        **rule_resources("evaluate_retrieval"),
    group:
        "retrieval"
    log:
        f"{OUT}/logs/evaluate/{{model}}/{{pipeline}}/retrieval/{{seedtag}}.log",
    benchmark:
        f"{OUT}/benchmarks/evaluate/{{model}}/{{pipeline}}/retrieval/{{seedtag}}.tsv"
    conda:
        ENV_TRAIN
    shell:
        "python \"$XSTILTS_SCRIPTS/evaluate_retrieval.py\" --params {params.spec:q} --encoder {input.encoder:q} --out {output.metrics:q} "
        "--predictions {output.predictions:q} --threads {threads} > {log:q} 2>&1"
