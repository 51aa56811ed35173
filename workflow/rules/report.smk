# Aggregation: the long score table (input of every analysis), the transfer matrix and its
# heatmap.  Table and figure are separate rules so that a plotting option reruns only the figure.

TABLES = f"{OUT}/tables"
REPORT_OUTPUTS = [
    f"{TABLES}/transfer_matrix.csv",
    f"{TABLES}/transfer_matrix.md",
    f"{TABLES}/transfer_matrix.tex",
    f"{OUT}/figures/transfer_matrix.png",
]


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
        "python -m xstilts.report collect --out {output:q} {input:q} > {log:q} 2>&1"


rule transfer_matrix_table:
    input:
        f"{TABLES}/scores_long.csv",
    output:
        csv=f"{TABLES}/transfer_matrix.csv",
        md=f"{TABLES}/transfer_matrix.md",
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
        "python -m xstilts.report table --params {params.spec:q} --scores {input:q} --prefix {params.prefix:q} > {log:q} 2>&1"


rule transfer_matrix_figure:
    input:
        f"{TABLES}/scores_long.csv",
    output:
        f"{OUT}/figures/transfer_matrix.png",
    params:
        spec=canonical_json(EXP.figure),
    resources:
        **rule_resources("transfer_matrix_figure"),
    log:
        f"{OUT}/logs/report/transfer_matrix_figure.log",
    conda:
        ENV_REPORT
    shell:
        "python -m xstilts.report figure --params {params.spec:q} --scores {input:q} --out {output:q} > {log:q} 2>&1"
