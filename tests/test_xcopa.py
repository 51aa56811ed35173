"""XCOPA and COPA (XTREME-R's recipe: Social IQa, then COPA, then zero-shot XCOPA): registry entries
and the Hub converter on rows in the exact Hub schemas (tests/fixtures/hub/{copa,xcopa}.json, which
tests/test_hub.py also runs end to end through prepare_hub_task)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets import Dataset, Features

from xstilts.data.hub_sources import HUB_DATASETS, HubSpec, convert_copa
from xstilts.data.registry import BUILTIN_TASKS
from xstilts.data.rows import validate_row

FIXTURES = Path(__file__).parent / "fixtures" / "hub"
XCOPA = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")


def hub_rows(task: str) -> list[tuple[dict, dict, dict]]:
    """(source, Hub row as datasets decodes it, expected row) of a fixture."""
    fixture = json.loads((FIXTURES / f"{task}.json").read_text(encoding="utf-8"))
    out = []
    for source in fixture["sources"]:
        ds = Dataset.from_list(source["rows"], features=Features.from_dict(source["features"]))
        out += [(source, row, expected) for row, expected in zip(ds, source["converted"])]
    return out


def test_registry():
    copa, xcopa = BUILTIN_TASKS["copa"], BUILTIN_TASKS["xcopa"]
    assert (copa.format, copa.metric, copa.languages, copa.eval_split) == ("multiple_choice", "accuracy", ("en",), "validation")
    assert copa.category == "commonsense_mc" and copa.trained
    assert (xcopa.format, xcopa.metric, xcopa.eval_split, xcopa.category) == ("multiple_choice", "accuracy", "test", "semantic")
    assert xcopa.languages == XCOPA and "en" not in xcopa.languages  # XTREME-R scores the 11 XCOPA languages
    assert xcopa.trainer == "copa" and xcopa.train_first == ("siqa",) and "siqa" in BUILTIN_TASKS
    spec = HUB_DATASETS["xcopa"]
    assert isinstance(spec, HubSpec) and spec.dataset_id == "cambridgeltl/xcopa" and spec.revision == "main"
    assert spec.languages == XCOPA and spec.config_for("qu") == "qu" and spec.eval_split == "test"
    assert spec.splits_for("et") == {"validation": ("validation",), "test": ("test",)}
    copa_spec = HUB_DATASETS["copa"]
    assert (copa_spec.dataset_id, copa_spec.config_for("en"), copa_spec.revision) == (
        "aps/super_glue",
        "copa",
        "refs/convert/parquet",
    )
    assert copa_spec.splits_for("en") == {"train": ("train",), "validation": ("validation",)}  # test labels hidden


@pytest.mark.parametrize("task", ["copa", "xcopa"])
def test_converter_on_hub_rows(task):
    rows = hub_rows(task)
    assert rows
    for source, row, expected in rows:
        got = convert_copa(row, source["lang"], 0)
        assert got == expected
        validate_row(got, "multiple_choice", (0, 1), task)


def test_cause_and_effect_questions():
    base = {"premise": "The lamp went dark.", "choice1": "a", "choice2": "b", "idx": 7, "label": 1}
    assert convert_copa({**base, "question": "cause"}, "en", 0)["question"] == "What was the cause?"
    assert convert_copa({**base, "question": "effect"}, "en", 0)["question"] == "What happened as a result?"
    with pytest.raises(ValueError, match="neither 'cause' nor 'effect'"):
        convert_copa({**base, "question": "why"}, "en", 0)


def test_labels():
    base = {"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "idx": 1}
    assert convert_copa({**base, "label": -1}, "en", 0) is None  # SuperGLUE's hidden test label
    for bad in (2, True, "1"):
        with pytest.raises(ValueError, match="is not 0 \\(choice1\\) or 1 \\(choice2\\)"):
            convert_copa({**base, "label": bad}, "en", 0)
