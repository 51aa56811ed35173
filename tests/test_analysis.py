"""Research-question analyses and the config presets that run them (config/rq/)."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, load_script

from xstilts.common.errors import ConfigError
from xstilts.data.registry import build_registry
from xstilts.reporting.analyses import (
    category_table,
    low_resource_tables,
    mixed_language_table,
    order_table,
    scale_table,
    task_gains,
    write_low_resource,
    write_mixed_language,
    write_order,
    write_scale,
    write_task_category,
)
from xstilts.reporting.tables import LONG_COLUMNS
from xstilts.workflow.config import Experiment, load_yaml, merge_configs, resolve_extends
from xstilts.workflow.plan import Plan, intermediate_category


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
    # null removes one of the base's mappings, and only a mapping: a null value stays a value
    assert merge_configs({"m": {"a": {"k": 1}, "b": {"k": 2}}, "n": 3}, {"m": {"b": None}, "n": None, "o": None}) == {
        "m": {"a": {"k": 1}}, "n": None, "o": None}
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


# ----------------------------------------------------------------------------- low-resource, scale, order, mixed-language


def _seeded(model, pipeline, target, per_seed: dict, metric="accuracy"):
    """Rows from {seed: {language: value}} (seed None: a seed-free row)."""
    return [(model, pipeline, target, seed, lang, metric, v, True) for seed, langs in per_seed.items() for lang, v in langs.items()]


CLASSES = {"de": 4, "sw": 2, "yo": 1}  # English absent: class 5


def _low_resource_long():
    rows = [
        *_seeded("m", "none_multilingual", "xnli", {0: {"en": 0.80, "de": 0.70, "sw": 0.50, "yo": 0.40},
                                                    1: {"en": 0.82, "de": 0.72, "sw": 0.52, "yo": 0.42}}),
        *_seeded("m", "mnli", "xnli", {0: {"en": 0.84, "de": 0.73, "sw": 0.56, "yo": 0.42},
                                       1: {"en": 0.84, "de": 0.75, "sw": 0.60, "yo": 0.46}}),
        *_seeded("m", "none_multilingual", "tatoeba", {None: {"de": 0.60, "sw": 0.30}}),  # retrieval: seed-free baseline
        *_seeded("m", "mnli", "tatoeba", {0: {"de": 0.62, "sw": 0.40}, 1: {"de": 0.64, "sw": 0.36}}),
        ("m", "mnli", "xnli", 0, "en", "loss", 9.0, False),  # not the main metric: ignored
    ]  # fmt: skip
    return _long(rows)


def test_low_resource_scores_by_class_gap_worst_language_and_paired_gains(tmp_path):
    table, languages = low_resource_tables(_low_resource_long(), CLASSES, "none_multilingual", None)
    t = table.set_index(["target", "pipeline"])
    assert [c for c in table.columns if c.startswith("class")] == ["class 1", "class 2", "class 4", "class 5"]
    mnli, base = t.loc[("xnli", "mnli")], t.loc[("xnli", "none_multilingual")]
    assert (mnli["class 1"], mnli["class 2"], mnli["class 4"], mnli["class 5"]) == pytest.approx((0.44, 0.58, 0.74, 0.84))
    assert base["class 1"] == pytest.approx(0.41) and np.isnan(base["gain class 1"])
    # gains paired by seed: yo 0.02 and 0.04, sw 0.06 and 0.08, de 0.03 and 0.03
    assert mnli["gain class 1"] == pytest.approx(0.03) and mnli["gain class 1 sd"] == pytest.approx(0.02**0.5 / 10)
    assert mnli["gain class 2"] == pytest.approx(0.07) and mnli["gain class 4 sd"] == pytest.approx(0.0)
    assert mnli["English"] == pytest.approx(0.84)
    # gap per seed: 0.84 - (0.73 + 0.56 + 0.42) / 3 = 0.27 and 0.84 - (0.75 + 0.60 + 0.46) / 3
    assert mnli["gap"] == pytest.approx((0.27 + 0.84 - 1.81 / 3) / 2) and base["gap"] == pytest.approx(0.80 - 1.60 / 3)
    assert (mnli["worst language"], mnli["worst"]) == ("yo", pytest.approx(0.44))
    # mean over the 4 languages: 0.6375 and 0.6625 per seed
    assert mnli["mean"] == pytest.approx(0.65) and mnli["seed sd"] == pytest.approx(0.025 / 2**0.5)
    # seed-free baseline against both seeds; no English: no gap, no class 5
    tat, tat_base = t.loc[("tatoeba", "mnli")], t.loc[("tatoeba", "none_multilingual")]
    assert tat["gain class 2"] == pytest.approx(0.08) and tat["gain class 2 sd"] == pytest.approx(0.04 / 2**0.5)
    assert np.isnan(tat["gap"]) and np.isnan(tat["class 5"]) and np.isnan(tat["English"]) and tat["worst language"] == "sw"
    assert tat_base["n_seeds"] == 1 and np.isnan(tat_base["seed sd"])
    lang = languages.set_index(["target", "pipeline", "language"])
    assert lang.loc[("xnli", "mnli", "sw"), "gain"] == pytest.approx(0.07) and lang.loc[("xnli", "mnli", "sw"), "class"] == 2
    assert list(languages[(languages["target"] == "xnli") & (languages["pipeline"] == "mnli")]["language"]) == ["yo", "sw", "de", "en"]

    write_low_resource(_low_resource_long(), CLASSES, str(tmp_path / "lr"), str(tmp_path / "lr.png"), baseline="none_multilingual")
    md = (tmp_path / "lr.md").read_text()
    assert "44.0 (+3.0 ± 1.4)" in md and "44.0 (yo)" in md and "2 seeds (fewer than 3: the evidence is weak)" in md
    assert "$+$3.0 $\\pm$ 1.4" in (tmp_path / "lr.tex").read_text() and "none\\_multilingual" in (tmp_path / "lr.tex").read_text()
    assert (tmp_path / "lr.png").read_bytes()[:4] == b"\x89PNG"
    assert len(pd.read_csv(tmp_path / "lr_languages.csv")) == 12
    assert pd.read_csv(tmp_path / "lr.csv").set_index(["target", "pipeline"]).loc[("xnli", "mnli"), "gain class 2"] == pytest.approx(0.07)


def test_low_resource_errors_name_what_is_missing():
    long = _low_resource_long()
    with pytest.raises(ValueError, match="language 'yo' has no resource class"):
        low_resource_tables(long, {"de": 4, "sw": 2}, "none_multilingual", None)
    with pytest.raises(ValueError, match="baseline pipeline 'nosuch'"):
        low_resource_tables(long, CLASSES, "nosuch", None)
    with pytest.raises(ValueError, match="pipeline\\(s\\) 'xnli_mt'"):
        low_resource_tables(long, CLASSES, "none_multilingual", ["xnli_mt"])
    no_base = long[~((long["pipeline"] == "none_multilingual") & (long["target"] == "tatoeba"))]
    with pytest.raises(ValueError, match="'none_multilingual' for model 'm' on target 'tatoeba'"):
        low_resource_tables(no_base, CLASSES, "none_multilingual", None)


def _scale_long():
    rows = []
    # per-seed gains: large xnli 0.02, 0.02, tatoeba 0.04, 0.06; small xnli 0.05, 0.07, tatoeba 0.10, 0.14
    for model, g_x, g_t in (("large", (0.02, 0.02), (0.04, 0.06)), ("small", (0.05, 0.07), (0.10, 0.14))):
        rows += _seeded(model, "none", "xnli", {0: {"de": 0.70, "fr": 0.60}, 1: {"de": 0.72, "fr": 0.62}})
        rows += _seeded(model, "mnli", "xnli", {s: {"de": 0.70 + 0.02 * s + g_x[s], "fr": 0.60 + 0.02 * s + g_x[s]} for s in (0, 1)})
        rows += _seeded(model, "none", "tatoeba", {None: {"de": 0.50}})
        rows += _seeded(model, "mnli", "tatoeba", {s: {"de": 0.50 + g_t[s]} for s in (0, 1)})
    return _long(rows)


def test_scale_gains_by_model_size_with_the_mean_over_targets(tmp_path):
    sizes = {"large": 300.0, "small": 100.0}
    table = scale_table(_scale_long(), sizes, "none", None)
    assert list(table["model"].drop_duplicates()) == ["small", "large"] and list(table["column"][:3]) == ["xnli", "tatoeba", "mean"]
    t = table.set_index(["model", "column"])
    assert t.loc[("small", "xnli"), "gain"] == pytest.approx(0.06) and t.loc[("small", "xnli"), "gain_sd"] == pytest.approx(0.02 / 2**0.5)
    assert t.loc[("small", "tatoeba"), "gain"] == pytest.approx(0.12)  # seed-free none against both seeds
    # mean over targets per seed: 0.075 and 0.105
    assert t.loc[("small", "mean"), "gain"] == pytest.approx(0.09) and t.loc[("small", "mean"), "gain_sd"] == pytest.approx(0.03 / 2**0.5)
    assert t.loc[("large", "mean"), "gain"] == pytest.approx(0.035) and t.loc[("large", "xnli"), "gain_sd"] == pytest.approx(0.0)
    assert t.loc[("large", "xnli"), "params_millions"] == 300.0
    write_scale(_scale_long(), sizes, str(tmp_path / "sc"), str(tmp_path / "sc.png"))
    md = (tmp_path / "sc.md").read_text()
    assert "| mnli       | small   | 100          | +6.0 ± 1.4 | +12.0 ± 2.8 | +9.0 ± 2.1 |" in md
    csv = pd.read_csv(tmp_path / "sc.csv").set_index("model")
    assert csv.loc["large", "tatoeba"] == pytest.approx(0.05) and csv.loc["large", "mean_seeds"] == 2
    assert (tmp_path / "sc.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="model\\(s\\) 'large' have no size"):
        scale_table(_scale_long(), {"small": 100.0}, "none", None)


ORDER = {"nli_qa": ["a+b", "b+a", "multitask"], "curriculum": ["b+a", "a+b"]}


def _order_long():
    values = {"none": ((0.70, 0.72), (0.50, 0.50)), "a+b": ((0.74, 0.74), (0.55, 0.57)),
              "b+a": ((0.71, 0.75), (0.52, 0.52)), "multitask": ((0.73, 0.73), (0.56, 0.54))}  # (xnli, tydiqa) per seed
    rows = []
    for p, (xnli, tydiqa) in values.items():
        rows += _seeded("m", p, "xnli", {s: {"de": xnli[s]} for s in (0, 1)})
        rows += _seeded("m", p, "tydiqa", {s: {"de": tydiqa[s]} for s in (0, 1)}, metric="f1")
    return _long(rows)


def test_order_differences_from_the_baseline_and_from_the_first_pipeline(tmp_path):
    table = order_table(_order_long(), ORDER, "none")
    t = table.set_index(["comparison", "pipeline", "column"]).sort_index()
    ba = t.loc[("nli_qa", "b+a")]
    assert ba.loc["xnli", "score"] == pytest.approx(0.73) and ba.loc["xnli", "score_sd"] == pytest.approx(0.04 / 2**0.5)
    assert ba.loc["xnli", "gain"] == pytest.approx(0.02)  # 0.01, 0.03
    # against a+b seed by seed: xnli -0.03, +0.01; tydiqa -0.03, -0.05; mean over targets -0.03, -0.02
    assert ba.loc["xnli", "vs_first"] == pytest.approx(-0.01) and ba.loc["xnli", "vs_first_sd"] == pytest.approx(0.04 / 2**0.5)
    assert ba.loc["tydiqa", "vs_first"] == pytest.approx(-0.04) and ba.loc["mean", "vs_first"] == pytest.approx(-0.025)
    assert ba.loc["mean", "vs_first_sd"] == pytest.approx(0.01 / 2**0.5)
    assert np.isnan(t.loc[("nli_qa", "a+b", "xnli"), "vs_first"]) and t.loc[("curriculum", "a+b", "xnli"), "vs_first"] == pytest.approx(0.01)
    assert list(table[table["comparison"] == "curriculum"]["pipeline"].drop_duplicates()) == ["b+a", "a+b"]
    write_order(_order_long(), ORDER, str(tmp_path / "or"), str(tmp_path / "or.png"))
    md = (tmp_path / "or.md").read_text()
    assert "73.0 ± 2.8 (+2.0 ± 1.4) [-1.0 ± 2.8]" in md and "first pipeline" in md
    assert (tmp_path / "or.png").read_bytes()[:4] == b"\x89PNG" and len(pd.read_csv(tmp_path / "or.csv")) == 5 * 3
    with pytest.raises(ValueError, match="pipeline\\(s\\) 'c\\+d'"):
        order_table(_order_long(), {"x": ["a+b", "c+d"]}, "none")


RATIOS = {"en_only": 0.0, "mix50": 0.5, "mix100": 1.0}


def _mixed_long():
    values = {"none": [{"en": 0.80, "de": 0.70, "sw": 0.60}] * 2,
              "mix100": [{"en": 0.80, "de": 0.76, "sw": 0.70}, {"en": 0.82, "de": 0.76, "sw": 0.72}],
              "en_only": [{"en": 0.84, "de": 0.72, "sw": 0.60}, {"en": 0.86, "de": 0.72, "sw": 0.62}],
              "mix50": [{"en": 0.83, "de": 0.74, "sw": 0.66}, {"en": 0.83, "de": 0.76, "sw": 0.66}]}  # fmt: skip
    return _long([r for p, seeds in values.items() for r in _seeded("m", p, "xnli", dict(enumerate(seeds)))])


def test_mixed_language_english_and_non_english_gains_by_ratio(tmp_path):
    table = mixed_language_table(_mixed_long(), RATIOS, "none")
    assert list(table["pipeline"].drop_duplicates()) == ["none", "en_only", "mix50", "mix100"]
    t = table.set_index(["pipeline", "part"])
    # non-English mean per seed: en_only 0.66, 0.67 against none 0.65, 0.65
    assert t.loc[("en_only", "non-English"), "score"] == pytest.approx(0.665)
    assert t.loc[("en_only", "non-English"), "gain"] == pytest.approx(0.015)
    assert t.loc[("en_only", "non-English"), "gain_sd"] == pytest.approx(0.01 / 2**0.5)
    assert t.loc[("en_only", "English"), "gain"] == pytest.approx(0.05) and t.loc[("mix100", "English"), "gain"] == pytest.approx(0.01)
    assert t.loc[("mix100", "non-English"), "gain"] == pytest.approx(0.085) and t.loc[("mix50", "non-English"), "ratio"] == 0.5
    assert np.isnan(t.loc[("none", "English"), "ratio"]) and np.isnan(t.loc[("none", "English"), "gain"])
    write_mixed_language(_mixed_long(), RATIOS, str(tmp_path / "mx"), str(tmp_path / "mx.png"))
    md = (tmp_path / "mx.md").read_text()
    assert "xnli: non-English" in md and "73.5 (+8.5 ± 0.7)" in md
    assert (tmp_path / "mx.png").read_bytes()[:4] == b"\x89PNG"
    # translations of de mixed in: de and sw become their own parts (mix100: de 0.76 vs 0.70, sw 0.70/0.72 vs 0.60)
    split = mixed_language_table(_mixed_long(), RATIOS, "none", ["de"]).set_index(["pipeline", "part"])
    assert split.loc[("mix100", "mixed in"), "gain"] == pytest.approx(0.06)
    assert split.loc[("mix100", "not mixed in"), "gain"] == pytest.approx(0.11)
    assert split.loc[("mix100", "non-English"), "gain"] == pytest.approx(0.085)
    assert list(split.loc["none"].index) == ["English", "non-English", "mixed in", "not mixed in"]
    # every other language mixed in: nothing to split
    assert set(mixed_language_table(_mixed_long(), RATIOS, "none", ["de", "sw", "fr"])["part"]) == {"English", "non-English"}
    # two curves: the xnli rows mix in de, two rows of other intermediate data mix in sw; each has its own split
    other = {"p_en": [{"en": 0.81, "de": 0.70, "sw": 0.61}] * 2,
             "p_mix": [{"en": 0.80, "de": 0.71, "sw": 0.70}, {"en": 0.80, "de": 0.73, "sw": 0.70}]}  # fmt: skip
    long = pd.concat([_mixed_long(), _long([r for p, seeds in other.items() for r in _seeded("m", p, "xnli", dict(enumerate(seeds)))])])
    ratios, data = {**RATIOS, "p_en": 0.0, "p_mix": 1.0}, {**dict.fromkeys(RATIOS, "nli"), "p_en": "para", "p_mix": "para"}
    translated = {"en_only": [], "mix50": ["de"], "mix100": ["de"], "p_en": [], "p_mix": ["sw"]}
    two = mixed_language_table(long, ratios, "none", translated, data)
    assert list(two[["data", "pipeline"]].drop_duplicates().itertuples(index=False, name=None)) == [
        ("nli", "none"), ("nli", "en_only"), ("nli", "mix50"), ("nli", "mix100"), ("para", "none"), ("para", "p_en"), ("para", "p_mix")]
    t2 = two.set_index(["data", "pipeline", "part"])
    assert t2.loc[("para", "p_mix", "mixed in"), "gain"] == pytest.approx(0.10)  # sw 0.70 against 0.60
    assert t2.loc[("para", "p_mix", "not mixed in"), "gain"] == pytest.approx(0.02)  # de 0.71, 0.73 against 0.70
    assert t2.loc[("para", "none", "mixed in"), "score"] == pytest.approx(0.60)  # the baseline, split as the group is
    assert t2.loc[("nli", "mix100", "mixed in"), "gain"] == pytest.approx(0.06)
    write_mixed_language(long, ratios, str(tmp_path / "sp"), str(tmp_path / "sp.png"), translated=translated, data=data)
    md = (tmp_path / "sp.md").read_text()
    assert "xnli: mixed in" in md and "xnli: not mixed in" in md and "| para " in md and "mixed in / not mixed in" in md
    assert (tmp_path / "sp.png").read_bytes()[:4] == b"\x89PNG"
    # rows in the table's order, also when only a later group has a ratio (pivot_table alone put it last)
    ratios25 = {"p_en": 0.0, "p_mix": 1.0, "en_only": 0.0, "mix50": 0.25, "mix100": 1.0}
    write_mixed_language(long, ratios25, str(tmp_path / "or"), str(tmp_path / "or.png"), translated=translated, data=data)
    lines = [line.split("|")[4].strip() for line in (tmp_path / "or.md").read_text().splitlines()[2:9]]
    assert lines == ["none", "p_en", "p_mix", "none", "en_only", "mix50", "mix100"]
    with pytest.raises(ValueError, match="ratio of pipeline 'mix100' is 1.5"):
        mixed_language_table(_mixed_long(), {**RATIOS, "mix100": 1.5}, "none")
    with pytest.raises(ValueError, match="pipeline\\(s\\) 'mix25'"):
        mixed_language_table(_mixed_long(), {**RATIOS, "mix25": 0.25}, "none")


def test_analysis_scripts_end_to_end(tmp_path):
    """workflow/scripts/research_question.py, as the loop-made rules run it."""
    from xstilts.common.cli import run_job

    job = load_script("research_question").job

    def main(argv):
        return run_job(job, ["--analysis", *argv[:1], *argv[1:]])

    cases = {
        "low-resource": (_low_resource_long(), {"classes": CLASSES, "baseline": "none_multilingual", "pipelines": None, "digits": 2}),
        "scale": (_scale_long(), {"params_millions": {"small": 100, "large": 300}, "baseline": "none", "pipelines": ["mnli"],
                                  "width": 5.0, "dpi": 80}),
        "order": (_order_long(), {"comparisons": ORDER, "baseline": "none", "scale": 1.0, "digits": 3}),
        "mixed-language": (_mixed_long(), {"ratios": RATIOS, "translated": ["de"]}),
    }  # fmt: skip
    for name, (long, params) in cases.items():
        scores = tmp_path / f"{name}.csv"
        long.to_csv(scores, index=False)
        prefix, figure = tmp_path / "out" / name, tmp_path / "fig" / f"{name}.png"
        assert main([name, "--params", json.dumps(params), "--scores", str(scores), "--prefix", str(prefix), "--figure", str(figure)]) == 0
        assert all((tmp_path / "out" / f"{name}.{ext}").stat().st_size > 0 for ext in ("csv", "md", "tex"))
        assert figure.read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "out" / "low-resource_languages.csv").exists()
    assert "44.00 (+3.00 ± 1.41)" in (tmp_path / "out" / "low-resource.md").read_text()
    assert "0.730 ± 0.028 (+0.020 ± 0.014) [-0.010 ± 0.028]" in (tmp_path / "out" / "order.md").read_text()  # scale 1
    with pytest.raises(ValueError, match="lacks the key\\(s\\) 'ratios'"):
        main(["mixed-language", "--params", "{}", "--scores", str(tmp_path / "mixed-language.csv"), "--prefix", str(tmp_path / "x"),
              "--figure", str(tmp_path / "x.png")])  # fmt: skip
    with pytest.raises(ValueError, match="unknown params key\\(s\\) 'ratio'"):
        main(["mixed-language", "--params", json.dumps({"ratios": RATIOS, "ratio": 1}), "--scores", str(tmp_path / "mixed-language.csv"),
              "--prefix", str(tmp_path / "x"), "--figure", str(tmp_path / "x.png")])  # fmt: skip


@pytest.mark.parametrize("path", sorted((ROOT / "config/rq").glob("*.yaml")), ids=lambda p: p.name)
def test_every_research_question_preset_resolves(path, monkeypatch, tmp_path):
    """Each preset validates, names the analysis it exists for, and its small sibling is a CPU run."""
    monkeypatch.setenv("XSTILTS_REALMINI", str(tmp_path))
    exp = Experiment(load_yaml(path))
    question = {"low-resource": "low_resource", "scale": "scale", "order": "order", "mixed-language": "mixed_language",
                "task-category": "task_category"}[path.stem.removesuffix("-mini").removesuffix("-tiny")]  # fmt: skip
    assert exp.analyses == [question]
    if question != "task_category" and (question != "scale" or path.stem == "scale"):
        spec = json.loads(Plan(exp).analysis_params(question))  # scale-mini counts the local model's weights
        assert spec["baseline"] in {p for m in exp.models for p in exp.model_pipelines(m)}
    if path.stem.endswith(("-mini", "-tiny")):
        assert exp.seeds == [0] or path.stem in ("task-category-mini", "order-tiny")
        assert all(exp.job_resources("target", m).gpu == 0 for m in exp.models)


def test_research_question_presets_compare_what_they_say():
    low = Experiment(load_yaml(ROOT / "config/rq/low-resource.yaml"))
    assert low.train_chains["copa"] == ("siqa", "copa")  # XTREME-R: Social IQa, then COPA, for XCOPA
    assert low.hparams("target", "udpos", "none_multilingual")["regime"] == "multilingual"
    assert low.hparams("target", "udpos", "mnli")["regime"] == "english"
    assert json.loads(Plan(low).analysis_params("low_resource"))["classes"]["qu"] == 1
    scale = json.loads(Plan(Experiment(load_yaml(ROOT / "config/rq/scale.yaml"))).analysis_params("scale"))
    assert scale["params_millions"] == {"mbert": 178, "xlmr-base": 278, "qwen2.5-0.5b": 494, "xlmr-large": 560}
    mixed = json.loads(Plan(Experiment(load_yaml(ROOT / "config/rq/mixed-language.yaml"))).analysis_params("mixed_language"))
    assert mixed["ratios"] == {"mnli_en": 0.0, "mnli_mix25": 0.25, "mnli_mix50": 0.5, "mnli_mix100": 1.0}
    assert mixed["translated"]["mnli_en"] == [] and mixed["data"] == dict.fromkeys(mixed["ratios"], "mnli")
    assert mixed["translated"]["mnli_mix50"] == ["ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]
    order = Experiment(load_yaml(ROOT / "config/rq/order.yaml"))
    assert order.pipelines["mnli_en+mnli_tr"].parent() == "mnli_en"
    assert {t.name for t in order.targets} == {f"xglue_{n}" for n in ("ner", "pos", "nc", "mlqa", "xnli", "pawsx", "qadsm", "wpr", "qam")}
