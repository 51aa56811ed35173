"""Research-question analyses and the config presets that run them (config/rq/)."""

import json

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from xstilts.analysis import category_table, task_gains, write_task_category
from xstilts.config import Experiment, load_yaml, merge_configs, resolve_extends
from xstilts.errors import ConfigError
from xstilts.plan import Plan, intermediate_category
from xstilts.report import LONG_COLUMNS
from xstilts.tasks import build_registry


def _long(rows):
    df = pd.DataFrame([dict(zip(["model", "pipeline", "target", "seed", "language", "metric", "value", "main"], r),
                            train_task="t", split="test", n=10) for r in rows])[LONG_COLUMNS]  # fmt: skip
    df["seed"] = df["seed"].astype("Int64")
    return df


CATS = {"mnli": "nli", "anli": "nli", "squad": "extractive_qa"}
GROUPS = {"udpos": "syntactic", "xnli": "semantic", "tatoeba": "semantic"}


def _grid():
    rows = []
    base = {"udpos": 0.70, "xnli": 0.75, "tatoeba": 0.50}
    gain = {("mnli", "udpos"): 0.01, ("mnli", "xnli"): 0.04, ("mnli", "tatoeba"): 0.10,
            ("anli", "udpos"): -0.01, ("anli", "xnli"): 0.02, ("anli", "tatoeba"): 0.06,
            ("squad", "udpos"): 0.00, ("squad", "xnli"): 0.01, ("squad", "tatoeba"): 0.08}  # fmt: skip
    for seed in (0, 1):
        for t, v in base.items():
            if t != "tatoeba":
                rows.append(("m", "none", t, seed, "de", "accuracy", v + 0.01 * seed, True))
        for p in CATS:
            for t, v in base.items():
                # seed s of a pipeline against seed s of none (+0.01 s on both); tatoeba's none is seed-free
                rows.append(("m", p, t, seed, "de", "accuracy", v + gain[(p, t)] + (0.01 * seed if t != "tatoeba" else 0.02 * seed), True))
    rows.append(("m", "none", "tatoeba", None, "de", "accuracy", base["tatoeba"], True))
    return _long(rows)


def test_gains_pair_seeds_and_categories_average_their_tasks(tmp_path):
    gains = task_gains(_grid(), CATS, GROUPS).set_index(["pipeline", "target"])
    assert gains.loc[("mnli", "xnli"), "gain"] == pytest.approx(0.04) and gains.loc[("mnli", "xnli"), "seed_sd"] == pytest.approx(0.0)
    # seed-free baseline: 0.60 and 0.62 against 0.50
    assert gains.loc[("mnli", "tatoeba"), "gain"] == pytest.approx(0.11)
    assert gains.loc[("mnli", "tatoeba"), "seed_sd"] == pytest.approx(np.std([0.10, 0.12], ddof=1))
    table = category_table(task_gains(_grid(), CATS, GROUPS)).set_index(["category", "column"])
    assert table.loc[("nli", "xnli"), "mean"] == pytest.approx(0.03) and table.loc[("nli", "xnli"), "n_tasks"] == 2
    assert table.loc[("nli", "xnli"), "task_sd"] == pytest.approx(np.std([0.04, 0.02], ddof=1))
    # all semantic: per task the mean over xnli and tatoeba, then over the category's tasks
    assert table.loc[("nli", "all semantic"), "mean"] == pytest.approx(((0.04 + 0.11) / 2 + (0.02 + 0.07) / 2) / 2)
    assert table.loc[("extractive_qa", "all syntactic"), "mean"] == pytest.approx(0.0)
    write_task_category(_grid(), CATS, GROUPS, str(tmp_path / "tc"), str(tmp_path / "tc.png"))
    md = (tmp_path / "tc.md").read_text()
    assert "+3.0 ± 1.4 (2)" in md and "Syntactic targets: udpos; semantic: tatoeba, xnli" in md
    assert (tmp_path / "tc.png").read_bytes()[:4] == b"\x89PNG"
    assert len(pd.read_csv(tmp_path / "tc_points.csv")) == 9


def test_intermediate_categories_of_registered_tasks():
    reg = build_registry({})
    assert [intermediate_category(reg[t]) for t in ("mnli", "qqp", "squad", "hellaswag", "ccg")] == [
        "nli", "paraphrase", "extractive_qa", "commonsense_mc", "syntactic_tagging"]  # fmt: skip
    # targets used as intermediate tasks: by format and labels
    assert [intermediate_category(reg[t]) for t in ("xnli", "pawsx", "tydiqa", "udpos")] == [
        "nli", "paraphrase", "extractive_qa", "syntactic_tagging"]  # fmt: skip


def test_presets_extend_a_base_with_lists_replaced(tmp_path):
    assert merge_configs({"a": {"x": 1, "y": [1, 2]}, "b": 1}, {"a": {"y": [3]}, "c": 2}) == {"a": {"x": 1, "y": [3]}, "b": 1, "c": 2}
    (tmp_path / "base.yaml").write_text("experiment: base\nseeds: [0, 1, 2]\nreport: {figure: {width: 5}}\n")
    (tmp_path / "mid.yaml").write_text(f"extends: {tmp_path / 'base.yaml'}\nseeds: [7]\n")
    cfg = resolve_extends({"extends": str(tmp_path / "mid.yaml"), "report": {"figure": {"dpi": 100}}})
    assert cfg == {"experiment": "base", "seeds": [7], "report": {"figure": {"width": 5, "dpi": 100}}}
    (tmp_path / "loop.yaml").write_text(f"extends: {tmp_path / 'loop.yaml'}\n")
    with pytest.raises(ConfigError, match="cycle"):
        resolve_extends({"extends": str(tmp_path / "loop.yaml")})
    with pytest.raises(ConfigError, match="config key 'extends' names '.*nowhere.yaml', which does not exist"):
        resolve_extends({"extends": "nowhere.yaml"})


def test_task_category_presets_resolve():
    exp = Experiment(load_yaml(ROOT / "config/rq/task-category.yaml"))
    spec = json.loads(Plan(exp).task_category_params())
    assert exp.name == "rq-task-category" and exp.seeds == [0, 1, 2] and exp.analyses == ["task_category"]
    assert spec["categories"]["siqa"] == "commonsense_mc" and "mnli_mlm" not in spec["categories"]
    assert spec["groups"] == {"udpos": "syntactic", "panx": "syntactic", **{t: "semantic" for t in
                              ("xnli", "pawsx", "xquad", "mlqa", "tydiqa", "bucc", "tatoeba")}}  # fmt: skip
    assert exp.hparams("target", "udpos")["epochs"] == Experiment(load_yaml(ROOT / "config.yaml")).hparams("target", "udpos")["epochs"]
    mini = Experiment(load_yaml(ROOT / "config/rq/task-category-mini.yaml"))
    spec = json.loads(Plan(mini).task_category_params())
    assert spec["categories"] == {"siqa": "commonsense_mc", "cosmosqa": "commonsense_mc", "tydiqa": "extractive_qa", "xnli": "nli"}
    assert mini.model_pipelines("e5-small") == ["none", "siqa", "cosmosqa", "tydiqa", "xnli"]


def test_unknown_names_in_analysis_overrides_are_refused():
    cfg = load_yaml(ROOT / "config/tiny.yaml")
    cfg["report"]["task_category"] = {"categories": {"nosuch": "nli"}}
    with pytest.raises(ConfigError, match="report.task_category.categories.nosuch' names no pipeline"):
        Experiment(cfg)
