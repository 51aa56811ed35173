"""The cost plan: job counts that match the workflow, FLOPs computed by hand, errors that name the key."""

import pytest
from conftest import ROOT

from xstilts.common.errors import ConfigError
from xstilts.workflow.config import Experiment, load_yaml
from xstilts.workflow.cost import DATA_SIZES, disk_bytes, estimate, report


def small_grid(**model):
    return {
        "experiment": "costcheck",
        "seeds": [0],
        "models": {"enc": {"source": "hub", "id": "org/some-encoder", "params_millions": 100, **model}},
        "pipelines": {"mnli": {"kind": "single", "task": "mnli"}},
        "targets": ["xnli"],
        "tasks": {"xnli": {"languages": ["en", "de"]}},
        "train": {
            "intermediate": {"defaults": {"epochs": 2, "batch_size": 32, "max_train_examples": 1000, "eval_every": 1000,
                                          "eval_examples": 100, "max_length": 128}},  # fmt: skip
            "target": {"defaults": {"epochs": 1, "batch_size": 10, "max_train_examples": 500, "eval_every": 20,
                                    "eval_examples": 100, "max_length": 128}},  # fmt: skip
        },
        "evaluate": {"defaults": {"max_examples": 100}},
    }


def test_flops_of_a_small_grid_match_a_hand_computation():
    rules = estimate(Experiment(small_grid()))
    n, tok = 100e6, DATA_SIZES["mnli"]["tokens"]  # 45 tokens per MNLI pair, below max_length
    # intermediate (mnli): 1000 rows x 2 epochs; ceil(2000 / 32) = 63 steps -> one validation (at the end) on 100 rows
    inter_train, inter_val = 1000 * 2 * tok, 1 * 100 * tok
    assert rules["train_intermediate"].jobs == 1
    assert rules["train_intermediate"].tokens == pytest.approx(inter_train + inter_val)
    assert rules["train_intermediate"].flops == pytest.approx(6 * n * inter_train + 2 * n * inter_val)
    # target (trained on mnli for xnli), rows none and mnli: 500 rows x 1 epoch = 50 steps -> validations at 20, 40, 50
    tgt_train, tgt_val = 500 * tok, 3 * 100 * tok
    assert rules["train_target"].jobs == 2
    assert rules["train_target"].flops == pytest.approx(2 * (6 * n * tgt_train + 2 * n * tgt_val))
    # evaluation: 100 XNLI rows x 2 languages x 45 tokens, forward only
    assert rules["evaluate_target"].flops == pytest.approx(2 * (2 * n * 100 * 2 * tok))
    assert rules["evaluate_retrieval"].jobs == 0
    assert rules["train_intermediate"].gpu_hours(100) == pytest.approx(rules["train_intermediate"].flops / 1e14 / 3600)
    disk = disk_bytes(Experiment(small_grid()))
    assert disk == {"intermediate": 4 * n, "target": 2 * 4 * n}  # float32 checkpoints
    half = small_grid()
    half["train"]["intermediate"]["defaults"]["checkpoint_dtype"] = "bfloat16"
    half["train"]["target"]["defaults"]["checkpoint_dtype"] = "float16"
    assert disk_bytes(Experiment(half)) == {"intermediate": 2 * n, "target": 2 * 2 * n}  # 2 bytes per parameter


def test_the_paper_grid_plan_counts_the_workflows_jobs():
    exp = Experiment(load_yaml(ROOT / "config.yaml"))
    rules = estimate(exp)
    # the same counts as the dry run (tests/test_workflow.py PAPER_JOBS)
    assert {r: rc.jobs for r, rc in rules.items()} == {
        "train_intermediate": 36, "train_target": 234, "evaluate_target": 234, "evaluate_retrieval": 37}  # fmt: skip
    text = report(exp, 100.0)
    assert "| **total** | 541 |" in text and "GPU-hours" in text
    slower = estimate(exp)["train_target"].gpu_hours(50.0)
    assert slower == pytest.approx(2 * rules["train_target"].gpu_hours(100.0))


def test_mlm_and_translated_data_are_counted_by_hand():
    """Translated copies multiply a task's (capped) rows; MLM adds ratio x those rows at max_length."""
    cfg = small_grid()
    cfg["pipelines"] = {"mnli_mt": {"kind": "single", "task": "mnli", "translations": {"de": "mt", "fr": "mt"}},
                        "mnli_mlm": {"kind": "single", "task": "mnli",
                                     "mlm": {"corpus": {"path": "c"}, "languages": ["de"], "ratio": 0.5, "max_length": 64}}}  # fmt: skip
    cfg["targets"] = ["xnli"]
    exp = Experiment(cfg)
    import json

    from xstilts.workflow.cost import _training
    from xstilts.workflow.plan import Plan

    n, tok = 100e6, DATA_SIZES["mnli"]["tokens"]
    plan = Plan(exp)
    # 3 x 1000 rows x 2 epochs; ceil(6000 / 32) = 188 steps -> one validation on 100 English rows
    tokens, flops = _training(json.loads(plan.intermediate_params("enc", "mnli_mt", 0)), n, "t")
    assert tokens == pytest.approx(3 * 1000 * 2 * tok + 100 * tok)
    assert flops == pytest.approx(6 * n * 3 * 1000 * 2 * tok + 2 * n * 100 * tok)
    # 1000 MNLI rows + 500 MLM sequences of 64 tokens, 2 epochs
    tokens, flops = _training(json.loads(plan.intermediate_params("enc", "mnli_mlm", 0)), n, "t")
    assert tokens == pytest.approx(1000 * 2 * tok + 100 * tok + 500 * 2 * 64)
    assert flops == pytest.approx(6 * n * (1000 * 2 * tok + 500 * 2 * 64) + 2 * n * 100 * tok)


def test_unknown_parameter_count_is_named():
    cfg = small_grid()
    del cfg["models"]["enc"]["params_millions"]
    with pytest.raises(ConfigError, match=r"config key 'models.enc.params_millions' is needed for the cost plan"):
        estimate(Experiment(cfg))
