# Data: the synthetic world of the tiny preset.  Local tasks are read where they are
# ({root}/{task}/{split}/{lang}.jsonl); their files are declared inputs of the jobs that read them.


rule synthesize_world:
    output:
        f"{OUT}/data/synthetic/world.json",
    params:
        spec=PLAN.synthesize_params(),
    resources:
        **rule_resources("synthesize_world"),
    log:
        f"{OUT}/logs/data/synthesize_world.log",
    conda:
        ENV_DATA
    shell:
        "python \"$XSTILTS_SCRIPTS/synthesize_world.py\" --params {params.spec:q} --out {output:q} > {log:q} 2>&1"


rule synthetic_xglue:
    """The synthetic world's POS, NC and MLQA tasks written as XGLUE release files, so that XGLUE's
    readers run end to end offline (config/rq/order-tiny.yaml)."""
    input:
        world=PLAN.synthetic_world(),
    output:
        PLAN.synthetic_xglue(),
    params:
        spec=PLAN.synthetic_xglue_params(),
    resources:
        **rule_resources("synthetic_xglue"),
    log:
        f"{OUT}/logs/data/synthetic_xglue.log",
    conda:
        ENV_DATA
    shell:
        "python \"$XSTILTS_SCRIPTS/synthetic_xglue.py\" --params {params.spec:q} --world {input.world:q} --out {output:q} > {log:q} 2>&1"


rule fetch_dataset:
    input:
        lambda wc: PLAN.fetch_inputs(wc.task),
    output:
        f"{EXP.resources_dir}/data/{{task}}/manifest.json",
    wildcard_constraints:
        task=_alternatives(fetched_tasks()),
    params:
        spec=lambda wc: PLAN.fetch_params(wc.task),
    log:
        f"{EXP.resources_dir}/logs/fetch_dataset/{{task}}.log",
    conda:
        ENV_DATA
    shell:
        "python \"$XSTILTS_SCRIPTS/fetch_dataset.py\" --params {params.spec:q} --out {output:q} > {log:q} 2>&1"


rule fetch_corpus:
    """A multilingual text corpus from the Hub for masked-LM mixed into intermediate training
    (pipeline key `mlm`): the first lines of one language's config, one text per line."""
    output:
        f"{EXP.resources_dir}/corpora/{{corpus}}/{{lang}}.txt",
    wildcard_constraints:
        corpus=_alternatives(PLAN.hub_corpora()),
        lang=r"[A-Za-z0-9_-]+",
    params:
        spec=lambda wc: PLAN.fetch_corpus_params(wc.corpus, wc.lang),
    log:
        f"{EXP.resources_dir}/logs/fetch_corpus/{{corpus}}/{{lang}}.log",
    conda:
        ENV_DATA
    shell:
        "python \"$XSTILTS_SCRIPTS/fetch_corpus.py\" --params {params.spec:q} --out {output:q} > {log:q} 2>&1"


rule fetch_translation:
    """A machine-translated copy of an intermediate task's training data from the Hub (pipeline
    key `translations`), converted like the English task's Hub rows."""
    output:
        f"{EXP.resources_dir}/translations/{{translation}}.jsonl",
    wildcard_constraints:
        translation=_alternatives(PLAN.hub_translations()),
    params:
        spec=lambda wc: PLAN.fetch_translation_params(wc.translation),
    log:
        f"{EXP.resources_dir}/logs/fetch_translation/{{translation}}.log",
    conda:
        ENV_DATA
    shell:
        "python \"$XSTILTS_SCRIPTS/fetch_translation.py\" --params {params.spec:q} --out {output:q} > {log:q} 2>&1"


# Downloads run where the internet is: on a cluster's login node, not on compute nodes.
localrules:
    fetch_dataset,
    fetch_corpus,
    fetch_translation,
