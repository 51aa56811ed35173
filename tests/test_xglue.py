"""XGLUE understanding tasks from the release files (xstilts.data.xglue), the release-task preparation and
the WPR nDCG.  tests/fixtures/xglue/ holds a few invented rows per task in the exact layout and formats
of xglue_full_dataset.tar.gz (see the xstilts.data.xglue docstring for the sources)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from xstilts.common.errors import ConfigError, DataError
from xstilts.data import xglue
from xstilts.data.hub_sources import HUB_DATASETS, ReleaseOnly, get_hub_spec
from xstilts.data.registry import BUILTIN_TASKS, MAIN_METRIC
from xstilts.data.release_files import prepare_release_task
from xstilts.data.rows import validate_task_row
from xstilts.scoring import metrics as M
from xstilts.scoring.score import score
from xstilts.scoring.stats import example_counts

ROOT = Path(__file__).parent / "fixtures" / "xglue"

EXPECTED = {
    ("ner", "train", "en"): [
        {"id": "0", "tokens": ["EU", "rejects", "German", "call", "."], "tags": ["B-ORG", "O", "B-MISC", "O", "O"]},
        {"id": "1", "tokens": ["Peter", "Blackburn"], "tags": ["B-PER", "I-PER"]},
    ],
    ("ner", "validation", "de"): [
        {"id": "0", "tokens": ["Angela", "Merkel", "besucht", "Berlin"], "tags": ["B-PER", "I-PER", "O", "B-LOC"]},
        {"id": "1", "tokens": ["Das", "ist", "gut"], "tags": ["O", "O", "O"]},  # no blank line at the end of file
    ],
    ("ner", "test", "de"): [{"id": "0", "tokens": ["Die", "UNO", "tagt"], "tags": ["O", "B-ORG", "O"]}],
    ("pos", "validation", "fr"): [
        {"id": "0", "tokens": ["Je", "sens", "qu'"], "tags": ["PRON", "VERB", "SCONJ"]},
        {"id": "1", "tokens": ["Nous", "venons", "."], "tags": ["PRON", "VERB", "PUNCT"]},
    ],
    ("nc", "validation", "de"): [
        {"id": "1", "text_a": "Neues Auto vorgestellt", "text_b": "Der Hersteller zeigte ein Elektroauto.", "label": "autos"},
        {"id": "2", "text_a": "Reise nach Rom", "text_b": "Drei Tage in der Stadt.", "label": "travel"},
    ],
    ("qadsm", "train", "en"): [
        {"id": "1", "text_a": "cruise portland maine", "text_b": "New England Cruises Your New England Cruise Awaits!", "label": "Good"},
        {"id": "2", "text_a": "cheap flights", "text_b": "Garden Tools Buy rakes and hoes.", "label": "Bad"},
    ],
    ("wpr", "validation", "zh"): [
        {"id": "1", "text_a": "maxpro官网", "text_b": "vivo智能手机官方网站 在线购买，售后服务。", "label": "0", "group": "0"},
        {"id": "2", "text_a": "maxpro官网", "text_b": "MaxPro 官方网站 MaxPro 产品与支持。", "label": "4", "group": "0"},
        {"id": "3", "text_a": "maxpro官网", "text_b": "MaxPro 论坛 用户讨论。", "label": "2", "group": "0"},
        {"id": "4", "text_a": "北京天气", "text_b": "北京天气预报 今天晴。", "label": "3", "group": "1"},
    ],
    ("qam", "validation", "de"): [
        {"id": "1", "text_a": "hauptstadt von frankreich", "text_b": "Paris ist die Hauptstadt Frankreichs.", "label": "1"},
    ],
    ("xnli", "train", "en"): [  # header skipped, XNLI-MT's "contradictory" read as contradiction
        {"id": "2", "text_a": "A man plays a guitar .", "text_b": "A man makes music .", "label": "entailment"},
        {"id": "3", "text_a": "A dog sleeps .", "text_b": "The dog is running .", "label": "contradiction"},
    ],
    ("xnli", "validation", "es"): [
        {"id": "1", "text_a": "Y él dijo: Mamá, estoy en casa.", "text_b": "Él llamó a su madre.", "label": "neutral"},
        {"id": "2", "text_a": "El niño duerme.", "text_b": "El niño corre.", "label": "contradiction"},
    ],
    ("pawsx", "validation", "es"): [
        {"id": "1", "text_a": "La excepción fue en 2005 .", "text_b": "En 2005 fue la excepción .", "label": "paraphrase"},
        {"id": "2", "text_a": "Él vive en Madrid .", "text_b": "Ella vive en Roma .", "label": "different"},
    ],
    ("mlqa", "validation", "de"): [
        {"id": "d1", "context": "Der Krater ist 76 Meter breit.", "question": "Wie breit ist der Krater?",
         "answers": {"text": ["76 Meter"], "answer_start": [15]}},
        {"id": "d2", "context": "Der Krater ist 76 Meter breit.", "question": "Was ist 76 Meter breit?",
         "answers": {"text": ["Der Krater"], "answer_start": [0]}},
    ],
}  # fmt: skip


@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda k: "-".join(k))
def test_readers_match_the_release_files_row_by_row(key):
    task, split, lang = key
    rows = xglue.read_xglue(f"xglue_{task}", ROOT, split, lang)
    assert rows == EXPECTED[key]
    for i, row in enumerate(rows):
        validate_task_row(row, BUILTIN_TASKS[f"xglue_{task}"], f"{task} row {i}")


def test_registry_entries():
    names = {f"xglue_{t}" for t in xglue.TASKS}
    assert names <= set(BUILTIN_TASKS) and names <= set(HUB_DATASETS)
    sizes = {"ner": 4, "pos": 18, "nc": 5, "mlqa": 7, "xnli": 15, "pawsx": 4, "qadsm": 3, "wpr": 7, "qam": 3}
    for t, n in sizes.items():
        task, entry = BUILTIN_TASKS[f"xglue_{t}"], HUB_DATASETS[f"xglue_{t}"]
        assert len(task.languages) == n and task.languages[0] == "en" and task.languages == entry.languages
        assert isinstance(entry, ReleaseOnly) and entry.reader == "read_xglue" and entry.labels == task.labels
        assert task.source == "release" and task.eval_split == "validation" and task.trainer == task.name
        assert task.category == ("syntactic" if t in ("ner", "pos") else "semantic")
    metric = {t: BUILTIN_TASKS[f"xglue_{t}"].main_metric for t in xglue.TASKS}
    assert metric == {"ner": "f1", "pos": "token_accuracy", "nc": "accuracy", "mlqa": "f1", "xnli": "accuracy",
                      "pawsx": "accuracy", "qadsm": "accuracy", "wpr": "ndcg", "qam": "accuracy"}  # fmt: skip
    with pytest.raises(DataError, match="loading script"):
        get_hub_spec("xglue_ner")


def test_release_paths():
    assert xglue.release_file(ROOT, "xglue_pawsx", "test", "es") == ROOT / "xglue_full_dataset/PAWSX/es/test_2k.tsv"
    # the directory holding the task folders works as a root too
    assert xglue.release_file(ROOT / "xglue_full_dataset", "nc", "train", "en").name == "xglue.nc.en.train"
    with pytest.raises(ConfigError, match="English training data only"):
        xglue.release_file(ROOT, "xglue_nc", "train", "de")
    with pytest.raises(ConfigError, match="no language 'ja'"):
        xglue.release_file(ROOT, "xglue_nc", "validation", "ja")


def test_missing_file_names_it_and_the_release(tmp_path):
    with pytest.raises(DataError) as err:
        xglue.read_xglue("xglue_ner", tmp_path, "validation", "es")
    message = str(err.value)
    assert str(tmp_path / "xglue_full_dataset" / "NER" / "es.dev") in message
    assert xglue.RELEASE_URL in message and "https://microsoft.github.io/XGLUE/" in message


def test_hidden_test_labels():
    with pytest.raises(DataError, match=r"xglue\.qam\.de\.test:1: the line has no label column; XGLUE holds its test labels out"):
        xglue.read_xglue("xglue_qam", ROOT, "test", "de")


def test_bad_label_and_unlabelled_token(tmp_path):
    (tmp_path / "XNLI").mkdir()
    (tmp_path / "XNLI" / "de.dev").write_text("a\tb\tmaybe\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"de\.dev:1: label 'maybe' is not one of"):
        xglue.read_xglue("xglue_xnli", tmp_path, "validation", "de")
    (tmp_path / "POS").mkdir()
    (tmp_path / "POS" / "de.dev").write_text("Hund NOUN\nbellt\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"de\.dev:2: expected 'word label'"):
        xglue.read_xglue("xglue_pos", tmp_path, "validation", "de")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_prepare_release_task_writes_english_train_and_dev_per_language(tmp_path):
    manifest = prepare_release_task("xglue_nc", ROOT, tmp_path, languages=["en", "de"])
    # NC's test labels are held out: train (English) and validation only
    assert manifest["row_counts"] == {"train": {"en": 2}, "validation": {"en": 1, "de": 2}}
    assert manifest["eval_split"] == {"en": "validation", "de": "validation"}
    assert read_jsonl(tmp_path / "xglue_nc" / "validation" / "de.jsonl") == EXPECTED[("nc", "validation", "de")]
    assert not (tmp_path / "xglue_nc" / "train" / "de.jsonl").exists()
    assert json.loads((tmp_path / "xglue_nc" / "manifest.json").read_text()) == manifest
    with pytest.raises(DataError, match="no label column"):
        prepare_release_task("xglue_nc", ROOT, tmp_path, languages=["de"], splits=["test"])

    manifest = prepare_release_task("xglue_ner", ROOT, tmp_path, languages=["de"])
    assert manifest["row_counts"] == {"validation": {"de": 2}, "test": {"de": 1}}  # public test labels
    manifest = prepare_release_task("xglue_wpr", ROOT, tmp_path, languages=["zh"], splits=["validation"])
    assert read_jsonl(tmp_path / "xglue_wpr" / "validation" / "zh.jsonl") == EXPECTED[("wpr", "validation", "zh")]
    with pytest.raises(DataError, match=r"es\.dev was not found"):  # fixtures hold no Spanish NER
        prepare_release_task("xglue_ner", ROOT, tmp_path, languages=["es"])


def test_ndcg_hand_computed():
    # one query, relevance (3, 2, 0) scored (0.1, 0.5, 0.9): ranked 0, 2, 3
    # DCG = 0/log2(2) + 2/log2(3) + 3/log2(4) = 2.761860 ; IDCG = 3/log2(2) + 2/log2(3) + 0 = 4.261860
    dcg = 2 / math.log2(3) + 3 / 2
    idcg = 3 + 2 / math.log2(3)
    assert dcg / idcg == pytest.approx(0.648041, abs=1e-6)
    assert M.ndcg([0.1, 0.5, 0.9], [3, 2, 0], ["q", "q", "q"]) == pytest.approx(dcg / idcg)
    # a perfect ranking scores 1; a query of all-irrelevant pages scores 0 (sklearn ndcg_score);
    # a one-page query is skipped (XGLUE simple_ndcg); the result is the mean over queries
    assert M.ndcg([3, 2, 1, 0, 0, 5], [2, 1, 0, 0, 0, 4], ["a", "a", "a", "b", "b", "c"]) == pytest.approx(0.5)
    # tied scores share their block's mean gain: relevance (2, 0) tied at the top of a 2-page list
    assert M.ndcg([1.0, 1.0], [2, 0], ["q", "q"]) == pytest.approx((1 + 1 / math.log2(3)) / 2)
    with pytest.raises(ValueError, match="no group has two or more items"):
        M.ndcg([1.0], [1], ["q"])


def test_ndcg_matches_sklearn():
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for _ in range(50):
        rel, sc = rng.integers(0, 5, 6), rng.integers(0, 3, 6).astype(float)
        assert M.ndcg(sc, rel, [0] * 6) == pytest.approx(sklearn.ndcg_score([rel], [sc]))


def test_wpr_scoring_and_no_bootstrap():
    task = BUILTIN_TASKS["xglue_wpr"]
    rows = EXPECTED[("wpr", "validation", "zh")]
    preds = [0.2, 3.5, 1.9, 2.0]  # expected relevances: the query's three pages in the ideal order
    result, recs = score(task, rows, preds, "zh")
    assert result == {"ndcg": pytest.approx(1.0)} and MAIN_METRIC[task.metric] == "ndcg"
    assert recs[1] == {"id": "2", "prediction": 3.5, "gold": "4", "group": "0"}
    assert example_counts(recs, "ndcg") is None  # not decomposable over examples: no bootstrap interval
    with pytest.raises(ValueError, match="needs each row's query 'group'"):
        score(task, [{k: v for k, v in r.items() if k != "group"} for r in rows], preds, "zh")


def test_pos_main_metric_is_token_accuracy():
    task = BUILTIN_TASKS["xglue_pos"]
    rows = EXPECTED[("pos", "validation", "fr")]
    preds = [["PRON", "VERB", "ADP"], ["PRON", "VERB", "PUNCT"]]
    result, _ = score(task, rows, preds, "fr")
    assert result[task.main_metric] == pytest.approx(5 / 6)


def test_synthetic_world_written_in_xglue_layout_reads_back_row_for_row(tmp_path):
    """config/rq/order-tiny.yaml: the synthetic world's POS, topic and QA rows written as XGLUE release
    files (rule synthetic_xglue) come back unchanged through the XGLUE readers and preparation."""
    from xstilts.data.release_files import prepare_release_task
    from xstilts.data.synthetic import TOPIC_LABELS, generate_world
    from xstilts.data.xglue import write_synthetic_release

    generate_world(tmp_path / "world", n_corpus=10, n_train=12, n_validation=10, n_test=10, languages=["xa"])
    counts = write_synthetic_release(tmp_path / "world", tmp_path / "release", ["en", "xa"])
    assert counts["pos"] == {"train": {"en": 12}, "validation": {"en": 10, "xa": 10}, "test": {"en": 10, "xa": 10}}
    assert (tmp_path / "release/xglue_full_dataset/NC/xglue.nc.xa.dev").is_file()
    assert (tmp_path / "release/xglue_full_dataset/MLQA/MLQA_V1/dev/dev-context-xa-question-xa.json").is_file()

    def source(task, split, lang):
        return [json.loads(line) for line in (tmp_path / "world" / task / split / f"{lang}.jsonl").read_text().splitlines()]

    pos = xglue.read_xglue("xglue_pos", tmp_path / "release", "validation", "xa", known_languages=["en", "xa"])
    assert [(r["tokens"], r["tags"]) for r in pos] == [(r["tokens"], r["tags"]) for r in source("syn_pos", "validation", "xa")]
    nc = xglue.read_xglue("xglue_nc", tmp_path / "release", "train", "en", known_languages=["en", "xa"])
    assert [(r["text_a"], r["label"]) for r in nc] == [(r["text_a"], r["label"]) for r in source("syn_topic", "train", "en")]
    qa = xglue.read_xglue("xglue_mlqa", tmp_path / "release", "test", "xa", known_languages=["en", "xa"])
    assert [(r["id"], r["context"], r["answers"]) for r in qa] == [(r["id"], r["context"], r["answers"]) for r in source("syn_qa", "test", "xa")]
    with pytest.raises(ConfigError, match="XGLUE POS has no language 'xa'"):  # XGLUE's own list unless told otherwise
        xglue.read_xglue("xglue_pos", tmp_path / "release", "validation", "xa")
    manifest = prepare_release_task("xglue_nc", tmp_path / "release", tmp_path / "prepared", languages=["en", "xa"],
                                    labels=TOPIC_LABELS, known_languages=["en", "xa"])  # fmt: skip
    assert manifest["row_counts"]["validation"] == {"en": 10, "xa": 10} and manifest["labels"] == list(TOPIC_LABELS)
