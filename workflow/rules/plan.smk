# The cost plan: jobs per rule, estimated GPU-hours and checkpoint disk for the configured grid,
# before any of it is spent (`snakemake cost_plan`; not part of `all`).  The same table comes from
# `python -m xstilts.cost --configfile CONFIG` (workflow/scripts/cost_plan.py runs the same).


rule cost_plan:
    output:
        f"{OUT}/plan/cost.md",
    params:
        config=lambda wc: canonical_json(EXP.raw),
    log:
        f"{OUT}/logs/plan/cost_plan.log",
    conda:
        ENV_REPORT
    shell:
        "python \"$XSTILTS_SCRIPTS/cost_plan.py\" --config-json {params.config:q} --out {output:q} > {log:q} 2>&1 && cat {log:q}"


localrules:
    cost_plan,
