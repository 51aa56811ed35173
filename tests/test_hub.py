"""Offline tests of xstilts.data.hub (Hub registry, converters, prepare_hub_task) and xstilts.data.release_files.

Hub fixtures (tests/fixtures/hub/{task}.json) hold invented rows in each dataset's Hub schema plus the
``converted`` rows expected from ``convert`` (written by hand).  ``datasets.load_dataset`` is
monkeypatched to serve them as ``Dataset.from_list(rows, features=Features.from_dict(...))``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from datasets import Dataset, Features

import xstilts.common.errors
from xstilts.common.errors import ConfigError, DataError
from xstilts.data import hub_sources, release_files
from xstilts.data.hub import prepare_hub_task
from xstilts.data.hub_sources import HUB_DATASETS, HubSpec, ReleaseOnly
from xstilts.data.rows import validate_row

FIXTURES = Path(__file__).parent / "fixtures"
HUB_FIXTURES = sorted((FIXTURES / "hub").glob("*.json"))
RELEASE = FIXTURES / "release"
NOT_SELECTED = "<not selected>"
SRC = Path(__file__).resolve().parents[1] / "src"


def load_fixture(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def source_spec(task: str, dataset_id: str) -> HubSpec:
    spec = HUB_DATASETS[task]
    for source in spec.sources:
        if source.dataset_id == dataset_id:
            return source
    raise AssertionError(f"{task} has no source {dataset_id}")


def as_dataset(source: dict) -> Dataset:
    return Dataset.from_list(source["rows"], features=Features.from_dict(source["features"]))


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def one_sentence(message: str) -> bool:
    body = message.rstrip()
    return body.endswith(".") and ". " not in body[:-1] and "\n" not in body


class FakeHub:
    """Stands in for datasets.load_dataset, serving fixture rows and recording every call."""

    def __init__(self, sources, *, raw=False):
        self.tables = {}
        for source in sources:
            key = (source["dataset_id"], source["config"], source["split"])
            self.tables[key] = source["rows"] if raw else as_dataset(source)
        self.calls = []

    def __call__(self, path, name=None, *, split=None, revision=None, cache_dir=None, **kwargs):
        self.calls.append({"path": path, "name": name, "split": split, "revision": revision, "cache_dir": cache_dir})
        key = (path, name, split)
        if key not in self.tables:
            raise ValueError(f"BuilderConfig '{name}' not found. Available: {sorted({k[1] for k in self.tables})}")
        return self.tables[key]


def install(monkeypatch, fake: FakeHub) -> FakeHub:
    monkeypatch.setattr(datasets, "load_dataset", fake)
    return fake


# ------------------------------------------------------------------------------------ registry


EXPECTED_TASKS = {
    "copa", "xcopa", "xglue_ner", "xglue_pos", "xglue_nc", "xglue_mlqa", "xglue_xnli", "xglue_pawsx", "xglue_qadsm",
    "xglue_wpr", "xglue_qam",
    "mnli",
    "qqp",
    "anli_plus",
    "squad",
    "squad2",
    "hellaswag",
    "csqa",
    "siqa",
    "cosmosqa",
    "ccg",
    "xnli",
    "pawsx",
    "udpos",
    "panx",
    "xquad",
    "mlqa",
    "tydiqa",
    "tatoeba",
    "bucc",
}


def test_registry_has_every_task_with_xtreme_language_lists():
    assert set(HUB_DATASETS) == EXPECTED_TASKS
    sizes = {"xnli": 15, "pawsx": 7, "udpos": 33, "panx": 40, "xquad": 12, "mlqa": 7, "tydiqa": 9, "tatoeba": 36, "bucc": 4}
    for task, size in sizes.items():
        assert len(HUB_DATASETS[task].languages) == size, task
    for task, entry in HUB_DATASETS.items():
        assert entry.task == task
        assert entry.format in hub_sources.FORMATS
        assert entry.eval_split is not None, task
        assert all(len(lang) == 2 and lang.islower() for lang in entry.languages), task
        assert len(set(entry.languages)) == len(entry.languages), task
    for task in ("cosmosqa", "ccg", "bucc"):
        assert isinstance(HUB_DATASETS[task], ReleaseOnly)


def test_registry_configs_splits_and_eval_splits():
    spec = HUB_DATASETS
    assert spec["mnli"].dataset_id == "nyu-mll/glue" and spec["mnli"].config_for("en") == "mnli"
    assert spec["mnli"].splits_for("en") == {"train": ("train",), "validation": ("validation_matched",)}
    assert spec["udpos"].config_for("en") == "udpos.English"
    assert spec["udpos"].config_for("fa") == "udpos.Persian"
    assert spec["udpos"].config_for("zh") == "udpos.Chinese"
    assert spec["udpos"].splits_for("th") == {"test": ("test",)}
    assert spec["udpos"].splits_for("de") == {"validation": ("validation",), "test": ("test",)}
    assert spec["udpos"].eval_split_for("th") == "test" and spec["udpos"].eval_split_for("de") == "validation"
    assert spec["panx"].config_for("jv") == "PAN-X.jv"
    assert spec["panx"].splits_for("en") == {"train": ("train",), "validation": ("validation",), "test": ("test",)}
    assert spec["xquad"].dataset_id == "google/xquad" and spec["xquad"].config_for("ro") == "xquad.ro"
    assert spec["mlqa"].config_for("hi") == "MLQA.hi.hi"
    # single-split benchmarks: the Hub's "validation" is XTREME's test set, written as our "test"
    assert spec["tydiqa"].splits_for("en") == {"train": ("train",), "test": ("validation",)}
    assert spec["tydiqa"].splits_for("sw") == {"test": ("validation",)}
    assert spec["xquad"].splits_for("ro") == {"test": ("validation",)}
    assert spec["tatoeba"].splits_for("af") == {"test": ("validation",)}
    for task in ("xquad", "tydiqa", "tatoeba", "bucc"):
        assert spec[task].eval_split == "test", task
    for task in (
        "mnli",
        "anli_plus",
        "qqp",
        "squad",
        "squad2",
        "hellaswag",
        "csqa",
        "siqa",
        "cosmosqa",
        "ccg",
        "xnli",
        "pawsx",
        "udpos",
        "panx",
        "mlqa",
    ):
        assert spec[task].eval_split == "validation", task
    assert spec["tatoeba"].config_for("fa") == "tatoeba.pes"
    assert spec["tatoeba"].config_for("sw") == "tatoeba.swh"
    assert spec["tatoeba"].config_for("zh") == "tatoeba.cmn"
    assert spec["tatoeba"].config_for("te") == "tatoeba.tel"
    assert spec["xnli"].dataset_id == "facebook/xnli" and spec["xnli"].config_for("sw") == "sw"
    assert spec["pawsx"].splits_for("ja") == {"validation": ("validation",), "test": ("test",)}
    assert spec["hellaswag"].revision == "refs/convert/parquet"
    assert spec["siqa"].revision == "refs/convert/parquet"
    assert spec["squad"].revision == "main"
    anli = spec["anli_plus"]
    assert [p.dataset_id for p in anli.sources] == ["stanfordnlp/snli", "nyu-mll/glue", "facebook/anli"]
    assert anli.sources[2].splits_for("en") == {
        "train": ("train_r1", "train_r2", "train_r3"),
        "validation": ("dev_r1", "dev_r2", "dev_r3"),
    }
    assert spec["bucc"].splits == {"validation": "sample", "test": "training"}
    assert hub_sources.UPOS_TAGS[15] == "VERB" and hub_sources.UPOS_TAGS[16] == "X" and len(hub_sources.UPOS_TAGS) == 17
    assert hub_sources.PANX_TAGS == ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")


def test_data_error_comes_from_errors_module():
    assert hub_sources.DataError is xstilts.common.errors.DataError
    assert issubclass(DataError, ValueError)


def test_release_and_unknown_tasks_are_refused():
    with pytest.raises(DataError) as info:
        prepare_hub_task("bucc", "unused")
    assert "read_bucc" in str(info.value) and one_sentence(str(info.value))
    with pytest.raises(DataError) as info:
        hub_sources.get_hub_spec("ccg")
    assert "LDC2005T13" in str(info.value)
    with pytest.raises(ConfigError):
        hub_sources.get_hub_spec("no_such_task")


# ------------------------------------------------------------------------------------ converters


def test_every_hub_task_has_a_fixture():
    hub_tasks = {task for task, entry in HUB_DATASETS.items() if isinstance(entry, HubSpec)}
    assert {path.stem for path in HUB_FIXTURES} == hub_tasks


@pytest.mark.parametrize("path", HUB_FIXTURES, ids=lambda p: p.stem)
def test_convert_matches_hand_written_rows(path):
    fixture = load_fixture(path)
    task = fixture["task"]
    spec = HUB_DATASETS[task]
    assert fixture["verified_from"] and fixture["hub_schema"]
    for source in fixture["sources"]:
        part = source_spec(task, source["dataset_id"])
        assert part.config_for(source["lang"]) == source["config"]
        hub_splits = part.splits_for(source["lang"])[source["our_split"]]
        assert source["split"] in hub_splits
        assert source.get("revision", "main") == part.revision
        for index, row in enumerate(as_dataset(source)):
            expected = source["converted"][index]
            if part.select is not None and not part.select(row, source["lang"]):
                assert expected == NOT_SELECTED, (task, index)
                continue
            got = part.convert(row, source["lang"], index)
            assert got == expected, (task, source["config"], index)
            if got is not None:
                validate_row(got, spec.format, spec.labels, f"{task} row {index}", allow_unanswerable=spec.allow_unanswerable)


# ------------------------------------------------------------------------------------ prepare


def groups(fixture: dict) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    for source in fixture["sources"]:
        out.setdefault((source["our_split"], source["lang"]), []).append(source)
    return out


@pytest.mark.parametrize("path", HUB_FIXTURES, ids=lambda p: p.stem)
def test_prepare_hub_task_end_to_end(path, tmp_path, monkeypatch):
    fixture = load_fixture(path)
    task = fixture["task"]
    spec = HUB_DATASETS[task]
    fake = install(monkeypatch, FakeHub(fixture["sources"]))
    for (split, lang), sources in groups(fixture).items():
        fake.calls.clear()
        manifest = prepare_hub_task(task, tmp_path, languages=[lang], splits=[split])
        expected = [row for s in sources for row in s["converted"] if row is not None and row != NOT_SELECTED]
        written = read_jsonl(tmp_path / task / split / f"{lang}.jsonl")
        assert written == expected
        on_disk = load_fixture(tmp_path / task / "manifest.json")
        assert on_disk == manifest
        assert manifest["task"] == task and manifest["format"] == spec.format
        assert manifest["row_counts"] == {split: {lang: len(expected)}}
        assert manifest["dropped_rows"] == {split: {lang: sum(s["converted"].count(None) for s in sources)}}
        assert manifest["skipped_rows"] == {split: {lang: 0}}
        assert manifest["files"] == {split: {lang: f"{split}/{lang}.jsonl"}}
        assert manifest["eval_split"] == {lang: spec.eval_split_for(lang)}
        assert manifest["requested_revision"] is None
        # every (config, split) the fixture describes was loaded once, at the spec's pinned revision
        wanted = [(s["dataset_id"], s["config"], s["split"], s.get("revision", "main")) for s in sources]
        assert [(c["path"], c["name"], c["split"], c["revision"]) for c in fake.calls] == wanted
        assert not list((tmp_path / task).rglob(".*tmp*"))


def test_manifest_pins_the_requested_revision(tmp_path, monkeypatch):
    fixture = load_fixture(FIXTURES / "hub" / "panx.json")
    fake = install(monkeypatch, FakeHub(fixture["sources"]))
    rev = "0123456789abcdef0123456789abcdef01234567"
    manifest = prepare_hub_task(
        "panx", tmp_path, languages=["sw"], splits=["validation"], revision=rev, cache_dir=tmp_path / "cache"
    )
    assert fake.calls == [
        {"path": "google/xtreme", "name": "PAN-X.sw", "split": "validation", "revision": rev, "cache_dir": tmp_path / "cache"}
    ]
    assert manifest["revision"] == rev and manifest["requested_revision"] == rev
    assert manifest["dataset_id"] == "google/xtreme"
    assert manifest["configs"] == {"sw": "PAN-X.sw"}
    assert manifest["splits"] == {"validation": {"sw": ["google/xtreme:PAN-X.sw:validation"]}}
    resolved = manifest["resolved"]["PAN-X.sw/validation"]
    assert resolved["num_rows"] == 2 and resolved["fingerprint"] and resolved["commit"] is None
    assert manifest["labels"] == list(hub_sources.PANX_TAGS)
    assert manifest["datasets_version"] == datasets.__version__


def test_composite_task_revisions_per_dataset(tmp_path, monkeypatch):
    fixture = load_fixture(FIXTURES / "hub" / "anli_plus.json")
    fake = install(monkeypatch, FakeHub(fixture["sources"]))
    manifest = prepare_hub_task("anli_plus", tmp_path, revision={"facebook/anli": "anli-sha"})
    assert {(c["path"], c["revision"]) for c in fake.calls} == {
        ("stanfordnlp/snli", "main"),
        ("nyu-mll/glue", "main"),
        ("facebook/anli", "anli-sha"),
    }
    assert manifest["revision"] == {"stanfordnlp/snli": "main", "nyu-mll/glue": "main", "facebook/anli": "anli-sha"}
    assert manifest["row_counts"] == {"train": {"en": 6}, "validation": {"en": 3}}
    assert manifest["dropped_rows"] == {"train": {"en": 1}, "validation": {"en": 0}}
    train_ids = [row["id"] for row in read_jsonl(tmp_path / "anli_plus" / "train" / "en.jsonl")]
    assert train_ids == ["snli-0", "snli-2", "mnli-7", "anli-r1-0001", "anli-r2-0002", "anli-r3-0003"]


def test_max_rows_caps_each_file(tmp_path, monkeypatch):
    fixture = load_fixture(FIXTURES / "hub" / "anli_plus.json")
    install(monkeypatch, FakeHub(fixture["sources"]))
    manifest = prepare_hub_task("anli_plus", tmp_path, splits=["train"], max_rows=3)
    assert [r["id"] for r in read_jsonl(tmp_path / "anli_plus" / "train" / "en.jsonl")] == ["snli-0", "snli-2", "mnli-7"]
    assert manifest["max_rows"] == 3 and manifest["row_counts"] == {"train": {"en": 3}}


def test_bad_argument_values_raise_config_errors(tmp_path, monkeypatch):
    install(monkeypatch, FakeHub([]))
    with pytest.raises(ConfigError, match="no language 'xx'"):
        prepare_hub_task("panx", tmp_path, languages=["xx"])
    with pytest.raises(ConfigError, match="no split 'validation'"):
        prepare_hub_task("tatoeba", tmp_path, splits=["validation"])
    with pytest.raises(ConfigError, match="on_bad_row"):
        prepare_hub_task("panx", tmp_path, on_bad_row="ignore")


def bad_squad_sources():
    fixture = load_fixture(FIXTURES / "hub" / "squad.json")
    source = fixture["sources"][0]
    source["rows"][1]["answers"]["answer_start"][0] += 1  # "asil" instead of "basil"
    return fixture, source


def test_bad_row_error_names_dataset_file_and_row(tmp_path, monkeypatch):
    _, source = bad_squad_sources()
    install(monkeypatch, FakeHub([source]))
    with pytest.raises(DataError) as info:
        prepare_hub_task("squad", tmp_path, splits=["validation"])
    message = str(info.value)
    assert message.startswith("rajpurkar/squad config plain_text split validation row 1 (for squad/validation/en.jsonl): ")
    assert "answer 0 'basil' does not match the context at offset 27" in message
    assert not (tmp_path / "squad" / "validation" / "en.jsonl").exists()
    assert not list(tmp_path.rglob(".*tmp*"))
    assert not (tmp_path / "squad" / "manifest.json").exists()


def test_bad_rows_skipped_are_counted(tmp_path, monkeypatch):
    fixture, source = bad_squad_sources()
    install(monkeypatch, FakeHub([source]))
    manifest = prepare_hub_task("squad", tmp_path, splits=["validation"], on_bad_row="skip")
    assert manifest["skipped_rows"] == {"validation": {"en": 1}}
    assert manifest["row_counts"] == {"validation": {"en": 1}}
    assert len(manifest["skipped_examples"]) == 1 and "row 1" in manifest["skipped_examples"][0]
    assert read_jsonl(tmp_path / "squad" / "validation" / "en.jsonl") == [source["converted"][0]]


def test_unconvertible_hub_rows_are_bad_rows(tmp_path, monkeypatch):
    fixture = load_fixture(FIXTURES / "hub" / "panx.json")
    source = fixture["sources"][0]
    source["rows"][0]["ner_tags"] = [1, 0, 9, 0]  # 9 is not a PAN-X class index
    install(monkeypatch, FakeHub([source], raw=True))
    with pytest.raises(
        DataError,
        match=r"google/xtreme config PAN-X.sw split validation row 0 .*cannot convert the Hub row \(ner_tags\[2\] 9 is not an index",
    ):
        prepare_hub_task("panx", tmp_path, languages=["sw"], splits=["validation"])
    manifest = prepare_hub_task("panx", tmp_path, languages=["sw"], splits=["validation"], on_bad_row="skip")
    assert manifest["skipped_rows"] == {"validation": {"sw": 1}} and manifest["row_counts"] == {"validation": {"sw": 1}}


def test_duplicate_ids_are_bad_rows(tmp_path, monkeypatch):
    fixture = load_fixture(FIXTURES / "hub" / "qqp.json")
    source = fixture["sources"][0]
    source["rows"][1]["idx"] = source["rows"][0]["idx"]
    install(monkeypatch, FakeHub([source]))
    with pytest.raises(DataError, match="row 1 .*duplicate id '10'"):
        prepare_hub_task("qqp", tmp_path, splits=["validation"])


def test_no_rows_for_a_language_is_an_error(tmp_path, monkeypatch):
    fixture = load_fixture(FIXTURES / "hub" / "tydiqa.json")
    fake = install(monkeypatch, FakeHub(fixture["sources"]))
    with pytest.raises(DataError, match="produced no rows for split 'test' language 'ko'"):
        prepare_hub_task("tydiqa", tmp_path, languages=["ko"], splits=["test"])
    assert fake.calls[0]["name"] == "tydiqa" and fake.calls[0]["split"] == "validation"


def test_offline_failure_is_one_actionable_sentence(tmp_path, monkeypatch):
    cause = ConnectionError("Couldn't reach 'google/xtreme' on the Hub (OfflineModeIsEnabled)")

    def offline(*args, **kwargs):
        raise cause

    monkeypatch.setattr(datasets, "load_dataset", offline)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(DataError) as info:
        prepare_hub_task("panx", tmp_path, languages=["sw"], splits=["validation"])
    message = str(info.value)
    assert info.value.__cause__ is cause
    assert one_sentence(message), message
    for part in (
        "'google/xtreme'",
        "config 'PAN-X.sw'",
        "split 'validation'",
        "revision 'main'",
        "HF_DATASETS_OFFLINE is set",
        "run the data download rule",
        "source: local",
    ):
        assert part in message, part


def test_unknown_config_failure_message(tmp_path, monkeypatch):
    install(monkeypatch, FakeHub([]))
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(DataError) as info:
        prepare_hub_task("mlqa", tmp_path, languages=["vi"], splits=["test"])
    message = str(info.value)
    assert "'google/xtreme' (config 'MLQA.vi.vi', split 'test'" in message
    assert "no such config or split" in message and one_sentence(message)


def test_hf_environment_is_left_alone(tmp_path, monkeypatch):
    fixture = load_fixture(FIXTURES / "hub" / "qqp.json")
    install(monkeypatch, FakeHub(fixture["sources"]))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    before = {k: v for k, v in os.environ.items() if k.startswith("HF_")}
    prepare_hub_task("qqp", tmp_path, splits=["validation"])
    assert {k: v for k, v in os.environ.items() if k.startswith("HF_")} == before


def test_real_datasets_offline_mode_gives_the_data_error(tmp_path):
    """The real datasets.load_dataset under HF_HUB_OFFLINE with an empty HF_HOME (no network used)."""
    env = dict(
        os.environ,
        HF_HOME=str(tmp_path / "hf"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    )
    code = (
        "import sys\n"
        "from xstilts.data.hub import prepare_hub_task\n"
        "from xstilts.common.errors import DataError\n"
        "try:\n"
        f"    prepare_hub_task('panx', {str(tmp_path / 'out')!r}, languages=['sw'], splits=['validation'])\n"
        "except DataError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    message = done.stdout.strip()
    assert one_sentence(message), message
    assert "'google/xtreme' (config 'PAN-X.sw', split 'validation', revision 'main')" in message
    assert "HF_DATASETS_OFFLINE and HF_HUB_OFFLINE are set" in message


# ------------------------------------------------------------------------------------ validate_row

WHERE = "data/x/validation/en.jsonl row 7"


@pytest.mark.parametrize(
    "row, fmt, labels, kwargs, expected",
    [
        ({"id": "1", "text_a": " ", "text_b": "b", "label": "neutral"}, "classification", hub_sources.NLI_LABELS, {}, "text_a is empty"),
        (
            {"id": "1", "text_a": "a", "text_b": 3, "label": "neutral"},
            "classification",
            hub_sources.NLI_LABELS,
            {},
            "text_b is int, expected a string",
        ),
        (
            {"id": "1", "text_a": "a", "text_b": "b", "label": "maybe"},
            "classification",
            hub_sources.NLI_LABELS,
            {},
            "label 'maybe' is not one of",
        ),
        (
            {"id": "1", "text_a": "a", "text_b": "b", "label": 1},
            "classification",
            hub_sources.NLI_LABELS,
            {},
            "label is int 1, expected a label string",
        ),
        ({"id": "1", "text_a": "a", "label": "neutral"}, "classification", hub_sources.NLI_LABELS, {}, "missing text_b"),
        ({"id": "", "text_a": "a", "text_b": None, "label": "neutral"}, "classification", hub_sources.NLI_LABELS, {}, "id is empty"),
        (["not", "a", "dict"], "classification", hub_sources.NLI_LABELS, {}, "row is list, expected a JSON object"),
        (
            {"id": "1", "context": "c", "question": "q", "choices": ["a", "b", "c"], "label": 3},
            "multiple_choice",
            (0, 1, 2),
            {},
            "label 3 is outside the 3 choices",
        ),
        (
            {"id": "1", "context": "c", "question": "q", "choices": ["a", "b"], "label": 0},
            "multiple_choice",
            (0, 1, 2),
            {},
            "2 choices, expected 3",
        ),
        (
            {"id": "1", "context": None, "question": " ", "choices": ["a", "b"], "label": 0},
            "multiple_choice",
            None,
            {},
            "question is empty and there is no context",
        ),
        (
            {"id": "1", "context": "", "question": "q", "choices": ["a", "b"], "label": 0},
            "multiple_choice",
            None,
            {},
            "context is empty",
        ),
        (
            {"id": "1", "context": "c", "question": "q", "choices": ["a", ""], "label": 0},
            "multiple_choice",
            None,
            {},
            "choices[1] is empty",
        ),
        (
            {"id": "1", "context": "c", "question": "q", "choices": ["a", "b"], "label": "0"},
            "multiple_choice",
            None,
            {},
            "label is str '0', expected an integer index",
        ),
        (
            {"id": "1", "context": "abc def", "question": "q", "answers": {"text": ["def"], "answer_start": [3]}},
            "span_qa",
            None,
            {},
            "answer 0 'def' does not match the context at offset 3 (context there reads ' de')",
        ),
        (
            {"id": "1", "context": "abc def", "question": "q", "answers": {"text": ["def"], "answer_start": []}},
            "span_qa",
            None,
            {},
            "1 answer texts but 0 answer starts",
        ),
        (
            {"id": "1", "context": "abc def", "question": "q", "answers": {"text": [], "answer_start": []}},
            "span_qa",
            None,
            {"allow_unanswerable": False},
            "no answer",
        ),
        (
            {"id": "1", "context": "abc def", "question": "q", "answers": {"text": ["def"], "answer_start": ["4"]}},
            "span_qa",
            None,
            {},
            "answer_start[0] is str, expected an integer",
        ),
        (
            {"id": "1", "context": "abc def", "question": " ", "answers": {"text": [], "answer_start": []}},
            "span_qa",
            None,
            {},
            "question is empty",
        ),
        ({"id": "1", "tokens": ["a", "b"], "tags": ["O"]}, "tagging", hub_sources.PANX_TAGS, {}, "2 tokens but 1 tags"),
        (
            {"id": "1", "tokens": ["a"], "tags": ["B-MISC"]},
            "tagging",
            hub_sources.PANX_TAGS,
            {},
            "tags[0] 'B-MISC' is not one of the task's tags",
        ),
        ({"id": "1", "tokens": [], "tags": []}, "tagging", hub_sources.PANX_TAGS, {}, "tokens is empty"),
        ({"id": "1", "tokens": "a b", "tags": ["O", "O"]}, "tagging", hub_sources.PANX_TAGS, {}, "tokens and tags must be lists"),
        ({"id": "1", "source": "Hallo.", "target": ""}, "retrieval", None, {}, "target is empty"),
    ],
)
def test_validate_row_errors(row, fmt, labels, kwargs, expected):
    with pytest.raises(DataError) as info:
        validate_row(row, fmt, labels, WHERE, **kwargs)
    message = str(info.value)
    assert message.startswith(WHERE + ": "), message
    assert expected in message, message


def test_validate_row_accepts_good_rows():
    validate_row({"id": "1", "text_a": "a", "text_b": None, "label": "neutral"}, "classification", hub_sources.NLI_LABELS, WHERE)
    validate_row(
        {"id": "1", "context": None, "question": "q", "choices": ["a", "b"], "label": 1}, "multiple_choice", (0, 1), WHERE
    )
    validate_row({"id": "1", "context": "c", "question": "", "choices": ["a", "b"], "label": 0}, "multiple_choice", None, WHERE)
    validate_row(
        {"id": "1", "context": "abc def", "question": "q", "answers": {"text": ["def"], "answer_start": [4]}},
        "span_qa",
        None,
        WHERE,
        allow_unanswerable=False,
    )
    validate_row({"id": "1", "tokens": ["a"], "tags": ["(S\\NP)/NP"]}, "tagging", None, WHERE)
    with pytest.raises(ConfigError):
        validate_row({"id": "1"}, "regression", None, WHERE)


# ------------------------------------------------------------------------------------ release files

COSMOS_TRAIN = [
    {
        "id": "fake##Blog_1##q1_a1",
        "context": "I missed the last bus , so I walked home in the rain . My shoes were soaked when I arrived .",
        "question": "Why were the shoes soaked ?",
        "choices": ["I walked in the rain .", "I washed them .", "I stepped in soup .", "None of the above choices ."],
        "label": 0,
    },
    {
        "id": "fake##Blog_2##q1_a1",
        "context": "We baked bread on Sunday , and the kitchen smelled wonderful for hours .\n"
        "Everyone came to the kitchen to ask when it would be ready .",
        "question": "What may happen next ?",
        "choices": [
            "They throw the bread away .",
            "They leave the house .",
            "They share the warm bread .",
            "None of the above choices .",
        ],
        "label": 2,
    },
]
COSMOS_VALID = [
    {
        "id": "fake##Blog_3##q1_a1",
        "context": "My sister finally passed her driving test , after failing it twice .",
        "question": "How might the sister feel ?",
        "choices": ["Bored", "Relieved", "None", "Hungry"],
        "label": 1,
    },
]


def test_read_cosmosqa_release_files():
    directory = RELEASE / "cosmosqa"
    assert release_files.read_cosmosqa(directory, "train") == COSMOS_TRAIN
    assert release_files.read_cosmosqa(directory, "validation") == COSMOS_VALID
    assert release_files.read_cosmosqa(directory / "valid.csv", "validation") == COSMOS_VALID
    assert release_files.read_cosmosqa(str(directory), "dev") == COSMOS_VALID
    test = release_files.read_cosmosqa(directory, "test")
    assert test == [
        {
            "id": "fake##Blog_4##q1_a1",
            "context": "The power went out during the storm , so we lit candles .",
            "question": "Why did they light candles ?",
            "choices": ["To see in the dark .", "To cook dinner .", "To celebrate a birthday .", "None of the above choices ."],
            "label": None,
        }
    ]
    for row in COSMOS_TRAIN + COSMOS_VALID:
        validate_row(row, "multiple_choice", HUB_DATASETS["cosmosqa"].labels, "cosmosqa")


def test_read_cosmosqa_errors(tmp_path):
    with pytest.raises(DataError) as info:
        release_files.read_cosmosqa(tmp_path / "nowhere", "train")
    assert "train.csv" in str(info.value) and "cosmosqa path in the config" in str(info.value)
    assert one_sentence(str(info.value))
    bad = tmp_path / "train.csv"
    bad.write_text("id,context,question,answer0,answer1,answer2,answer3,label\nx,c,q,a,b,c,d,two\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train.csv:2: label 'two' is not an integer 0-3"):
        release_files.read_cosmosqa(tmp_path, "train")
    bad.write_text("id,context,question,answer0,label\nx,c,q,a,1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train.csv:1: header lacks Cosmos QA column\(s\) answer1, answer2, answer3"):
        release_files.read_cosmosqa(tmp_path, "train")
    with pytest.raises(ConfigError):
        release_files.read_cosmosqa(tmp_path, "dev_2")


def test_read_ccgbank_sections():
    root = RELEASE / "ccgbank"
    assert release_files.read_ccgbank(root, "train") == [
        {"id": "wsj_0201.1", "tokens": ["Ada", "smiled", "."], "tags": ["N", "S[dcl]\\NP", "."]},
        {"id": "wsj_2101.1", "tokens": ["Prices", "fell"], "tags": ["N", "S[dcl]\\NP"]},
    ]
    assert release_files.read_ccgbank(root, "validation") == [
        {"id": "wsj_0001.1", "tokens": ["Bakers", "sell", "bread", "."], "tags": ["N", "(S[dcl]\\NP)/NP", "N", "."]},
        {
            "id": "wsj_0001.2",
            "tokens": ["The", "oven", "is", "hot"],
            "tags": ["NP[nb]/N", "N", "(S[dcl]\\NP)/(S[adj]\\NP)", "S[adj]\\NP"],
        },
    ]
    assert release_files.read_ccgbank(root / "data" / "AUTO", "test") == [
        {"id": "wsj_2301.1", "tokens": ["Markets", "rose", ","], "tags": ["N", "S[dcl]\\NP", ","]},
    ]


def test_read_ccgbank_missing_root(tmp_path):
    with pytest.raises(DataError) as info:
        release_files.read_ccgbank(tmp_path / "ccgbank_1_1", "train")
    message = str(info.value)
    assert "LDC2005T13" in message and "Linguistic Data Consortium" in message and "in the config" in message
    assert one_sentence(message), message
    with pytest.raises(ConfigError):
        release_files.read_ccgbank(RELEASE / "ccgbank", "dev_2")


def test_read_ccgbank_rejects_broken_derivations(tmp_path):
    section = tmp_path / "data" / "AUTO" / "23"
    section.mkdir(parents=True)
    (section / "wsj_2302.auto").write_text("ID=wsj_2302.1 PARSER=GOLD NUMPARSE=1\n(<T S[dcl] 0 2> )\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"wsj_2302.auto:2: derivation has no \(<L \.\.\.>\) leaves"):
        release_files.read_ccgbank(tmp_path, "test")


def test_read_bucc_release():
    root = RELEASE / "bucc2018"
    src_ids, src_sents, tgt_ids, tgt_sents, gold = release_files.read_bucc(root, "de", "sample")
    assert src_ids == ["de-000001", "de-000002", "de-000003"]
    assert src_sents == [
        "Der Hafen ist im Winter ruhig.",
        "Die Bäckerei öffnet früh am Morgen.",
        "Ein Fahrrad steht vor der Tür.",
    ]
    assert tgt_ids == ["en-000001", "en-000002", "en-000003", "en-000004"]
    assert tgt_sents[2] == "The harbor is quiet in winter."
    assert gold == [("de-000001", "en-000003"), ("de-000002", "en-000001")]
    training = release_files.read_bucc(root / "de-en", "de", release_files.XTREME_BUCC_SPLITS["test"])
    assert training == (
        ["de-000101", "de-000102"],
        ["Das Museum ist montags geschlossen.", "Wir trinken Tee am Nachmittag."],
        ["en-000101", "en-000102"],
        ["We drink tea in the afternoon.", "The train left without us."],
        [("de-000102", "en-000101")],
    )
    assert release_files.read_bucc(root, "de", "test")[4] == []


def test_read_bucc_errors(tmp_path):
    with pytest.raises(DataError) as info:
        release_files.read_bucc(tmp_path, "fr", "sample")
    message = str(info.value)
    assert "fr-en.sample.fr" in message and "bucc2018-fr-en.sample-gold.tar.bz2" in message and one_sentence(message)
    for name in ("de-en.sample.de", "de-en.sample.en"):
        (tmp_path / name).write_bytes((RELEASE / "bucc2018" / "de-en" / name).read_bytes())
    (tmp_path / "de-en.sample.gold").write_text("de-000001\ten-000003\nde-000009\ten-000001\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"de-en.sample.gold:2: de-000009 is not an id of de-en.sample.de"):
        release_files.read_bucc(tmp_path, "de", "sample")
    (tmp_path / "de-en.sample.gold").unlink()
    with pytest.raises(DataError, match="de-en.sample.gold was not found"):
        release_files.read_bucc(tmp_path, "de", "sample")
    with pytest.raises(ConfigError):
        release_files.read_bucc(tmp_path, "de", "dev")
    with pytest.raises(ConfigError):
        release_files.read_bucc(tmp_path, "es", "sample")


def test_prepare_release_task_writes_files_and_manifest(tmp_path):
    manifest = release_files.prepare_release_task("cosmosqa", RELEASE / "cosmosqa", tmp_path, languages=["en"])
    assert read_jsonl(tmp_path / "cosmosqa" / "train" / "en.jsonl") == COSMOS_TRAIN
    assert read_jsonl(tmp_path / "cosmosqa" / "validation" / "en.jsonl") == COSMOS_VALID
    assert manifest["row_counts"] == {"train": {"en": 2}, "validation": {"en": 1}}
    assert manifest["source"] == "release" and manifest["skipped_rows"] == {"train": {"en": 0}, "validation": {"en": 0}}
    assert load_fixture(tmp_path / "cosmosqa" / "manifest.json") == manifest
    ccg = release_files.prepare_release_task("ccg", RELEASE / "ccgbank", tmp_path, splits=["test"])
    assert ccg["row_counts"] == {"test": {"en": 1}}
    assert read_jsonl(tmp_path / "ccg" / "test" / "en.jsonl")[0]["tags"] == ["N", "S[dcl]\\NP", ","]
    with pytest.raises(ConfigError):
        release_files.prepare_release_task("cosmosqa", RELEASE / "cosmosqa", tmp_path, splits=["test"])
    with pytest.raises(ConfigError):
        release_files.prepare_release_task("cosmosqa", RELEASE / "cosmosqa", tmp_path, languages=["de"])
    with pytest.raises(ConfigError):
        release_files.prepare_release_task("panx", RELEASE / "cosmosqa", tmp_path)
    with pytest.raises(DataError, match="LDC2005T13"):
        release_files.prepare_release_task("ccg", tmp_path / "no-ccgbank", tmp_path)


def test_prepare_release_task_checks_bucc_and_writes_its_manifest(tmp_path):
    manifest = release_files.prepare_release_task("bucc", RELEASE / "bucc2018", tmp_path, languages=["de"])
    assert manifest["mining"] is True and manifest["eval_split"] == {"de": "test"}
    assert manifest["splits"] == {"validation": "sample", "test": "training"}
    assert manifest["row_counts"] == {
        "validation": {"de": {"source_sentences": 3, "target_sentences": 4, "gold_pairs": 2}},
        "test": {"de": {"source_sentences": 2, "target_sentences": 2, "gold_pairs": 1}},
    }
    assert load_fixture(tmp_path / "bucc" / "manifest.json") == manifest
    assert not (tmp_path / "bucc" / "test").exists()
    with pytest.raises(DataError, match="fr-en.sample.fr was not found"):
        release_files.prepare_release_task("bucc", RELEASE / "bucc2018", tmp_path, languages=["fr"])


def test_prepare_release_task_skips_and_counts_bad_rows(tmp_path):
    data = tmp_path / "cosmos"
    data.mkdir()
    (data / "valid.csv").write_text(
        "id,context,question,answer0,answer1,answer2,answer3,label\n"
        "a,Some context .,Why ?,x,y,z,w,1\n"
        "b,Other context .,Why ?,x,,z,w,0\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"cosmosqa validation release row 1 \(id b\): choices\[1\] is empty"):
        release_files.prepare_release_task("cosmosqa", data, tmp_path / "out", splits=["validation"])
    manifest = release_files.prepare_release_task("cosmosqa", data, tmp_path / "out", splits=["validation"], on_bad_row="skip")
    assert manifest["skipped_rows"] == {"validation": {"en": 1}} and manifest["row_counts"] == {"validation": {"en": 1}}
