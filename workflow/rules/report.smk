# Aggregation: the long score table (input of every analysis), the main table (the transfer
# matrix), per-language tables, statistics over the per-example predictions, our numbers beside
# published ones, and the heatmap.  Each is its own rule, so that a plotting option reruns only the
# figure.  `snakemake --report report.html` gathers them with the captions in workflow/report/.

TABLES = f"{OUT}/tables"
TARGETS = [t.name for t in EXP.targets]
REPORT_OUTPUTS = [
    f"{TABLES}/transfer_matrix.csv",
    f"{TABLES}/transfer_matrix.md",
    f"{TABLES}/transfer_matrix.tex",
    f"{OUT}/figures/transfer_matrix.png",
    *expand(f"{TABLES}/per_language/{{target}}.{{ext}}", target=TARGETS, ext=["csv", "md", "tex"]),
    f"{TABLES}/confidence.csv",
    f"{TABLES}/significance.md",
    f"{TABLES}/published.md",
    *expand(f"{OUT}/figures/per_language/{{target}}.png", target=TARGETS),
]
if "task_category" in EXP.analyses:
    REPORT_OUTPUTS += [f"{TABLES}/task_category.md", f"{OUT}/figures/task_category.png"]
REPORT_OUTPUTS += [f for name in RQ_ANALYSES if name in EXP.analyses for f in (f"{TABLES}/{name}.md", f"{OUT}/figures/{name}.png")]


rule collect_scores:
    input:
        PLAN.all_metrics(),
    output:
        f"{TABLES}/scores_long.csv",
    resources:
        **rule_resources("collect_scores"),
    log:
        f"{OUT}/logs/report/collect_scores.log",
    conda:
        ENV_REPORT
    shell:
        "python \"$XSTILTS_SCRIPTS/collect_scores.py\" --out {output:q} {input:q} > {log:q} 2>&1"


rule transfer_matrix_table:
    input:
        f"{TABLES}/scores_long.csv",
    output:
        csv=f"{TABLES}/transfer_matrix.csv",
        md=report(f"{TABLES}/transfer_matrix.md", caption="../report/transfer_matrix_table.rst", category="Main table"),
        tex=f"{TABLES}/transfer_matrix.tex",
    params:
        spec=canonical_json(EXP.table),
        prefix=lambda wc, output: os.path.splitext(output.csv)[0],
    resources:
        **rule_resources("transfer_matrix_table"),
    log:
        f"{OUT}/logs/report/transfer_matrix_table.log",
    conda:
        ENV_REPORT
    shell:
        "python \"$XSTILTS_SCRIPTS/transfer_matrix_table.py\" --params {params.spec:q} --scores {input:q} --prefix {params.prefix:q} > {log:q} 2>&1"


rule transfer_matrix_figure:
    input:
        f"{TABLES}/scores_long.csv",
    output:
        report(f"{OUT}/figures/transfer_matrix.png", caption="../report/transfer_matrix_figure.rst", category="Main table"),
    params:
        spec=canonical_json(EXP.figure),
    resources:
        **rule_resources("transfer_matrix_figure"),
    log:
        f"{OUT}/logs/report/transfer_matrix_figure.log",
    conda:
        ENV_REPORT
    shell:
        "python \"$XSTILTS_SCRIPTS/transfer_matrix_figure.py\" --params {params.spec:q} --scores {input:q} --out {output:q} > {log:q} 2>&1"


rule language_tables:
    input:
        f"{TABLES}/scores_long.csv",
    output:
        csv=expand(f"{TABLES}/per_language/{{target}}.csv", target=TARGETS),
        md=report(expand(f"{TABLES}/per_language/{{target}}.md", target=TARGETS),
                  caption="../report/language_tables.rst", category="Per-language tables"),
        tex=expand(f"{TABLES}/per_language/{{target}}.tex", target=TARGETS),
    params:
        spec=canonical_json(EXP.table),
        targets=TARGETS,
        out_dir=lambda wc, output: os.path.dirname(output.csv[0]),
    resources:
        **rule_resources("language_tables"),
    log:
        f"{OUT}/logs/report/language_tables.log",
    conda:
        ENV_REPORT
    shell:
        "python \"$XSTILTS_SCRIPTS/language_tables.py\" --params {params.spec:q} --scores {input:q} "
        "--out-dir {params.out_dir:q} {params.targets:q} > {log:q} 2>&1"


rule statistics:
    input:
        scores=f"{TABLES}/scores_long.csv",
        predictions=PLAN.all_predictions(),
    output:
        confidence=f"{TABLES}/confidence.csv",
        csv=f"{TABLES}/significance.csv",
        md=report(f"{TABLES}/significance.md", caption="../report/significance.rst", category="Significance"),
        tex=f"{TABLES}/significance.tex",
    params:
        spec=canonical_json({**EXP.statistics, **EXP.table}),
        out_dir=lambda wc, output: os.path.dirname(output.confidence),
    resources:
        **rule_resources("statistics"),
    log:
        f"{OUT}/logs/report/statistics.log",
    conda:
        ENV_REPORT
    shell:
        "python \"$XSTILTS_SCRIPTS/bootstrap_statistics.py\" --params {params.spec:q} --scores {input.scores:q} --out-dir {params.out_dir:q} "
        "{input.predictions:q} > {log:q} 2>&1"


rule published_comparison:
    input:
        f"{TABLES}/scores_long.csv",
    output:
        csv=f"{TABLES}/published.csv",
        md=report(f"{TABLES}/published.md", caption="../report/published.rst", category="Main table"),
    params:
        models=canonical_json(PLAN.model_ids()),
        prefix=lambda wc, output: os.path.splitext(output.csv)[0],
    resources:
        **rule_resources("published_comparison"),
    log:
        f"{OUT}/logs/report/published_comparison.log",
    conda:
        ENV_REPORT
    shell:
        "python \"$XSTILTS_SCRIPTS/published_comparison.py\" --params {params.models:q} --scores {input:q} --prefix {params.prefix:q} > {log:q} 2>&1"


rule task_category:
    """Research question 2 (config/rq/task-category.yaml): gains by intermediate-task category on
    syntactic versus semantic targets."""
    input:
        f"{TABLES}/scores_long.csv",
    output:
        csv=f"{TABLES}/task_category.csv",
        points=f"{TABLES}/task_category_points.csv",
        md=report(f"{TABLES}/task_category.md", caption="../report/task_category.rst", category="Research questions"),
        tex=f"{TABLES}/task_category.tex",
        figure=report(f"{OUT}/figures/task_category.png", caption="../report/task_category_figure.rst", category="Research questions"),
    params:
        spec=PLAN.task_category_params(),
        prefix=lambda wc, output: os.path.splitext(output.csv)[0],
    resources:
        **rule_resources("task_category"),
    log:
        f"{OUT}/logs/report/task_category.log",
    conda:
        ENV_REPORT
    shell:
        "python \"$XSTILTS_SCRIPTS/task_category.py\" --params {params.spec:q} --scores {input:q} --prefix {params.prefix:q} "
        "--figure {output.figure:q} > {log:q} 2>&1"


rule language_figures:
    input:
        f"{TABLES}/scores_long.csv",
    output:
        report(expand(f"{OUT}/figures/per_language/{{target}}.png", target=TARGETS),
               caption="../report/language_figures.rst", category="Per-language tables"),
    params:
        spec=canonical_json(EXP.figure),
        targets=TARGETS,
        out_dir=lambda wc, output: os.path.dirname(output[0]),
    resources:
        **rule_resources("language_figures"),
    log:
        f"{OUT}/logs/report/language_figures.log",
    conda:
        ENV_REPORT
    shell:
        "python \"$XSTILTS_SCRIPTS/language_figures.py\" --params {params.spec:q} --scores {input:q} "
        "--out-dir {params.out_dir:q} {params.targets:q} > {log:q} 2>&1"


# Research questions 1, 3, 4 and 5 (config/rq/): one rule each, made in a loop because they share
# their shape -- scores_long.csv in; a table (csv, md, tex, plus any extra CSV) and a figure out.
# Their params hold exactly what each compares (Plan.analysis_params), so editing one reruns only it.
for _name, _extra in RQ_ANALYSES.items():
    if _name not in EXP.analyses:
        continue

    rule:
        name:
            _name
        input:
            f"{TABLES}/scores_long.csv",
        output:
            csv=f"{TABLES}/{_name}.csv",
            md=report(f"{TABLES}/{_name}.md", caption=f"../report/{_name}.rst", category="Research questions"),
            tex=f"{TABLES}/{_name}.tex",
            figure=report(f"{OUT}/figures/{_name}.png", caption=f"../report/{_name}_figure.rst", category="Research questions"),
            **{e: f"{TABLES}/{_name}_{e}.csv" for e in _extra},
        params:
            # the loop variable goes through params: Snakemake formats a shell command when the job
            # runs, when `_name` holds the loop's last value
            command=_name.replace("_", "-"),
            spec=PLAN.analysis_params(_name),
            prefix=lambda wc, output: os.path.splitext(output.csv)[0],
        resources:
            **rule_resources(_name),
        log:
            f"{OUT}/logs/report/{_name}.log",
        conda:
            ENV_REPORT
        shell:
            "python \"$XSTILTS_SCRIPTS/research_question.py\" --analysis {params.command} --params {params.spec:q} --scores {input:q} "
            "--prefix {params.prefix:q} --figure {output.figure:q} > {log:q} 2>&1"
