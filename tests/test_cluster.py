"""Running on SLURM: per-job resources from the config (Plan.resources), the slurm profile, the
sbatch lines a real `snakemake --profile slurm` run submits (fake SLURM commands on PATH), and the
dry run of the paper grid with the profile on a machine without SLURM."""

import copy
import io
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, copy_repo, fake_model_dir

from xstilts.common.errors import ConfigError
from xstilts.workflow.config import Experiment, load_yaml
from xstilts.workflow.plan import GROUP_SLOT, RQ_ANALYSES, RULE_FAMILIES, Plan

GPU_RULES = {"pretrain_mlm", "train_intermediate", "train_target", "evaluate_target", "evaluate_retrieval"}
TRAINING_RULES = {"pretrain_mlm", "train_intermediate", "train_target"}
DATA_RULES = {"fetch_model", "fetch_dataset", "fetch_corpus", "fetch_translation", "synthesize_world", "random_init"}
SITE_VARS = ("XSTILTS_SLURM_ACCOUNT", "XSTILTS_SLURM_PARTITION", "XSTILTS_SLURM_QOS", "XSTILTS_SLURM_SITE")


def tiny():
    return load_yaml(ROOT / "config" / "tiny.yaml")


def with_resources(resources: dict) -> dict:
    cfg = tiny()
    cfg["pipelines"]["gram+qa"] = {"kind": "sequence", "stages": ["syn_gram", "syn_qa"]}
    cfg["resources"] = resources
    return cfg


# ----------------------------------------------------------------------------- resolution


def test_every_cluster_rule_takes_its_resources_from_the_config():
    """Each rule that runs as a SLURM job declares `**rule_resources("<rule>")`; local rules (the
    downloads, run on the login node) declare none."""
    text = "\n".join(p.read_text() for p in sorted((ROOT / "workflow" / "rules").glob("*.smk")))
    local = {n for block in re.findall(r"^localrules:\n((?:[ \t]+\w+,?\n)+)", text, re.M) for n in re.findall(r"\w+", block)}
    rules = dict(re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", text, re.M | re.S))
    assert local >= {"fetch_model", "fetch_dataset", "fetch_corpus", "fetch_translation"}
    for name, body in rules.items():
        declared = re.findall(r'\*\*rule_resources\("(\w+)"\)', body)
        assert declared == ([] if name in local else [name]), (name, declared)
    # the research-question rules are made in one loop (rule: name: _name), each declaring its own family
    assert re.search(r"for _name, _extra in RQ_ANALYSES.items\(\):.*?\*\*rule_resources\(_name\)", text, re.S)
    assert set(RULE_FAMILIES) == set(rules) - local | set(RQ_ANALYSES)


RESOURCES = {
    "defaults": {"gpu": 1, "cpus_per_gpu": 6, "mem_mb": 20000, "runtime": 100},
    "intermediate": {"runtime": 300, "pipelines": {"syn_qa": {"runtime": 400, "mem_mb": 30000}, "multitask": {"gpu": 2}}},
    "target": {"mem_mb": 25000, "tasks": {"syn_pos": {"runtime": 50}}},
    "evaluate": {"cpus_per_gpu": 2, "runtime": 20, "tasks": {"syn_topic": {"gpu": 0}}},
    "retrieval": {"runtime": 40, "gpu_model": "h100"},
    "cpu": {"mem_mb": 3000, "runtime": 15},
    "max_runtime": 700,
    "models": {"tiny-random": {"gpus": 4, "runtime_scale": 1.5, "mem_scale": 2, "gpu_model": "a100"}},
}


def test_resources_resolve_from_defaults_to_family_to_task_then_model():
    plan = Plan(Experiment(with_resources(RESOURCES)))

    def res(rule, attempt=1, **wc):
        return plan.resources(rule, wc, attempt)

    # defaults, then the family, then its per-pipeline entry
    assert res("train_intermediate", model="tiny-mlm", pipeline="syn_gram", seed="0") == {
        "gpu": 1, "cpus_per_gpu": 6, "mem_mb": 20000, "runtime": 300, GROUP_SLOT: 1, "gpu_model": None}  # fmt: skip
    assert res("train_intermediate", model="tiny-mlm", pipeline="syn_qa", seed="0")["runtime"] == 400
    assert res("train_intermediate", model="tiny-mlm", pipeline="syn_qa", seed="0")["mem_mb"] == 30000
    assert res("train_intermediate", model="tiny-mlm", pipeline="multitask", seed="1")["gpu"] == 2
    # a sequence pipeline trains its last stage: that stage's entry applies
    assert res("train_intermediate", model="tiny-mlm", pipeline="gram+qa", seed="0")["runtime"] == 400
    # per training task
    assert res("train_target", model="tiny-mlm", pipeline="none", train_task="syn_pos", seed="0")["runtime"] == 50
    assert res("train_target", model="tiny-mlm", pipeline="none", train_task="syn_topic", seed="0")["runtime"] == 100
    assert res("train_target", model="tiny-mlm", pipeline="none", train_task="syn_topic", seed="0")["mem_mb"] == 25000
    assert res("evaluate_target", model="tiny-mlm", pipeline="none", train_task="syn_pos", seed="0")["cpus_per_gpu"] == 2
    # a job asking for no GPU names no GPU model, and a model's GPU count does not make it a GPU job
    assert res("evaluate_target", model="tiny-random", pipeline="none", train_task="syn_topic", seed="0")["gpu"] == 0
    assert res("evaluate_target", model="tiny-random", pipeline="none", train_task="syn_topic", seed="0")["gpu_model"] is None
    # the model: GPU count, GPU model, runtime and memory scaled
    big = res("train_target", model="tiny-random", pipeline="none", train_task="syn_topic", seed="0")
    assert big == {"gpu": 4, "cpus_per_gpu": 6, "mem_mb": 50000, "runtime": 150, GROUP_SLOT: 1, "gpu_model": "a100"}
    assert res("evaluate_retrieval", model="tiny-mlm", pipeline="none", seedtag="base")["gpu_model"] == "h100"
    assert res("evaluate_retrieval", model="tiny-random", pipeline="none", seedtag="base")["gpu_model"] == "a100"
    # jobs that never use a GPU declare memory and time only
    for rule in ("synthesize_world", "random_init", "collect_scores", "transfer_matrix_figure"):
        assert res(rule, model="tiny-random") == {"mem_mb": 3000, "runtime": 15}
        assert list(plan.rule_resources(rule)) == ["mem_mb", "runtime"]


def test_runtime_grows_with_the_attempt_up_to_max_runtime():
    plan = Plan(Experiment(with_resources(RESOURCES)))
    wc = {"model": "tiny-mlm", "pipeline": "syn_gram", "seed": "0"}
    assert [plan.resources("train_intermediate", wc, a)["runtime"] for a in (1, 2, 3)] == [300, 600, 700]
    wc = {"model": "tiny-mlm", "pipeline": "none", "train_task": "syn_pos", "seed": "0"}
    assert [plan.resources("train_target", wc, a)["runtime"] for a in (1, 2, 3)] == [50, 100, 150]
    assert plan.resources("collect_scores", {}, 2)["runtime"] == 30


def test_gpu_model_is_declared_only_when_the_config_names_one():
    assert "gpu_model" in Plan(Experiment(with_resources(RESOURCES))).rule_resources("train_target")
    plain = {k: v for k, v in RESOURCES.items() if k not in ("retrieval", "models")}
    assert "gpu_model" not in Plan(Experiment(with_resources(plain))).rule_resources("train_target")
    assert set(Plan(Experiment(tiny())).rule_resources("evaluate_target")) == {"gpu", "cpus_per_gpu", "mem_mb", "runtime", GROUP_SLOT}


@pytest.mark.parametrize("path", [p for p in sorted((ROOT / "config").glob("*.yaml")) if p.name != "schema.yaml"], ids=lambda p: p.name)
def test_presets_ask_for_no_gpu(path, monkeypatch, tmp_path):
    """Local presets (tiny, mini, smoke) are CPU experiments: no job of theirs asks for a GPU, so a
    local run never waits for one (and no --resources flag is needed)."""
    monkeypatch.setenv("XSTILTS_REALMINI", str(tmp_path))
    exp = Experiment(load_yaml(path))
    for rule, wildcards in _jobs(exp):
        assert Plan(exp).resources(rule, wildcards).get("gpu", 0) == 0, (path.name, rule, wildcards)


def test_paper_grid_asks_for_a_gpu_for_every_training_and_evaluation_job():
    exp = Experiment(load_yaml(ROOT / "config.yaml"))
    plan = Plan(exp)
    seen = set()
    for rule, wildcards in _jobs(exp):
        res = plan.resources(rule, wildcards)
        seen.add(rule)
        if rule in GPU_RULES:
            assert res["gpu"] == 1 and res["cpus_per_gpu"] >= 1 and res["runtime"] >= 60, (rule, wildcards, res)
        else:
            assert "gpu" not in res, (rule, res)
        assert plan.resources(rule, wildcards, 3)["runtime"] <= 1440  # max_runtime: the partition's limit
    assert seen >= {"train_intermediate", "train_target", "evaluate_target", "evaluate_retrieval", "collect_scores"}
    anli = plan.resources("train_intermediate", {"model": "xlmr-large", "pipeline": "anli_plus", "seed": "0"})
    ccg = plan.resources("train_intermediate", {"model": "xlmr-large", "pipeline": "ccg", "seed": "0"})
    assert anli["runtime"] > 4 * ccg["runtime"]  # 1.1M sentence pairs against 40k sentences


def _jobs(exp):
    """(rule, wildcards) of every cluster job of an experiment, as the rules name them."""
    plan = Plan(exp)
    for model, spec in exp.models.items():
        if spec.source == "pretrain":
            yield "pretrain_mlm", {"model": model}
        if spec.source == "random":
            yield "random_init", {"model": model}
        for pipeline in exp.needed_pipelines(model):
            for seed in map(str, exp.seeds):
                if exp.pipelines[pipeline].trains:
                    yield "train_intermediate", {"model": model, "pipeline": pipeline, "seed": seed}
                for train_task in exp.train_chains:  # with the train_first stages (XCOPA: siqa, then copa)
                    wc = {"model": model, "pipeline": pipeline, "train_task": train_task, "seed": seed}
                    yield "train_target", wc
                    if train_task in exp.trained_targets:
                        yield "evaluate_target", wc
                if exp.retrieval_targets:
                    yield "evaluate_retrieval", {"model": model, "pipeline": pipeline, "seedtag": plan.retrieval_tag(pipeline, int(seed))}
    yield "collect_scores", {}


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda r: r["models"].update(ghost={"gpus": 2}), "config key 'resources.models.ghost' names unknown model 'ghost'"),
        (lambda r: r["target"]["tasks"].update(xnli={"runtime": 5}), "config key 'resources.target.tasks.xnli' is not a training task"),
        (lambda r: r["intermediate"]["pipelines"].update(none={"runtime": 5}), "config key 'resources.intermediate.pipelines.none' is not a trained pipeline"),
        (lambda r: r["defaults"].update(gpus=2), "config key 'resources.defaults.gpus' is not a known setting"),
        (lambda r: r["evaluate"]["tasks"].update(syn_pos={"time": 5}), "config key 'resources.evaluate.tasks.syn_pos.time' is not a known setting"),
        (lambda r: r["cpu"].update(gpu=1), "config key 'resources.cpu.gpu' is not a known setting"),
        (lambda r: r["defaults"].update(runtime="2h"), "config key 'resources.defaults.runtime' has value '2h'; expected type integer"),
        (lambda r: r["models"]["tiny-random"].update(gpus=0), "config key 'resources.models.tiny-random.gpus'"),
        (lambda r: r["retrieval"].update(gpu_model="'a100'"), "config key 'resources.retrieval.gpu_model'"),
        (lambda r: r.update(walltime=10), "config key 'resources.walltime' is not a known setting"),
    ],
)
def test_bad_resources_stop_with_one_sentence_naming_the_key(edit, message):
    resources = copy.deepcopy(RESOURCES)
    edit(resources)
    with pytest.raises(ConfigError) as err:
        Experiment(with_resources(resources))
    text = str(err.value)
    assert message in text
    assert "\n" not in text and text.endswith(".")


# ----------------------------------------------------------------------------- the profile


def parse_profile(cwd: Path) -> dict:
    """slurm/config.yaml as Snakemake reads it (its YTE template evaluated in ``cwd``)."""
    from snakemake.profiles import ProfileConfigFileParser

    stream = io.StringIO((ROOT / "slurm" / "config.yaml").read_text())
    stream.name = str(cwd / "slurm" / "config.yaml")
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return dict(ProfileConfigFileParser().parse(stream))
    finally:
        os.chdir(old)


def default_resources(profile: dict) -> dict:
    return dict(item.split("=", 1) for item in profile["default-resources"])


@pytest.fixture
def clean_env(monkeypatch):
    for var in SITE_VARS:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_profile_submits_to_slurm_with_retries_and_grouping(clean_env, tmp_path):
    profile = parse_profile(tmp_path)
    assert profile["executor"] == "slurm"
    assert 1 <= int(profile["jobs"]) <= 500
    assert int(profile["latency-wait"]) >= 30 and int(profile["retries"]) >= 1
    assert profile["rerun-incomplete"] == "True"
    assert int(profile["cores"]) >= 1  # workflow.cores: a cluster run needs it (pretrain_mlm's threads)
    assert 1 <= int(profile["local-cores"]) <= 8  # downloads on a shared login node
    groups = dict(item.split("=") for item in profile["group-components"])
    assert set(groups) == {"evaluate", "retrieval"} and all(int(n) > 1 for n in groups.values())
    # one slot per submission, scoped per submission: a group's jobs are sized as run in series
    assert profile["resources"] == [f"{GROUP_SLOT}=1"] and profile["set-resource-scopes"] == [f"{GROUP_SLOT}=local"]
    res = default_resources(profile)
    assert int(res["mem_mb"]) > 0 and int(res["runtime"]) > 0
    # nothing machine-specific in the repository: no account or partition unless the user gives one
    assert "slurm_account" not in res and "slurm_partition" not in res and "qos" not in res
    # a workflow profile would replace default-resources wholesale (account and partition gone)
    assert not (ROOT / "profiles" / "default").exists() and not (ROOT / "workflow" / "profiles").exists()


def test_account_and_partition_come_from_the_environment_or_the_site_file(clean_env, tmp_path):
    (tmp_path / "slurm").mkdir()
    (tmp_path / "slurm" / "site.yaml").write_text("account: proj42\npartition: all\nqos: 123\n")
    res = default_resources(parse_profile(tmp_path))
    # quoted: a partition named like a Python builtin ('all') or a number stays a string
    assert (res["slurm_account"], res["slurm_partition"], res["qos"]) == ("'proj42'", "'all'", "'123'")
    clean_env.setenv("XSTILTS_SLURM_ACCOUNT", "envacct")
    clean_env.setenv("XSTILTS_SLURM_PARTITION", "gpu")
    res = default_resources(parse_profile(tmp_path))
    assert (res["slurm_account"], res["slurm_partition"], res["qos"]) == ("'envacct'", "'gpu'", "'123'")  # environment wins
    other = tmp_path / "elsewhere.yaml"
    other.write_text("partition: long\n")
    clean_env.delenv("XSTILTS_SLURM_PARTITION")
    clean_env.setenv("XSTILTS_SLURM_SITE", str(other))
    res = default_resources(parse_profile(tmp_path))
    assert (res["slurm_account"], res["slurm_partition"]) == ("'envacct'", "'long'") and "qos" not in res


@pytest.mark.parametrize(
    "site, message",
    [("acount: proj42\n", "'acount' is not a known setting; expected one of ['account', 'partition', 'qos']"),
     ("- proj42\n", "must hold a YAML mapping with keys ['account', 'partition', 'qos']")],
)
def test_a_bad_site_file_stops_with_a_sentence_naming_it(clean_env, tmp_path, site, message):
    (tmp_path / "slurm").mkdir()
    (tmp_path / "slurm" / "site.yaml").write_text(site)
    with pytest.raises(Exception, match=re.escape(message)):
        parse_profile(tmp_path)
    clean_env.setenv("XSTILTS_SLURM_SITE", str(tmp_path / "missing.yaml"))
    with pytest.raises(Exception, match="XSTILTS_SLURM_SITE names .*missing.yaml', which is not a file"):
        parse_profile(tmp_path)


def test_the_site_file_shown_in_the_readme_works(clean_env, tmp_path):
    text = (ROOT / "slurm" / "README.md").read_text()
    ((indent, block),) = re.findall(r"( *)```yaml\n *# slurm/site.yaml\n(.*?)\n *```", text, re.S)
    block = "\n".join(line[len(indent):] for line in block.splitlines()) + "\n"
    (tmp_path / "slurm").mkdir()
    (tmp_path / "slurm" / "site.yaml").write_text(block)
    site = yaml.safe_load(block)
    res = default_resources(parse_profile(tmp_path))
    assert res["slurm_account"] == repr(str(site["account"])) and res["slurm_partition"] == repr(str(site["partition"]))


# ----------------------------------------------------------------------------- dry run of the paper grid


def _no_slurm_path() -> str:
    """PATH without any directory holding SLURM commands: the dry run must not need them."""
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "sinfo").exists()]
    return os.pathsep.join([str(Path(sys.executable).parent), *dirs])


def dry_run_jobs(text: str) -> list[tuple[str, dict, dict]]:
    """(rule, wildcards, resources) of every job a `snakemake -n` printed."""
    jobs, current = [], None
    for line in text.splitlines():
        m = re.match(r"^\s*(?:local)?rule (\w+):$", line)
        if m:
            current = [m.group(1), {}, {}]
            jobs.append(current)
        elif current and re.match(r"^\s*(wildcards|resources): ", line):
            key, value = line.strip().split(": ", 1)
            current[1 if key == "wildcards" else 2].update(kv.split("=", 1) for kv in value.split(", "))
    return [tuple(j) for j in jobs]


def test_profile_dry_run_of_the_paper_grid_without_slurm(tmp_path):
    work = copy_repo(tmp_path / "repo")
    (work / "slurm" / "site.yaml").unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in SITE_VARS}
    env.update(PATH=_no_slurm_path(), PYTHONPATH=str(work / "src"), XSTILTS_SLURM_ACCOUNT="acct1", XSTILTS_SLURM_PARTITION="gpu")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--profile", "slurm", "-n"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    jobs = dry_run_jobs(proc.stdout)
    counts = {}
    for rule, _, _ in jobs:
        counts[rule] = counts.get(rule, 0) + 1
    assert counts == {"fetch_model": 1, "fetch_dataset": 18, "fetch_corpus": 14, "fetch_translation": 14, "train_intermediate": 36,
                      "train_target": 234, "evaluate_target": 234, "evaluate_retrieval": 37, "collect_scores": 1,
                      "transfer_matrix_table": 1, "transfer_matrix_figure": 1, "language_tables": 1, "statistics": 1,
                      "published_comparison": 1, "language_figures": 1, "all": 1}  # fmt: skip
    plan = Plan(Experiment(load_yaml(ROOT / "config.yaml")))
    for rule, wildcards, res in jobs:
        if rule in GPU_RULES:
            # every training and evaluation job asks for a GPU, with runtime and memory from config.yaml
            expected = plan.resources(rule, wildcards)
            assert int(res["gpu"]) == expected["gpu"] == 1, (rule, wildcards, res)
            assert (int(res["runtime"]), int(res["mem_mb"]), int(res["cpus_per_gpu"])) == (
                expected["runtime"], expected["mem_mb"], expected["cpus_per_gpu"]), (rule, wildcards, res)  # fmt: skip
            assert res[GROUP_SLOT] == "1"
        else:
            assert "gpu" not in res and "gres" not in res, (rule, res)  # data and report jobs: no GPU
        if rule != "all":
            assert res["slurm_account"] == "acct1" and res["slurm_partition"] == "gpu", (rule, res)
    # evaluations go to SLURM in groups: 234 + 37 jobs in ceil(234/n) + ceil(37/n) submissions
    groups = dict(item.split("=") for item in parse_profile(work)["group-components"])
    n_groups = len(re.findall(r"Group job (evaluate|retrieval) ", proc.stdout))
    assert n_groups == math.ceil(234 / int(groups["evaluate"])) + math.ceil(37 / int(groups["retrieval"]))


# ----------------------------------------------------------------------------- sbatch lines of a real run

FAKE_SBATCH = """#!{python}
import fcntl, json, os, sys
with open(os.environ["FAKE_SLURM_LOG"], "a+") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    f.seek(0)
    n = sum(1 for _ in f)
    f.write(json.dumps(sys.argv[1:]) + "\\n")
print(4000 + n)
"""
# sacct/squeue report no job at all (still queued); scontrol tells the plugin what it asks for
FAKE_OTHERS = {
    "sacct": "",
    "squeue": "",
    "scancel": "",
    "sshare": "",
    "scontrol": "MinJobAge = 300 sec\\nMaxArraySize = 1001",
    "sacctmgr": "testacct",
    "sinfo": "PARTITION\\ngpu-test*",
}


def fake_slurm(bindir: Path) -> None:
    bindir.mkdir()
    (bindir / "sbatch").write_text(FAKE_SBATCH.format(python=sys.executable))
    for name, output in FAKE_OTHERS.items():
        (bindir / name).write_text(f'#!/bin/sh\necho "{name} $*" >> "$FAKE_SLURM_LOG.calls"\nprintf "{output}\\n"\n')
    for f in bindir.iterdir():
        f.chmod(0o755)


CLUSTER_CONFIG = {
    "experiment": "cluster",
    "seeds": [0, 1],
    "models": {
        "enc": {"source": "local", "path": "ENC", "retrieval_layer": 1},
        "big": {"source": "local", "path": "ENC", "retrieval_layer": 1, "pipelines": ["none"]},
        "small": {"source": "random", "like": "enc", "retrieval_layer": 1, "pipelines": ["none"]},
    },
    "pipelines": {"siqa": {"kind": "single", "task": "siqa"}},
    "targets": ["xnli", "udpos", "tatoeba", "syn_topic"],
    "tasks": {
        "siqa": {"source": "local", "root": "DATA"},
        "xnli": {"source": "local", "root": "DATA", "train_task": "xnli", "eval_split": "test", "languages": ["en", "de"]},
        "udpos": {"source": "local", "root": "DATA", "eval_split": "test", "languages": ["en", "de"]},
        "tatoeba": {"source": "local", "root": "DATA", "languages": ["de"]},
    },
    "resources": {
        "defaults": {"gpu": 1, "cpus_per_gpu": 6, "mem_mb": 20000, "runtime": 100},
        "intermediate": {"runtime": 300, "gpu_model": "a100"},
        "target": {"tasks": {"udpos": {"runtime": 50}}},
        "evaluate": {"cpus_per_gpu": 2, "mem_mb": 10000, "runtime": 20, "tasks": {"udpos": {"runtime": 35, "mem_mb": 12000}}},
        "retrieval": {"runtime": 40},
        "cpu": {"mem_mb": 3000, "runtime": 15},
        "models": {"big": {"gpus": 2, "runtime_scale": 1.5, "mem_scale": 2}},
    },
}


def _cluster_workdir(tmp_path: Path) -> tuple[Path, dict]:
    work = copy_repo(tmp_path / "repo")
    (work / "slurm" / "site.yaml").unlink(missing_ok=True)
    enc, data = work / "enc", work / "data"
    fake_model_dir(enc)
    for task in ("siqa", "xnli", "udpos", "tatoeba"):
        for split in ("train", "validation", "test"):
            for lang in ("en", "de"):
                (data / task / split).mkdir(parents=True, exist_ok=True)
                (data / task / split / f"{lang}.jsonl").write_text("{}\n")
    cfg = json.loads(json.dumps(CLUSTER_CONFIG).replace('"ENC"', json.dumps(str(enc))).replace('"DATA"', json.dumps(str(data))))
    (work / "cluster.yaml").write_text(yaml.safe_dump(cfg))
    # seed 0 of the `none` targets is trained already: its evaluations are ready at once
    later = time.time() + 5
    for task in ("xnli", "udpos"):
        d = work / "results/cluster/models/enc/none" / task / "seed0"
        d.mkdir(parents=True)
        for name in ("checkpoint.json", "model.safetensors", "heads.safetensors"):
            (d / name).write_text("{}")
            os.utime(d / name, (later, later))
    return work, cfg


def _first_wave(cfg: dict) -> list[str]:
    """Targets whose jobs are all ready at once: the data jobs, trainings from the base encoders,
    and the evaluations of the two trained models (groups of ready jobs only: a group waits for
    the inputs of all its jobs)."""
    plan = Plan(Experiment(cfg))
    targets = [plan.synthetic_world(), plan.base_encoder("small")]
    targets += [plan.intermediate("enc", "siqa", s) for s in (0, 1)]
    targets += [plan.target("enc", "none", t, 1) for t in ("xnli", "udpos")]
    targets += [plan.target("big", "none", t, s) for t in ("xnli", "udpos") for s in (0, 1)]
    targets += [plan.metrics("enc", "none", t, 0) for t in ("xnli", "udpos")]
    targets += [plan.retrieval_metrics(m, "none", 0) for m in ("enc", "big")]
    return targets


def _wait_for_submissions(proc, log: Path, output: Path, expected: int, timeout: float = 300) -> list[list[str]]:
    """sbatch calls once `expected` are recorded and no more come for 3 s (nothing finishes, so no
    further job can become ready), or none came for 60 s; then the run is killed."""
    deadline, stable_since, n = time.time() + timeout, None, -1
    try:
        while time.time() < deadline and proc.poll() is None:
            lines = log.read_text().splitlines() if log.exists() else []
            if len(lines) != n:
                n, stable_since = len(lines), time.time()
            elif time.time() - stable_since > (3 if n >= expected else 60):
                break
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    out = output.read_text()
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    assert len(calls) >= expected, f"{len(calls)} submissions, expected {expected}:\n{out[-5000:]}"
    return calls


def _submission(argv: list[str]) -> dict:
    """What one sbatch call asks for, and which jobs it runs (from the --wrap command)."""
    sub = {"gpus": None, "gres": None, "cpus_per_gpu": None, "cpus_per_task": None}
    for i, arg in enumerate(argv):
        if arg in ("-A", "-p", "-t", "--mem"):
            sub[arg] = argv[i + 1]
        for flag in ("gpus", "gres", "cpus-per-gpu", "cpus-per-task", "ntasks"):
            if arg.startswith(f"--{flag}="):
                sub[flag.replace("-", "_")] = arg.split("=", 1)[1]
        if arg.startswith("--wrap="):
            words = shlex.split(arg[len("--wrap="):])
            i = words.index("--target-jobs") + 1
            targets = []
            while not words[i].startswith("--"):
                rule, _, wc = words[i].partition(":")
                targets.append((rule, dict(kv.split("=", 1) for kv in wc.split(",")) if wc else {}))
                i += 1
            sub["jobs"] = targets
            sub["attempt"] = int(words[words.index("--attempt") + 1])
    return sub


def test_sbatch_lines_of_a_real_run(tmp_path):
    """`snakemake --profile slurm` for real, with fake sbatch/sacct/...: the first wave of jobs is
    submitted, and each sbatch line asks for what the config says."""
    work, cfg = _cluster_workdir(tmp_path)
    fake_slurm(tmp_path / "bin")
    log = tmp_path / "sbatch.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in SITE_VARS}
    env.update(PATH=f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}", PYTHONPATH=str(work / "src"), FAKE_SLURM_LOG=str(log),
               XSTILTS_SLURM_ACCOUNT="testacct", XSTILTS_SLURM_PARTITION="gpu-test")  # fmt: skip
    with open(tmp_path / "snakemake.log", "w") as out:  # a file, not a pipe: a full pipe would stall the run
        proc = subprocess.Popen([sys.executable, "-m", "snakemake", *_first_wave(cfg), "--profile", "slurm", "--configfile", "cluster.yaml"],
                                cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    # ready at once: synthesize_world, random_init (small), 2 intermediate trainings (enc/siqa),
    # 2 + 4 target trainings (enc seed 1, big), 1 group of 2 evaluations, 1 group of 2 retrievals
    subs = [_submission(argv) for argv in _wait_for_submissions(proc, log, tmp_path / "snakemake.log", expected=12)]
    by_rule = {}
    for s in subs:
        by_rule.setdefault(tuple(sorted({rule for rule, _ in s["jobs"]})), []).append(s)
    assert {k: len(v) for k, v in by_rule.items()} == {
        ("synthesize_world",): 1, ("random_init",): 1, ("train_intermediate",): 2, ("train_target",): 6,
        ("evaluate_target",): 1, ("evaluate_retrieval",): 1}, by_rule  # fmt: skip

    plan = Plan(Experiment(cfg))
    for s in subs:
        assert (s["-A"], s["-p"], s["attempt"]) == ("testacct", "gpu-test", 1), s
        rules = {rule for rule, _ in s["jobs"]}
        if rules <= DATA_RULES:
            # data preparation: a CPU job, no GPU in any form
            (rule, wc), = s["jobs"]
            assert s["gpus"] is None and s["gres"] is None and s["cpus_per_gpu"] is None, s
            assert (s["ntasks"], s["cpus_per_task"]) == ("1", "1"), s
            assert (int(s["-t"]), int(s["--mem"])) == (15, 3000) == tuple(plan.resources(rule, wc)[k] for k in ("runtime", "mem_mb"))
            continue
        expected = [plan.resources(rule, wc) for rule, wc in s["jobs"]]
        gpus = max(e["gpu"] for e in expected)
        model = {e.get("gpu_model") for e in expected} - {None}
        assert s["gres"] is None and s["gpus"] == (f"{model.pop()}:{gpus}" if model else str(gpus)), s
        # a group runs its jobs one after another: the largest request, the sum of the runtimes
        assert int(s["-t"]) == sum(e["runtime"] for e in expected), s
        assert int(s["--mem"]) == max(e["mem_mb"] for e in expected), s
        assert int(s["cpus_per_gpu"]) == max(e["cpus_per_gpu"] for e in expected), s
        if rules & TRAINING_RULES:
            assert len(s["jobs"]) == 1 and gpus >= 1, s

    # what that means for this config, spelled out
    (intermediate_a, intermediate_b) = by_rule[("train_intermediate",)]
    assert intermediate_a["gpus"] == intermediate_b["gpus"] == "a100:1" and intermediate_a["-t"] == "300"
    big = [s for s in by_rule[("train_target",)] if s["jobs"][0][1]["model"] == "big"]
    assert len(big) == 4 and {s["gpus"] for s in big} == {"2"} and {s["--mem"] for s in big} == {"40000"}
    assert sorted(int(s["-t"]) for s in big) == [75, 75, 150, 150]  # udpos 50 and xnli 100, x 1.5 for big
    (evaluations,) = by_rule[("evaluate_target",)]
    assert len(evaluations["jobs"]) == 2 and evaluations["gpus"] == "1"  # two evaluations, one GPU
    assert (evaluations["-t"], evaluations["--mem"], evaluations["cpus_per_gpu"]) == ("55", "12000", "2")
    (retrievals,) = by_rule[("evaluate_retrieval",)]
    assert {wc["model"] for _, wc in retrievals["jobs"]} == {"enc", "big"}
    assert retrievals["gpus"] == "2" and retrievals["-t"] == str(40 + 60)  # max(1, 2) GPUs, not 3
