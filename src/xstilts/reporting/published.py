"""Published numbers to set our results beside (``tables/published.*``), with their sources.

Keyed by the Hub id of the base model; each entry names the pipeline of ours it corresponds to
(``none``: XLM-R fine-tuned on the English target data, no intermediate task) and the scores, on
XTREME's 0-100 scale, averaged over the benchmark's languages as XTREME does.

XLM-R large: XTREME (Hu et al. 2020, arXiv:2003.11080), its results table.  The table itself could
not be read offline where this file was written; the values were taken from two reprints of that
table that agree with each other: the RemBERT paper (Chung et al. 2021, arXiv:2010.12821, Table 16,
"XTREME leaderboard": XNLI, POS, NER, PAWS-X, XQuAD, MLQA, TyDiQA-GoldP) and the VECO paper's table
(Luo et al. 2021, arXiv:2010.16046: XNLI, PAWS-X, NER, XQuAD, MLQA, BUCC, Tatoeba); XNLI, PAWS-X,
NER and the QA F1 values also appear in google-research/multilingual-t5's README.  Check them
against the XTREME paper before quoting them.  The X-STILTs paper's own per-pipeline rows
(Phang et al. 2020, arXiv:2005.13013) are not included: the reprints found disagree with each
other, and the paper's table could not be read here.
"""

from __future__ import annotations

PUBLISHED = {
    "FacebookAI/xlm-roberta-large": {
        "pipeline": "none",
        "source": "XTREME (Hu et al. 2020, arXiv:2003.11080), XLM-R row; via arXiv:2010.12821 Table 16 and arXiv:2010.16046",
        "scores": {
            "xnli": {"accuracy": 79.2},
            "pawsx": {"accuracy": 86.4},
            "udpos": {"f1": 73.8},
            "panx": {"f1": 65.4},
            "xquad": {"f1": 76.6, "exact_match": 60.8},
            "mlqa": {"f1": 71.6, "exact_match": 53.2},
            "tydiqa": {"f1": 65.1, "exact_match": 45.0},
            "bucc": {"f1": 66.0},
            "tatoeba": {"accuracy": 57.3},
        },
    },
}
# the same model under its older Hub name
PUBLISHED["xlm-roberta-large"] = PUBLISHED["FacebookAI/xlm-roberta-large"]
