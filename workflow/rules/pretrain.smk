# Base encoders: downloaded from the Hub (login node), pretrained by masked-LM on the synthetic
# corpus, randomly initialised like another model (the control of the tiny preset), or another
# model cut to its first layers (smaller models of one family, for the scale question).


rule pretrain_mlm:
    input:
        world=PLAN.synthetic_world(),
    output:
        meta=f"{OUT}/models/{{model}}/base/checkpoint.json",
        weights=f"{OUT}/models/{{model}}/base/model.safetensors",
    wildcard_constraints:
        model=model_alternatives("pretrain"),
    params:
        spec=lambda wc: PLAN.pretrain_params(wc.model),
        corpus=lambda wc, input: os.path.join(os.path.dirname(input.world), "corpus"),
    threads: lambda wildcards: workflow.cores  # a function: `snakemake --unlock` needs no --cores
    resources:
        **rule_resources("pretrain_mlm"),
    log:
        f"{OUT}/logs/pretrain/{{model}}.log",
    benchmark:
        f"{OUT}/benchmarks/pretrain/{{model}}.tsv"
    conda:
        ENV_TRAIN
    shell:
        "python \"$XSTILTS_SCRIPTS/pretrain_mlm.py\" --params {params.spec:q} --corpus-dir {params.corpus:q} --threads {threads} "
        "--out {output.meta:q} > {log:q} 2>&1"


rule random_init:
    input:
        like=lambda wc: PLAN.base_encoder(EXP.models[wc.model].like),
    output:
        meta=f"{OUT}/models/{{model}}/base/checkpoint.json",
        weights=f"{OUT}/models/{{model}}/base/model.safetensors",
    wildcard_constraints:
        model=model_alternatives("random"),
    params:
        spec='{"seed":0}',
    resources:
        **rule_resources("random_init"),
    log:
        f"{OUT}/logs/pretrain/{{model}}.log",
    conda:
        ENV_TRAIN
    shell:
        "python \"$XSTILTS_SCRIPTS/random_init.py\" --params {params.spec:q} --like {input.like:q} --out {output.meta:q} > {log:q} 2>&1"


rule truncate_model:
    """A smaller model of one family (the scale question): the first `layers` layers of `like`."""
    input:
        like=lambda wc: PLAN.base_encoder(EXP.models[wc.model].like),
    output:
        meta=f"{OUT}/models/{{model}}/base/checkpoint.json",
        weights=f"{OUT}/models/{{model}}/base/model.safetensors",
    wildcard_constraints:
        model=model_alternatives("truncated"),
    params:
        spec=lambda wc: canonical_json({"layers": EXP.models[wc.model].layers}),
    resources:
        **rule_resources("truncate_model"),
    log:
        f"{OUT}/logs/pretrain/{{model}}.log",
    conda:
        ENV_TRAIN
    shell:
        "python \"$XSTILTS_SCRIPTS/truncate_model.py\" --params {params.spec:q} --like {input.like:q} --out {output.meta:q} > {log:q} 2>&1"


rule fetch_model:
    output:
        f"{EXP.resources_dir}/models/{{slug}}/checkpoint.json",
    wildcard_constraints:
        slug=_alternatives(HUB_MODELS),
    params:
        spec=lambda wc: canonical_json({"id": EXP.models[HUB_MODELS[wc.slug]].id, "revision": EXP.models[HUB_MODELS[wc.slug]].revision}),
    log:
        f"{EXP.resources_dir}/logs/fetch_model/{{slug}}.log",
    conda:
        ENV_DATA
    shell:
        "python \"$XSTILTS_SCRIPTS/fetch_model.py\" --params {params.spec:q} --out {output:q} > {log:q} 2>&1"


localrules:
    fetch_model,
