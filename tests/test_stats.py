"""Tables and statistics of every experiment: the main table (mean ± sd, differences, bold, XTREME
score), per-language tables, bootstrap intervals over test examples, paired tests against the
baseline, and our numbers beside published ones -- each checked on hand-computed cases."""

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from xstilts.reporting.figures import write_language_figure
from xstilts.reporting.tables import (
    LONG_COLUMNS,
    main_table,
    published_table,
    write_language_tables,
    write_statistics,
    write_tables,
)
from xstilts.scoring import metrics as M
from xstilts.scoring.stats import Examples, confidence_table, example_counts, point_score, resampled_scores, significance_table


def _long(rows):
    """rows: (model, pipeline, target, seed, language, metric, value, main)"""
    df = pd.DataFrame([dict(zip(["model", "pipeline", "target", "seed", "language", "metric", "value", "main"], r),
                            train_task="t", split="test", n=10) for r in rows])[LONG_COLUMNS]  # fmt: skip
    df["seed"] = df["seed"].astype("Int64")
    return df


# ----------------------------------------------------------------------------- per-example counts


def test_span_f1_from_sentence_counts_is_corpus_level_seqeval():
    preds = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"], ["O", "O"]]
    golds = [["B-PER", "I-PER", "O", "B-ORG"], ["O", "B-ORG"], ["B-LOC", "O"]]
    records = [{"prediction": p, "gold": g} for p, g in zip(preds, golds)]
    num, den = example_counts(records, "f1")
    # spans: predicted {PER, LOC}, {ORG}, {}; gold {PER, ORG}, {ORG}, {LOC}: 2 true positives of 3 + 4
    assert num.tolist() == [2.0, 2.0, 0.0] and den.tolist() == [4.0, 2.0, 1.0]
    assert num.sum() / den.sum() == pytest.approx(4 / 7) == pytest.approx(M.span_f1(preds, golds)["f1"])
    tok_num, tok_den = example_counts(records, "token_accuracy")
    assert tok_num.sum() / tok_den.sum() == pytest.approx(M.token_accuracy(preds, golds))
    acc = example_counts([{"correct": 1.0}, {"correct": 0.0}], "accuracy")
    assert acc[0].tolist() == [1.0, 0.0] and acc[1].tolist() == [1.0, 1.0]
    qa = example_counts([{"f1": 0.5, "exact_match": 0.0}, {"f1": 1.0, "exact_match": 1.0}], "f1")
    assert qa[0].tolist() == [0.5, 1.0]
    assert example_counts([{"prediction": 1, "gold": 2}], "f1") is None  # BUCC-style: no per-example ratio


def test_resampling_the_identity_gives_the_point_score_averaged_over_seeds():
    num = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])  # 2 seeds x 4 examples: 0.75 and 0.5
    den = np.ones_like(num)
    assert point_score(num, den) == pytest.approx(0.625)
    idx = np.array([[0, 1, 2, 3], [2, 2, 3, 3], [1, 1, 1, 1]])
    assert resampled_scores(num, den, idx).tolist() == pytest.approx([0.625, 1.0, 0.0])


# ----------------------------------------------------------------------------- intervals and tests


def _records(correct, lang="de", bench="cls"):
    return [{"benchmark": bench, "lang": lang, "id": str(i), "correct": float(c)} for i, c in enumerate(correct)]


def test_confidence_intervals_cover_the_score_and_collapse_when_every_example_agrees():
    rng = np.random.default_rng(0)
    ex = Examples()
    seeds = {0: rng.random(200) < 0.7, 1: rng.random(200) < 0.6}
    for seed, correct in seeds.items():
        records = _records(correct)
        ex.add("m", "p", seed, records[::-1] if seed else records, {"cls": "accuracy"})  # another order: aligned by id
        ex.add("m", "q", seed, _records(np.ones(200)), {"cls": "accuracy"})
    long = _long([("m", p, "cls", s, "de", "accuracy", 0.0, True) for p in ("p", "q") for s in (0, 1)])
    table = confidence_table(long, ex, n_resamples=500)
    row = table[(table.pipeline == "p") & (table.language == "de")].iloc[0]
    expected = (seeds[0].mean() + seeds[1].mean()) / 2
    assert row.score == pytest.approx(expected) and row.ci_low < expected < row.ci_high
    ids, num, _ = ex.counts(("m", "p", "cls", "de"))
    assert ids[:2] == ["0", "1"] and num[1].tolist() == seeds[1].astype(float).tolist()
    # the standard error of a mean of two proportions over 200 examples: about 0.024, so the 95 % interval
    # spans about 4 of them
    assert 0.06 < row.ci_high - row.ci_low < 0.13
    perfect = table[(table.pipeline == "q") & (table.language == "mean")].iloc[0]
    assert (perfect.ci_low, perfect.ci_high, perfect.n_seeds) == (1.0, 1.0, 2)


def _paired_long(n_seeds, gains):
    rows = []
    for s in range(n_seeds):
        for k, lang in enumerate(["de", "fr", "sw"]):
            base = 0.5 + 0.1 * k + 0.01 * s
            rows.append(("m", "none", "cls", s, lang, "accuracy", base, True))
            rows.append(("m", "mnli", "cls", s, lang, "accuracy", base + gains[s][k], True))
    return _long(rows)


def test_paired_tests_pair_seeds_and_languages_and_say_when_evidence_is_weak():
    gains = [[0.02, 0.05, 0.01], [0.03, 0.04, -0.01], [0.02, 0.06, 0.02]]
    long = _paired_long(3, gains)
    sig = significance_table(long)
    row = sig.iloc[0]
    diffs = np.array(gains).ravel()
    assert row.delta == pytest.approx(diffs.mean()) and row.n_pairs == 9 and row.n_seeds == 3
    assert row.wilcoxon_p == pytest.approx(st.wilcoxon(diffs).pvalue)
    assert row.ttest_p == pytest.approx(st.ttest_1samp(diffs, 0.0).pvalue)
    assert row.evidence == "no clear difference"  # no example-level interval without predictions
    weak = significance_table(_paired_long(2, gains))
    assert weak.iloc[0].evidence == "weak: 2 seed(s)"


def test_paired_bootstrap_interval_of_the_difference_excludes_zero_for_a_real_gain():
    rng = np.random.default_rng(1)
    ex, rows = Examples(), []
    base = rng.random(300) < 0.6
    for seed in range(3):
        better = base | (rng.random(300) < 0.3)  # the pipeline fixes about 30 % of the baseline's errors
        ex.add("m", "none", seed, _records(base), {"cls": "accuracy"})
        ex.add("m", "mnli", seed, _records(better), {"cls": "accuracy"})
        rows += [("m", "none", "cls", seed, "de", "accuracy", base.mean(), True),
                 ("m", "mnli", "cls", seed, "de", "accuracy", better.mean(), True)]  # fmt: skip
    sig = significance_table(_long(rows), ex, n_resamples=500)
    row = sig.iloc[0]
    assert 0 < row.ci_low < row.delta < row.ci_high
    assert row.evidence == "gain: interval excludes 0"


# ----------------------------------------------------------------------------- tables


def test_main_table_mean_sd_difference_bold_and_seed_free_baseline(tmp_path):
    long = _long([
        ("m", "none", "pos", 0, "en", "f1", 0.9, True), ("m", "none", "pos", 0, "de", "f1", 0.5, True),  # 0.7
        ("m", "none", "pos", 1, "en", "f1", 0.8, True), ("m", "none", "pos", 1, "de", "f1", 0.4, True),  # 0.6
        ("m", "mnli", "pos", 0, "en", "f1", 0.9, True), ("m", "mnli", "pos", 0, "de", "f1", 0.7, True),  # 0.8
        ("m", "mnli", "pos", 1, "en", "f1", 1.0, True), ("m", "mnli", "pos", 1, "de", "f1", 0.8, True),  # 0.9
        ("m", "none", "tatoeba", None, "de", "accuracy", 0.30, True),  # retrieval from the base model: no seed
        ("m", "mnli", "tatoeba", 0, "de", "accuracy", 0.40, True), ("m", "mnli", "tatoeba", 1, "de", "accuracy", 0.50, True),
    ])  # fmt: skip
    stats, name = main_table(long)
    assert name == "mean"
    cell = stats.set_index(["pipeline", "column"])
    assert cell.loc[("mnli", "pos"), "mean"] == pytest.approx(0.85)
    assert cell.loc[("mnli", "pos"), "sd"] == pytest.approx(np.std([0.8, 0.9], ddof=1))
    assert cell.loc[("mnli", "pos"), "delta"] == pytest.approx(0.20)
    assert np.isnan(cell.loc[("none", "tatoeba"), "sd"]) and cell.loc[("mnli", "tatoeba"), "delta"] == pytest.approx(0.15)
    # the mean column per seed: none (0.7 + 0.3) / 2, (0.6 + 0.3) / 2; mnli (0.8 + 0.4) / 2, (0.9 + 0.5) / 2
    assert cell.loc[("none", "mean"), "mean"] == pytest.approx(0.475)
    assert cell.loc[("mnli", "mean"), "mean"] == pytest.approx(0.65)
    write_tables(long, str(tmp_path / "tm"))
    md = (tmp_path / "tm.md").read_text()
    assert "**85.0 ± 7.1 (+20.0)**" in md and "| 65.0 ± 7.1 " in md and "| 30.0 " in md and "2 seed(s)" in md
    tex = (tmp_path / "tm.tex").read_text()
    assert "\\toprule" in tex and "\\textbf{85.0 $\\pm$ 7.1 ($+$20.0)}" in tex
    csv = pd.read_csv(tmp_path / "tm.csv")
    assert csv.loc[csv.pipeline == "mnli", "pos_diff"].item() == pytest.approx(0.2)
    assert csv.loc[csv.pipeline == "mnli", "pos_sd"].item() == pytest.approx(0.070711, abs=1e-6)


def test_main_table_of_a_single_seed_has_no_spread(tmp_path):
    long = _long([("m", "none", "pos", 0, "de", "f1", 0.5, True), ("m", "mnli", "pos", 0, "de", "f1", 0.6, True)])
    write_tables(long, str(tmp_path / "one"))
    md = (tmp_path / "one.md").read_text()
    assert "**60.0 (+10.0)**" in md and "±" not in md.split("\n\n")[0]
    csv = pd.read_csv(tmp_path / "one.csv")
    assert csv["pos_sd"].isna().all() and csv.loc[csv.pipeline == "mnli", "pos_diff"].item() == pytest.approx(0.1)


def test_xtreme_column_when_all_nine_targets_are_there():
    rows = []
    values = {"xnli": 0.8, "pawsx": 0.9, "udpos": 0.7, "panx": 0.6, "bucc": 0.5, "tatoeba": 0.4}
    for t, v in values.items():
        metric = "accuracy" if t in ("xnli", "pawsx", "tatoeba") else "f1"
        rows.append(("m", "none", t, 0, "de", metric, v, True))
    for t in ("xquad", "mlqa", "tydiqa"):  # QA counts (EM + F1) / 2
        rows += [("m", "none", t, 0, "de", "f1", 0.7, True), ("m", "none", t, 0, "de", "exact_match", 0.5, False)]
    stats, name = main_table(_long(rows))
    assert name == "XTREME"
    xtreme = stats[stats.column == "XTREME"]["mean"].item()
    assert xtreme == pytest.approx((sum(values.values()) + 3 * 0.6) / 9)


def test_language_tables_and_published_numbers(tmp_path):
    long = _long([
        ("x", "none", "xnli", 0, "en", "accuracy", 0.88, True), ("x", "none", "xnli", 0, "sw", "accuracy", 0.70, True),
        ("x", "none", "xnli", 1, "en", "accuracy", 0.86, True), ("x", "none", "xnli", 1, "sw", "accuracy", 0.72, True),
        ("x", "mnli", "xnli", 0, "en", "accuracy", 0.89, True), ("x", "mnli", "xnli", 0, "sw", "accuracy", 0.75, True),
        ("x", "mnli", "xnli", 1, "en", "accuracy", 0.89, True), ("x", "mnli", "xnli", 1, "sw", "accuracy", 0.73, True),
    ])  # fmt: skip
    write_language_tables(long, str(tmp_path), ["xnli"])
    md = (tmp_path / "xnli.md").read_text()
    assert "**74.0 ± 1.4 (+3.0)**" in md and "| 71.0 ± 1.4 " in md  # sw: mnli 0.74, none 0.71
    assert "**89.0 ± 0.0 (+2.0)**" in md  # en: both mnli seeds 0.89
    table = published_table(long, {"x": "FacebookAI/xlm-roberta-large"})
    row = table.iloc[0]
    assert (row.target, row.metric, row.published) == ("xnli", "accuracy", 79.2)
    assert row.ours == pytest.approx(79.0) and row.difference == pytest.approx(-0.2)
    assert published_table(long, {"x": "some/other-model"}).empty


def test_statistics_job_writes_tables_from_prediction_files(tmp_path):
    rows, files = [], []
    rng = np.random.default_rng(2)
    for pipeline in ("none", "mnli"):
        for seed in (0, 1):
            correct = rng.random(50) < (0.5 if pipeline == "none" else 0.8)
            path = tmp_path / f"predictions/m/{pipeline}/cls/seed{seed}.jsonl.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(path, "wt") as f:
                for r in _records(correct):
                    f.write(json.dumps(r) + "\n")
            files.append(str(path))
            rows.append(("m", pipeline, "cls", seed, "de", "accuracy", correct.mean(), True))
    write_statistics(_long(rows), files, str(tmp_path / "tables"), n_resamples=200)
    md = (tmp_path / "tables/significance.md").read_text()
    assert "weak: 2 seed(s)" in md and "no stars" in md and "Wilcoxon" in md
    conf = pd.read_csv(tmp_path / "tables/confidence.csv")
    assert set(conf.language) == {"de", "mean"} and (conf.ci_low <= conf.score).all() and (conf.score <= conf.ci_high).all()


def test_language_figure_pairs_seeds_and_a_seed_free_baseline(tmp_path):
    long = _long([
        ("m", "none", "tatoeba", None, "de", "accuracy", 0.30, True), ("m", "none", "tatoeba", None, "sw", "accuracy", 0.10, True),
        ("m", "mnli", "tatoeba", 0, "de", "accuracy", 0.40, True), ("m", "mnli", "tatoeba", 1, "de", "accuracy", 0.50, True),
        ("m", "mnli", "tatoeba", 0, "sw", "accuracy", 0.10, True), ("m", "mnli", "tatoeba", 1, "sw", "accuracy", 0.12, True),
    ])  # fmt: skip
    write_language_figure(long, "tatoeba", str(tmp_path / "f.png"), width=4)
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
