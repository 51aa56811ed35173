"""The Snakemake workflow: dry runs of the paper grid, lint, the tiny experiment end to end, and
partial reruns after one-line config edits."""

import gzip
import json
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT, copy_repo, job_counts, snakemake

PAPER_JOBS = {
    "fetch_model": 1,  # XLM-R large
    "fetch_dataset": 18,  # 9 intermediate + 9 target tasks
    "fetch_corpus": 14,  # mnli_mlm: Wikipedia in the 14 non-English XNLI languages
    "fetch_translation": 14,  # mnli_mt: XNLI's machine-translated MultiNLI in the same languages
    "train_intermediate": 36,  # 12 pipelines (9 tasks + multitask + mnli_mlm + mnli_mt) x 3 seeds
    "train_target": 234,  # 13 rows (with none) x 3 seeds x 6 training tasks (XQuAD+MLQA share SQuAD)
    "evaluate_target": 234,
    "evaluate_retrieval": 37,  # 12 x 3 + the seed-free none row
    "collect_scores": 1,
    "transfer_matrix_table": 1,
    "transfer_matrix_figure": 1,
    "language_tables": 1,
    "statistics": 1,
    "published_comparison": 1,
    "language_figures": 1,
    "all": 1,
}


def test_dry_run_of_the_paper_grid_has_the_expected_jobs(tmp_path):
    work = copy_repo(tmp_path / "repo")
    t0 = time.time()
    proc = snakemake(work, "-n", "-q", "rules")
    elapsed = time.time() - t0
    assert job_counts(proc.stdout) == PAPER_JOBS
    # ~3 s on a 2-core machine (benchmarks/dag.py measures it); generous bound for a loaded CI machine
    assert elapsed < 15, f"dry run of the paper grid took {elapsed:.1f} s"


def test_target_checkpoints_can_be_temporary(tmp_path):
    """train.target_checkpoints: temporary deletes a target model's weights once it is evaluated
    (Snakemake temp()); intermediate checkpoints, checkpoint.json and the metrics stay."""
    work = copy_repo(tmp_path / "repo")
    cfg = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    (work / "keep.yaml").write_text(yaml.safe_dump(cfg))
    cfg["train"]["target_checkpoints"] = "temporary"
    (work / "temp.yaml").write_text(yaml.safe_dump(cfg))
    kept = snakemake(work, "-n", "--configfile", "keep.yaml").stdout
    assert "Would remove temporary output" not in kept
    temp = snakemake(work, "-n", "--configfile", "temp.yaml").stdout
    removed = sorted(line.split()[-1] for line in temp.splitlines() if line.startswith("Would remove temporary output"))
    n_targets = 2 * (4 * 2 + 2)  # (4 pipelines x 2 training tasks for tiny-mlm + 2 for tiny-random) x 2 seeds
    assert len(removed) == 2 * n_targets  # model.safetensors and heads.safetensors of each
    assert all(p.endswith(("/model.safetensors", "/heads.safetensors")) and p.split("/")[-3] in ("syn_pos", "syn_topic") for p in removed)


def test_multi_gpu_models_launch_one_process_per_gpu(tmp_path):
    """resources.models.{model}.gpus: N starts each training job of that model with torchrun and N
    processes (tests/test_distributed.py runs that launch on CPU); other jobs keep plain python."""
    work = copy_repo(tmp_path / "repo")
    cfg = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    cfg["resources"]["models"] = {"tiny-mlm": {"gpus": 2}}
    (work / "ddp.yaml").write_text(yaml.safe_dump(cfg))
    out = snakemake(work, "-n", "-p", "--configfile", "ddp.yaml").stdout
    commands = [line.strip().removeprefix("Shell command: ") for line in out.splitlines() if '"$XSTILTS_SCRIPTS/train_model.py" ' in line]
    ddp = [c for c in commands if "models/tiny-mlm/" in c.split("--out")[1]]
    plain = [c for c in commands if "models/tiny-random/" in c.split("--out")[1]]
    assert ddp and plain
    script = '"$XSTILTS_SCRIPTS/train_model.py"'  # the shell prefix sets it to this checkout's workflow/scripts
    launch = f"TORCH_ELASTIC_SHUTDOWN_TIMEOUT=600 python -m torch.distributed.run --standalone --nproc_per_node 2 {script} "
    assert all(c.startswith(launch) for c in ddp)
    assert all(c.startswith(f"python {script} ") for c in plain)


def test_task_category_preset_plans_the_paper_grid_with_siqa(tmp_path):
    work = copy_repo(tmp_path / "repo")
    counts = job_counts(snakemake(work, "-n", "-q", "rules", "--configfile", "config/rq/task-category.yaml").stdout)
    # 10 single-task pipelines (the paper's 9 + Social IQa) x 3 seeds; rows with none: 11 x 3 x 6 training tasks
    assert counts["train_intermediate"] == 30 and counts["train_target"] == 198 and counts["task_category"] == 1
    assert "fetch_corpus" not in counts and "fetch_translation" not in counts  # the MLM / MT rows are restricted away
    assert counts["fetch_dataset"] == 19  # siqa added


def test_lint_is_clean():
    for args in ([], ["--configfile", "config/tiny.yaml"]):
        proc = snakemake(ROOT, "--lint", *args, check=False)
        assert proc.returncode == 0 and "Congratulations" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_bad_config_stops_before_any_job(tmp_path):
    work = copy_repo(tmp_path / "repo")
    cfg = yaml.safe_load((work / "config/tiny.yaml").read_text())
    cfg["train"]["target"]["defaults"]["learning_rate"] = 0.1
    (work / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(work, "-n", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    assert "config key 'train.target.defaults.learning_rate' is not a known setting" in proc.stdout + proc.stderr
    assert not (work / "results").exists()
    # a local model directory that is not there: one sentence naming the key, before any job
    cfg = yaml.safe_load((work / "config/mini.yaml").read_text())
    cfg["models"]["e5-small"]["path"] = str(tmp_path / "no-such-model")
    (work / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(work, "-n", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    assert f"xstilts: config key 'models.e5-small.path': '{tmp_path / 'no-such-model'}' has no config.json, so it is not a model directory" in proc.stderr
    assert not (work / "results").exists()
    # a model directory whose tokenizer files are missing: stopped when the plan is made
    from conftest import make_model_dir

    model = make_model_dir(tmp_path / "no-tokenizer")
    for f in model.glob("tokenizer*"):
        f.unlink()
    cfg["models"]["e5-small"]["path"] = str(model)
    (work / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(work, "-n", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith("xstilts:")] == [
        f"xstilts: config key 'models.e5-small.path': '{model}' has no tokenizer files (one of tokenizer.json, vocab.txt, vocab.json, "
        f"sentencepiece.bpe.model, ...); without them transformers builds a tokenizer of special tokens only; re-download or re-create "
        f"it (a local model: save it with save_pretrained; a workflow output: delete it and rerun)."
    ]
    assert not (work / "results").exists()


def test_zero_shot_target_jobs_are_given_english_training_data_only():
    """Job specs of the tiny preset: every zero-shot target job reads English training files only."""
    from xstilts.workflow.config import Experiment, load_yaml
    from xstilts.workflow.plan import Plan

    exp = Experiment(load_yaml(ROOT / "config/tiny.yaml"))
    plan = Plan(exp)
    for model in exp.models:
        for pipeline in exp.model_pipelines(model):
            for task in exp.trained_targets:
                spec = json.loads(plan.target_params(model, pipeline, task, 0))
                assert spec["data"][task]["train_languages"] == ["en"]


# ----------------------------------------------------------------------------- the tiny experiment


def _tiny_config():
    cfg = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    # evaluate syn_pos without one language first, so that adding it can be tested
    cfg["tasks"] = {"syn_pos": {"languages": ["en", "xa", "xb", "xc"]}}
    return cfg


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    work = copy_repo(tmp_path_factory.mktemp("tiny") / "repo")
    (work / "test.yaml").write_text(yaml.safe_dump(_tiny_config()))
    t0 = time.time()
    snakemake(work, "--cores", "2", "--configfile", "test.yaml", timeout=1800)
    return work, time.time() - t0


@pytest.mark.slow
def test_tiny_run_writes_every_declared_output(tiny_run):
    work, elapsed = tiny_run
    out = work / "results/tiny"
    for name in ("transfer_matrix.csv", "transfer_matrix.md", "transfer_matrix.tex", "scores_long.csv"):
        assert (out / "tables" / name).stat().st_size > 0
    assert (out / "figures/transfer_matrix.png").read_bytes()[:4] == b"\x89PNG"
    ckpt = out / "models/tiny-mlm/syn_gram/syn_pos/seed1"
    meta = json.loads((ckpt / "checkpoint.json").read_text())
    assert meta["kind"] == "target" and meta["params"]["data"]["syn_pos"]["train_languages"] == ["en"]
    assert meta["init"].endswith("models/tiny-mlm/syn_gram/seed1")  # from the intermediate encoder
    assert meta["data_files"] and all("/train/en.jsonl" in f or "/validation/en.jsonl" in f for f in meta["data_files"])
    m = json.loads((out / "metrics/tiny-mlm/syn_gram/syn_topic/seed0.json").read_text())
    topic = m["benchmarks"]["syn_topic"]
    assert set(topic["languages"]) == {"en", "xa", "xb", "xc", "xd"} and topic["split"] == "test"
    assert {"accuracy", "n", "split"} <= set(topic["languages"]["xa"])
    assert m["code_version"] and m["versions"]["torch"] and m["english_validation"]["score"] > 0
    assert m["environment"]["USE_HUB_KERNELS"] == "0"  # offline-safe: no Hub kernels unless hub_kernels: true
    with gzip.open(out / "predictions/tiny-mlm/syn_gram/syn_topic/seed0.jsonl.gz", "rt") as f:
        preds = [json.loads(line) for line in f]
    assert len(preds) == sum(v["n"] for v in topic["languages"].values())
    assert {"benchmark", "lang", "id", "prediction", "gold"} <= set(preds[0])
    # every format runs end to end: span QA and multiple choice as intermediate tasks
    qa = json.loads((out / "models/tiny-mlm/syn_qa/seed0/checkpoint.json").read_text())
    assert qa["kind"] == "intermediate" and set(qa["tasks"]) == {"syn_qa"} and qa["result"]["best_validation"] > 0
    mt = json.loads((out / "models/tiny-mlm/multitask/seed0/checkpoint.json").read_text())
    assert set(mt["tasks"]) == {"syn_choice", "syn_gram", "syn_qa"}
    # retrieval: the none row once, without a seed
    assert (out / "metrics/tiny-mlm/none/retrieval/base.json").exists()
    assert not list((out / "metrics/tiny-mlm/none/retrieval").glob("seed*"))
    assert (out / "metrics/tiny-mlm/multitask/retrieval/seed1.json").exists()
    long = pd.read_csv(out / "tables/scores_long.csv")
    assert set(long["pipeline"]) == {"none", "syn_gram", "syn_qa", "multitask"}
    print(f"tiny run: {elapsed:.0f} s")


@pytest.mark.slow
def test_tables_statistics_and_report_of_the_tiny_run(tiny_run, tmp_path):
    work, _ = tiny_run
    tables = work / "results/tiny/tables"
    main = (tables / "transfer_matrix.md").read_text()
    assert " ± " in main and "**" in main and "2 seed(s)" in main
    for target in ("syn_pos", "syn_topic", "syn_tatoeba"):
        assert "xa" in (tables / f"per_language/{target}.md").read_text()
    sig = pd.read_csv(tables / "significance.csv")
    # 3 trained pipelines x 3 targets against none, each over 2 seeds x its languages
    assert len(sig) == 9 and set(sig["evidence"]) == {"weak: 2 seed(s)"}
    assert (sig["ci_low"] <= sig["ci_high"]).all() and sig["ci_low"].notna().all()
    conf = pd.read_csv(tables / "confidence.csv")
    assert ((conf["ci_low"] <= conf["score"] + 1e-9) & (conf["score"] <= conf["ci_high"] + 1e-9)).all()
    assert "No published numbers" in (tables / "published.md").read_text()
    category = pd.read_csv(tables / "task_category.csv")
    assert set(category["category"]) == {"syntactic", "extractive_qa"}
    assert set(category["column"]) == {"syn_pos", "syn_topic", "syn_tatoeba", "all syntactic", "all semantic"}
    assert (work / "results/tiny/figures/task_category.png").read_bytes()[:4] == b"\x89PNG"
    # research question 3's rule (made in a loop, run for real here): the multitask run against its single tasks
    order = pd.read_csv(tables / "order.csv")
    assert set(order["pipeline"]) == {"multitask", "syn_gram", "syn_qa"} and set(order["comparison"]) == {"multitask_vs_single"}
    assert order.loc[order["pipeline"] == "multitask", "vs_first"].isna().all()  # the first row is the reference itself
    assert order.loc[order["pipeline"] != "multitask", "vs_first"].notna().all()
    assert "multitask_vs_single" in (tables / "order.md").read_text()
    assert (work / "results/tiny/figures/order.png").read_bytes()[:4] == b"\x89PNG"
    for target in ("syn_pos", "syn_topic", "syn_tatoeba"):
        assert (work / f"results/tiny/figures/per_language/{target}.png").read_bytes()[:4] == b"\x89PNG"
    snakemake(work, "--cores", "1", "--configfile", "test.yaml", "--report", str(tmp_path / "report.html"))
    html = (tmp_path / "report.html").read_text()
    assert "percentile bootstrap" in html and "Gain over no intermediate training" in html


@pytest.mark.slow
def test_zero_shot_transfer_comes_from_pretraining(tiny_run):
    """Mean over pseudo-languages and seeds: the MLM-pretrained encoder beats chance and the random one.

    On tagging (syn_pos), on a classification that needs the sentence's meaning (syn_topic: what the
    sentence predicates of its subject, on anchor-free sentences) and on retrieval (syn_tatoeba)."""
    work, _ = tiny_run
    long = pd.read_csv(work / "results/tiny/tables/scores_long.csv")
    zs = long[(long.pipeline == "none") & (long.language != "en") & long["main"]]
    means = zs.groupby(["target", "model"])["value"].mean().unstack("model")
    pos_mlm, pos_random = means.loc["syn_pos", "tiny-mlm"], means.loc["syn_pos", "tiny-random"]
    assert pos_mlm > 1 / 14 + 0.2, f"syn_pos zero-shot {pos_mlm:.3f} not above chance"
    assert pos_mlm > pos_random + 0.15, f"syn_pos: pretrained {pos_mlm:.3f} vs random {pos_random:.3f}"
    topic_mlm, topic_random = means.loc["syn_topic", "tiny-mlm"], means.loc["syn_topic", "tiny-random"]
    assert topic_mlm > 1 / 3 + 0.1, f"syn_topic zero-shot {topic_mlm:.3f} not above chance (1/3)"
    assert topic_mlm > topic_random + 0.1, f"syn_topic: pretrained {topic_mlm:.3f} vs random {topic_random:.3f}"
    ret_mlm, ret_random = means.loc["syn_tatoeba", "tiny-mlm"], means.loc["syn_tatoeba", "tiny-random"]
    assert ret_mlm > 1 / 150 and ret_mlm > ret_random, f"syn_tatoeba: pretrained {ret_mlm:.3f} vs random {ret_random:.3f}"


def _rerun_counts(work, edit):
    cfg = _tiny_config()
    edit(cfg)
    (work / "edited.yaml").write_text(yaml.safe_dump(cfg))
    return job_counts(snakemake(work, "-n", "-q", "rules", "--configfile", "edited.yaml").stdout)


REPORT = {"collect_scores": 1, "transfer_matrix_table": 1, "transfer_matrix_figure": 1, "language_tables": 1, "statistics": 1,
          "published_comparison": 1, "task_category": 1, "order": 1, "language_figures": 1, "all": 1}  # fmt: skip


@pytest.mark.slow
def test_nothing_reruns_without_an_edit(tiny_run):
    work, _ = tiny_run
    assert _rerun_counts(work, lambda c: None) == {}


@pytest.mark.slow
def test_target_learning_rate_reruns_only_that_target(tiny_run):
    work, _ = tiny_run
    counts = _rerun_counts(work, lambda c: c["train"]["target"].setdefault("tasks", {}).setdefault("syn_topic", {}).update(lr=1e-4))
    # syn_topic models: tiny-mlm 4 pipelines x 2 seeds + tiny-random none x 2 seeds
    assert counts == {"train_target": 10, "evaluate_target": 10, **REPORT}


@pytest.mark.slow
def test_intermediate_hyperparameters_rerun_that_model_and_downstream(tiny_run):
    work, _ = tiny_run
    counts = _rerun_counts(work, lambda c: c["train"]["intermediate"].setdefault("tasks", {}).update(syn_gram={"lr": 5e-5}))
    # syn_gram x 2 seeds; its 2 trained targets x 2 seeds; its retrieval x 2 seeds (multitask has its own hyperparameters)
    assert counts == {"train_intermediate": 2, "train_target": 4, "evaluate_target": 4, "evaluate_retrieval": 2, **REPORT}


@pytest.mark.slow
def test_adding_an_evaluation_language_reruns_only_evaluation(tiny_run):
    work, _ = tiny_run
    counts = _rerun_counts(work, lambda c: c["tasks"]["syn_pos"].update(languages=["en", "xa", "xb", "xc", "xd"]))
    assert counts == {"evaluate_target": 10, **REPORT}


@pytest.mark.slow
def test_save_interval_and_temporary_checkpoints_rerun_nothing(tiny_run):
    """How often training saves its resumable state is not a hyperparameter (an environment variable
    of the jobs): changing it reruns nothing; nor does marking target checkpoints temporary."""
    work, _ = tiny_run
    assert _rerun_counts(work, lambda c: c["train"].update(save_every=7, target_checkpoints="temporary")) == {}


@pytest.mark.slow
def test_plotting_option_reruns_only_the_figure(tiny_run):
    work, _ = tiny_run
    counts = _rerun_counts(work, lambda c: c["report"]["figure"].update(width=7.0))
    assert counts == {"transfer_matrix_figure": 1, "language_figures": 1, "all": 1}


@pytest.mark.parametrize(
    "preset, expected",
    [
        # 8 single-task pipelines x 3 seeds; 10 rows (none, none_multilingual, 8 tasks) x 3 seeds x 7 training tasks
        # (mnli, siqa and copa for XCOPA, udpos, panx, squad, tydiqa), 6 of them evaluated
        ("low-resource", {"train_intermediate": 24, "train_target": 210, "evaluate_target": 180, "low_resource": 1}),
        # 4 models x 3 intermediate tasks x 3 seeds; 4 models x 4 rows x 3 seeds x 6 training tasks
        ("scale", {"train_intermediate": 36, "train_target": 288, "fetch_model": 4, "scale": 1}),
        # mnli, squad, both orders, multitask, mnli_en, mnli_en+mnli_tr, mnli_mixed x 3; 8 rows x 3 x 9 XGLUE tasks
        ("order", {"train_intermediate": 24, "train_target": 216, "fetch_translation": 14, "order": 1}),
        # 4 ratios x 3 seeds; 5 rows x 3 seeds x 7 training tasks
        ("mixed-language", {"train_intermediate": 12, "train_target": 105, "fetch_translation": 14, "mixed_language": 1}),
        # the synthetic world in XGLUE's layout: 5 intermediate runs x 2 seeds; 6 rows x 2 seeds x 3 XGLUE targets
        ("order-tiny", {"synthetic_xglue": 1, "fetch_dataset": 3, "train_intermediate": 10, "train_target": 36, "order": 1}),
        # XCOPA's shape on the synthetic world: 2 intermediate runs; 4 rows x (syn_siqa, syn_copa after it, syn_pos);
        # one evaluation per row of the syn_copa model (syn_xcopa) and of the syn_pos model; no random control
        ("low-resource-tiny", {"train_intermediate": 2, "train_target": 12, "evaluate_target": 8, "random_init": None,
                               "low_resource": 1}),
    ],
)
def test_research_question_presets_plan_their_grids(preset, expected, tmp_path):
    work = copy_repo(tmp_path / "repo")
    counts = job_counts(snakemake(work, "-n", "-q", "rules", "--configfile", f"config/rq/{preset}.yaml").stdout)
    assert {k: counts.get(k) for k in expected} == expected


def _same_apart_from_provenance(a: Path, b: Path) -> list[str]:
    """Files of two results folders that differ beyond code version, creation time and timings."""
    volatile = {"code_version", "created", "train_seconds", "train_tokens_per_second", "elapsed_s", "seconds", "tokens_per_second"}

    def strip(o):
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items() if k not in volatile}
        if isinstance(o, list):
            return [strip(x) for x in o]
        return o.replace(str(a.parents[2]), "").replace(str(b.parents[2]), "") if isinstance(o, str) else o

    differ = []
    for f in sorted(p for p in a.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = f.relative_to(a)
        if rel.parts[0] in ("logs", "benchmarks"):
            continue
        g = b / rel
        if not g.exists():
            differ.append(f"{rel} (missing)")
            continue
        x, y = f.read_bytes(), g.read_bytes()
        if x == y:
            continue
        if f.suffix == ".gz" and gzip.decompress(x) == gzip.decompress(y):
            continue
        if f.suffix == ".json" and strip(json.loads(x)) == strip(json.loads(y)):
            continue
        differ.append(str(rel))
    return differ


@pytest.mark.slow
def test_kill_unlock_rerun_gives_the_uninterrupted_results(tiny_run, tmp_path):
    """The README's recovery path: SIGKILL the whole run (a node lost, an OOM kill of Snakemake) in
    the middle of training; the rerun refuses the locked folder; `--unlock`; rerun with
    `--rerun-incomplete`: every table, checkpoint and metrics file as in the uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys

    reference, _ = tiny_run
    work = copy_repo(tmp_path / "repo")
    (work / "test.yaml").write_text(yaml.safe_dump(_tiny_config()))
    env = {**os.environ, "PYTHONPATH": str(work / "src")}
    log = open(tmp_path / "first.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "test.yaml"], cwd=work, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    deadline = time.time() + 900
    while time.time() < deadline and proc.poll() is None:  # kill once intermediate training is under way
        text = (tmp_path / "first.log").read_text()
        if text.count("Finished jobid") >= 6 and "rule train_" in text.split("Finished jobid")[-1]:
            break
        time.sleep(0.5)
    assert proc.poll() is None, "the run ended before it could be killed"
    time.sleep(2)
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and every job it started
    proc.wait()
    log.close()
    for pid_dir in Path("/proc").glob("[0-9]*"):  # a job started in a session of its own
        try:
            if str(work).encode() in (pid_dir / "cmdline").read_bytes():
                os.kill(int(pid_dir.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass
    locked = snakemake(work, "--cores", "2", "--configfile", "test.yaml", check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    snakemake(work, "--unlock", "--configfile", "test.yaml")
    snakemake(work, "--cores", "2", "--configfile", "test.yaml", "--rerun-incomplete", timeout=1800)
    assert _same_apart_from_provenance(reference / "results/tiny", work / "results/tiny") == []
    assert not list((work / "results").rglob("*.tmp"))
