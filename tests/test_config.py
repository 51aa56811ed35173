"""Config validation and the resolved config of every preset."""

import copy
from pathlib import Path

import pytest

from xstilts.common.errors import ConfigError
from xstilts.workflow.config import Experiment, load_yaml, slug
from xstilts.workflow.plan import Plan

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted((ROOT / "config").glob("*.yaml"))
PRESETS = [p for p in PRESETS if p.name != "schema.yaml"]


def tiny():
    return load_yaml(ROOT / "config" / "tiny.yaml")


@pytest.mark.parametrize("path", [ROOT / "config.yaml", *PRESETS], ids=lambda p: p.name)
def test_every_preset_validates(path):
    exp = Experiment(load_yaml(path))
    assert exp.models and exp.targets and exp.seeds
    assert Plan(exp).all_metrics()


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_presets_do_not_inherit_the_paper_grid(path):
    """A preset is a whole experiment: nothing of config.yaml leaks into it."""
    paper = load_yaml(ROOT / "config.yaml")
    cfg = load_yaml(path)
    exp = Experiment(cfg)
    assert exp.name != paper["experiment"]
    assert set(exp.models).isdisjoint(paper["models"]) or cfg["models"].keys() & paper["models"].keys() == set()
    assert set(exp.pipelines) - {"none"} <= set(cfg.get("pipelines", {})) | {
        n for n in exp.pipelines if "+" in n
    }


def test_tiny_resolves_to_the_expected_grid():
    exp = Experiment(tiny())
    assert list(exp.models) == ["tiny-mlm", "tiny-random"]
    assert exp.model_pipelines("tiny-mlm") == ["none", "syn_gram", "syn_qa", "multitask"]
    assert exp.model_pipelines("tiny-random") == ["none"]
    assert sorted(exp.trained_targets) == ["syn_pos", "syn_topic"]
    assert [t.name for t in exp.retrieval_targets] == ["syn_tatoeba"]
    hp = exp.hparams("intermediate", "syn_qa", "syn_qa")
    assert hp["max_length"] == 128 and hp["doc_stride"] == 32 and hp["epochs"] == 1 and hp["lr"] == 1e-4
    # in the multitask run syn_qa keeps its featurisation (max_length) but takes the run's lr
    mt = exp.hparams("intermediate", "syn_qa", "multitask")
    assert mt["max_length"] == 128 and mt["batch_size"] == 32
    assert exp.hparams("target", "syn_pos")["epochs"] == 2 and exp.hparams("target", "syn_pos")["lr"] == 2e-4
    # a multitask run has one set of hyperparameters, stated in its spec
    assert exp.hparams("intermediate", "syn_gram", "multitask")["lr"] == 1e-4


def test_paper_grid_keys_targets_by_training_task():
    exp = Experiment(load_yaml(ROOT / "config.yaml"))
    trained = {k: [t.name for t in v] for k, v in exp.trained_targets.items()}
    assert trained["mnli"] == ["xnli"]
    assert trained["squad"] == ["xquad", "mlqa"]
    assert sorted(trained) == ["mnli", "panx", "pawsx", "squad", "tydiqa", "udpos"]
    assert [t.name for t in exp.retrieval_targets] == ["bucc", "tatoeba"]
    assert exp.hparams("target", "udpos")["epochs"] == 10
    assert Plan(exp).base_encoder("xlmr-large") == "resources/models/FacebookAI--xlm-roberta-large/checkpoint.json"


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.update(lerning_rate=1), "config key 'lerning_rate' is not a known setting"),
        (lambda c: c["train"]["target"]["defaults"].update(lrr=1), "config key 'train.target.defaults.lrr' is not a known setting"),
        (lambda c: c["train"]["target"]["defaults"].update(epochs="two"), "config key 'train.target.defaults.epochs' has value 'two'; expected type number"),
        (lambda c: c.update(seeds="0"), "config key 'seeds' is the string '0'; expected a list, e.g. [0]."),
        (lambda c: c.update(targets=["syn_pos", "xnlii"]), "config key 'targets' names unknown task 'xnlii'"),
        (lambda c: c["pipelines"].update(bad={"kind": "single", "task": "nope"}), "config key 'pipelines.bad' names unknown task 'nope'"),
        (lambda c: c["pipelines"].update(seq={"kind": "sequence", "stages": ["syn_gram", "zzz"]}), "names 'zzz', which is not a single or multitask pipeline"),
        (lambda c: c["models"]["tiny-random"].update(like="ghost"), "config key 'models.tiny-random.like' names unknown model 'ghost'"),
        (lambda c: c["models"]["tiny-mlm"].update(source="cloud"), "config key 'models.tiny-mlm.source' is 'cloud'; expected one of"),
        (lambda c: c.pop("seeds"), "config key 'seeds' is required but missing"),
        (lambda c: c["pipelines"].update(t={"kind": "single", "task": "syn_tatoeba"}), "names retrieval task 'syn_tatoeba'"),
        (lambda c: c.update(tasks={"mytask": {"format": "classification"}}), "must define 'languages'"),
        (lambda c: c.update(tasks={"syn_pos": {"colour": 1}}), "config key 'tasks.syn_pos.colour' is not a known setting; expected one of ['category', "),
    ],
)
def test_bad_config_stops_with_one_sentence_naming_the_key(edit, message):
    cfg = copy.deepcopy(tiny())
    edit(cfg)
    with pytest.raises(ConfigError) as err:
        Experiment(cfg)
    text = str(err.value)
    assert message in text
    assert "\n" not in text and text.endswith(".")


def test_new_local_task_without_code(tmp_path):
    cfg = tiny()
    cfg["tasks"] = {"sentiment": {"format": "classification", "labels": ["neg", "pos"], "languages": ["en", "de"],
                                  "root": str(tmp_path), "eval_split": "test"}}  # fmt: skip
    cfg["targets"] = ["sentiment"]
    exp = Experiment(cfg)
    task = exp.tasks["sentiment"]
    assert task.source == "local" and task.metric == "accuracy" and task.trainer == "sentiment"
    assert Plan(exp).data_inputs(task, "test", ["de"]) == [f"{tmp_path}/sentiment/test/de.jsonl"]


def test_sequence_pipelines_start_from_their_prefix():
    cfg = tiny()
    cfg["pipelines"]["syn_gram+syn_qa"] = {"kind": "sequence", "stages": ["syn_gram", "syn_qa"]}
    cfg["pipelines"]["g+c+m"] = {"kind": "sequence", "stages": ["syn_gram", "syn_qa", "multitask"]}
    exp = Experiment(cfg)
    plan = Plan(exp)
    assert plan.intermediate_inputs("tiny-mlm", "syn_gram+syn_qa", 1)["init"] == "results/tiny/models/tiny-mlm/syn_gram/seed1/checkpoint.json"
    assert plan.intermediate_inputs("tiny-mlm", "g+c+m", 0)["init"] == "results/tiny/models/tiny-mlm/syn_gram+syn_qa/seed0/checkpoint.json"
    assert plan.intermediate_inputs("tiny-mlm", "syn_gram", 0)["init"] == "results/tiny/models/tiny-mlm/base/checkpoint.json"


def test_zero_shot_target_jobs_read_english_training_data_only():
    exp = Experiment(tiny())
    plan = Plan(exp)
    import json

    for train_task in exp.trained_targets:
        spec = json.loads(plan.target_params("tiny-mlm", "none", train_task, 0))
        assert spec["data"][train_task]["train_languages"] == ["en"]
    cfg = tiny()
    cfg["train"]["target"]["defaults"]["regime"] = "multilingual"
    spec = json.loads(Plan(Experiment(cfg)).target_params("tiny-mlm", "none", "syn_pos", 0))
    assert spec["data"]["syn_pos"]["train_languages"] == ["en", "xa", "xb", "xc", "xd"]


def test_params_are_canonical_and_exact():
    plan = Plan(Experiment(tiny()))
    a = plan.target_params("tiny-mlm", "syn_gram", "syn_pos", 0)
    cfg = tiny()
    cfg["train"]["target"]["defaults"] = dict(reversed(list(cfg["train"]["target"]["defaults"].items())))
    assert Plan(Experiment(cfg)).target_params("tiny-mlm", "syn_gram", "syn_pos", 0) == a  # key order is irrelevant
    cfg["train"]["target"].setdefault("tasks", {})["syn_topic"] = {"lr": 1e-3}
    assert Plan(Experiment(cfg)).target_params("tiny-mlm", "syn_gram", "syn_pos", 0) == a  # other task untouched


def test_slug():
    assert slug("FacebookAI/xlm-roberta-large") == "FacebookAI--xlm-roberta-large"
    assert "/" not in slug("org/name with space")


def test_udpos_languages_without_a_dev_set_are_scored_on_test():
    import json

    exp = Experiment(load_yaml(ROOT / "config.yaml"))
    spec = json.loads(Plan(exp).evaluate_params("xlmr-large", "none", "udpos", 0))
    splits = spec["benchmarks"][0]["splits"]
    assert len(splits) == 33 and splits["de"] == "validation"
    assert {lang for lang, s in splits.items() if s == "test"} == {"kk", "th", "tl", "yo"}


def test_environment_variables_fill_machine_specific_paths(monkeypatch):
    cfg = tiny()
    cfg["models"]["local-enc"] = {"source": "local", "path": "${XSTILTS_TEST_ENCODER:-models/default-enc}"}
    cfg["models"]["tiny-random"]["pipelines"] = ["none"]
    monkeypatch.delenv("XSTILTS_TEST_ENCODER", raising=False)
    assert Experiment(cfg).models["local-enc"].path == "models/default-enc"
    monkeypatch.setenv("XSTILTS_TEST_ENCODER", "/data/enc")
    assert Experiment(cfg).models["local-enc"].path == "/data/enc"
    cfg["models"]["local-enc"]["path"] = "${XSTILTS_TEST_UNSET_VAR}/enc"
    monkeypatch.delenv("XSTILTS_TEST_UNSET_VAR", raising=False)
    with pytest.raises(ConfigError, match=r"'models.local-enc.path' uses environment variable XSTILTS_TEST_UNSET_VAR"):
        Experiment(cfg)


def test_english_only_runs_never_read_a_target_language_training_row(monkeypatch, tmp_path):
    """The mini preset reads realmini, whose xnli, pawsx and udpos train folders also hold human
    translations: in the zero-shot regime no job may name them, as an input or in its params, and
    the training job refuses a spec that would read them."""
    import json

    from xstilts.workflow.jobs import training as jobs

    monkeypatch.setenv("XSTILTS_REALMINI", str(tmp_path / "realmini"))
    exp = Experiment(load_yaml(ROOT / "config" / "mini.yaml"))
    plan = Plan(exp)
    checked = 0
    for model in exp.models:
        for pipeline in exp.needed_pipelines(model):
            for seed in exp.seeds:
                if exp.pipelines[pipeline].trains:
                    spec = json.loads(plan.intermediate_params(model, pipeline, seed))
                    files = plan.intermediate_inputs(model, pipeline, seed)["data"]
                    checked += _assert_english_only(spec, files)
                for train_task in exp.trained_targets:
                    spec = json.loads(plan.target_params(model, pipeline, train_task, seed))
                    files = plan.target_inputs(model, pipeline, train_task, seed)["data"]
                    checked += _assert_english_only(spec, files)
    assert checked == 5 * 2 + 6 * 4 * 2  # every intermediate and target job of the preset
    task = exp.tasks["xnli"]
    hp = exp.hparams("target", "xnli")
    with pytest.raises(Exception, match=r"English-only \(zero-shot\) regime .* only 'en' may be read"):
        jobs._task_data(task, {"root": str(tmp_path), "train_languages": ["en", "de"], "cap": None}, hp, None, None, "error", {})


def _assert_english_only(spec, files) -> int:
    assert spec["hparams"]["regime"] == "english"
    for task, data in spec["data"].items():
        assert data["train_languages"] == ["en"], (task, data)
    train_files = [f for f in files if "/train/" in f]
    assert train_files and all(f.endswith("/train/en.jsonl") for f in train_files), files
    return 1


def test_a_row_may_set_its_own_target_regime():
    """Research question 1's baseline: a `none` row whose target models also train on the
    target-language data (regime multilingual), beside the zero-shot `none` row."""
    import json

    cfg = tiny()
    cfg["pipelines"]["none_multilingual"] = {"kind": "none", "target": {"regime": "multilingual", "lr": 5.0e-4}}
    exp = Experiment(cfg)
    plan = Plan(exp)
    zero_shot = json.loads(plan.target_params("tiny-mlm", "none", "syn_pos", 0))
    multi = json.loads(plan.target_params("tiny-mlm", "none_multilingual", "syn_pos", 0))
    assert zero_shot["data"]["syn_pos"]["train_languages"] == ["en"] and zero_shot["hparams"]["lr"] == 2.0e-4
    assert multi["data"]["syn_pos"]["train_languages"] == ["en", "xa", "xb", "xc", "xd"] and multi["hparams"]["lr"] == 5.0e-4
    assert multi["from_base"] and plan.target_inputs("tiny-mlm", "none_multilingual", "syn_pos", 0)["init"] == plan.base_encoder("tiny-mlm")
    assert plan.metrics("tiny-mlm", "none_multilingual", "syn_pos", 0) in plan.all_metrics()
    # intermediate training never takes a row's target settings
    cfg["pipelines"]["syn_gram"]["target"] = {"regime": "multilingual"}
    assert json.loads(Plan(Experiment(cfg)).intermediate_params("tiny-mlm", "syn_gram", 0))["hparams"]["regime"] == "english"
    cfg["pipelines"]["none_multilingual"]["task"] = "syn_gram"
    with pytest.raises(ConfigError, match="'pipelines.none_multilingual.task' does not apply to a pipeline of kind 'none'"):
        Experiment(cfg)


def _train_first_config(tmp_path):
    cfg = tiny()
    mc = {"format": "multiple_choice", "languages": ["en"], "root": str(tmp_path)}
    cfg["tasks"] = {"mc_a": mc, "mc_b": mc, "xmc": {**mc, "languages": ["en", "xa"], "train_task": "mc_b", "train_first": ["mc_a"]}}
    cfg["targets"] = [*cfg["targets"], "xmc"]
    return cfg


def test_train_first_makes_a_chain_of_target_jobs(tmp_path):
    """XTREME-R's XCOPA recipe: the target model trains on Social IQa, then on COPA.  The first stage
    is a target job of its own; the second starts from its checkpoint and carries its head over."""
    import json

    exp = Experiment(_train_first_config(tmp_path))
    plan = Plan(exp)
    assert exp.train_chains["mc_b"] == ("mc_a", "mc_b") and exp.train_chains["mc_a"] == ("mc_a",)
    for pipeline, first_init in [("none", plan.base_encoder("tiny-mlm")), ("syn_gram", plan.intermediate("tiny-mlm", "syn_gram", 1))]:
        stage1 = plan.target("tiny-mlm", pipeline, "mc_a", 1)
        assert plan.target_inputs("tiny-mlm", pipeline, "mc_a", 1)["init"] == first_init
        inputs = plan.target_inputs("tiny-mlm", pipeline, "mc_b", 1)
        assert inputs["init"] == stage1
        assert inputs["init_weights"] == stage1.replace("checkpoint.json", "model.safetensors")  # temporary weights live on
        spec = json.loads(plan.target_params("tiny-mlm", pipeline, "mc_b", 1))
        assert spec["init_head"] == "mc_a" and spec["from_base"] is False
        assert "init_head" not in json.loads(plan.target_params("tiny-mlm", pipeline, "mc_a", 1))
    metrics = plan.all_metrics()
    assert plan.metrics("tiny-mlm", "none", "mc_b", 0) in metrics
    assert not any("/mc_a/" in m for m in metrics)  # the first stage is trained, not evaluated


def test_train_first_needs_a_head_that_fits(tmp_path):
    cfg = _train_first_config(tmp_path)
    cfg["tasks"]["xmc"]["train_first"] = ["syn_gram"]
    with pytest.raises(ConfigError, match="trains first on 'syn_gram', which must be a trained task of format 'multiple_choice'"):
        Experiment(cfg)


def test_translation_ratio_is_a_param_of_the_intermediate_job(tmp_path):
    import json

    cfg = tiny()
    cfg["pipelines"]["syn_gram_mixed"] = {"kind": "single", "task": "syn_gram", "translations": {"xa": str(tmp_path)},
                                          "translation_ratio": 0.25}  # fmt: skip
    spec = json.loads(Plan(Experiment(cfg)).intermediate_params("tiny-mlm", "syn_gram_mixed", 0))
    assert spec["data"]["syn_gram"]["translation_ratio"] == 0.25
    assert spec["data"]["syn_gram"]["translations"] == {"xa": f"{tmp_path}/syn_gram/train/xa.jsonl"}
    del cfg["pipelines"]["syn_gram_mixed"]["translations"]
    with pytest.raises(ConfigError, match="'pipelines.syn_gram_mixed.translation_ratio' needs 'pipelines.syn_gram_mixed.translations'"):
        Experiment(cfg)


def test_mixed_language_rows_use_each_example_once():
    """translation_ratio 0.4 of 10 English rows with two translated copies: 6 English rows and 2 per
    language, and no example index twice (line-aligned translations never repeat an example)."""
    from xstilts.workflow.jobs.training import _mix_translations

    files = [(f"{lang}.jsonl", [{"id": f"{lang}{i}"} for i in range(10)]) for lang in ("en", "de", "sw")]
    feats = _mix_translations(files, lambda path, rows: [{"row": i, "id": r["id"]} for i, r in enumerate(rows)], 0.4, seed=3)
    by_lang = {}
    for f in feats:
        by_lang.setdefault(f["id"][:2], []).append(f["row"])
    assert {k: len(v) for k, v in by_lang.items()} == {"en": 6, "de": 2, "sw": 2}
    assert sorted(r for rows in by_lang.values() for r in rows) == list(range(10))
    again = _mix_translations(files, lambda path, rows: [{"row": i, "id": r["id"]} for i, r in enumerate(rows)], 0.4, seed=3)
    assert again == feats  # the same seed mixes the same rows
    english_only = _mix_translations(files, lambda path, rows: [{"row": i, "id": r["id"]} for i, r in enumerate(rows)], 0.0, seed=3)
    assert [f["id"] for f in english_only] == [f"en{i}" for i in range(10)]


def test_analyses_name_rows_and_classes():
    cfg = tiny()
    cfg["report"]["analyses"] = ["low_resource"]
    del cfg["report"]["order"]
    cfg["report"]["low_resource"] = {"classes": {"xa": 1, "xb": 2, "xc": 3}}
    with pytest.raises(ConfigError, match="no resource class for language 'xd'"):
        Experiment(cfg)
    cfg["report"]["low_resource"]["classes"]["xd"] = 0
    cfg["report"]["low_resource"]["baseline"] = "none_multilingual"
    with pytest.raises(ConfigError, match="'report.low_resource.baseline' names 'none_multilingual', which is not a row"):
        Experiment(cfg)
    cfg["pipelines"]["none_multilingual"] = {"kind": "none", "target": {"regime": "multilingual"}}
    import json

    spec = json.loads(Plan(Experiment(cfg)).analysis_params("low_resource"))
    assert spec["baseline"] == "none_multilingual" and spec["classes"] == {"xa": 1, "xb": 2, "xc": 3, "xd": 0}
    cfg["report"]["scale"] = {"baseline": "none"}
    with pytest.raises(ConfigError, match="'report.scale' is set but 'report.analyses' does not list 'scale'"):
        Experiment(cfg)
