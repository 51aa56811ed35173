"""The job scripts of workflow/scripts/ as the rules run them, and `xstilts-job`, which runs them by name."""

import json
import os
import subprocess
import sys

from conftest import ROOT, load_script

from xstilts import job
from xstilts.common.cli import run_job
from xstilts.data.registry import build_registry, task_to_dict


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, str(ROOT / "workflow" / "scripts" / f"{script}.py"), *args], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_a_job_that_stops_on_bad_input_says_one_line_and_writes_nothing(tmp_path):
    params = {"task": task_to_dict(build_registry(None)["cosmosqa"]), "source": "release", "root": str(tmp_path / "missing"),
              "languages": ["en"], "on_bad_row": "error"}  # fmt: skip
    out = tmp_path / "data" / "cosmosqa" / "manifest.json"
    proc = _run("fetch_dataset", "--params", json.dumps(params), "--out", str(out))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("xstilts: Cosmos QA file ")
    assert not (tmp_path / "data").exists()


def test_the_command_line_comes_from_the_job_signature(tmp_path, capsys):
    seen = {}

    def job_fn(params: dict, scores: str, out_dir: str, targets: list[str], threads: int | None = None) -> None:
        seen.update(params=params, scores=scores, out_dir=out_dir, targets=targets, threads=threads)

    assert run_job(job_fn, ["--params", '{"a": 1}', "--scores", "s.csv", "--out-dir", "d", "--threads", "2", "x", "y"]) == 0
    assert seen == {"params": {"a": 1}, "scores": "s.csv", "out_dir": "d", "targets": ["x", "y"], "threads": 2}


def test_xstilts_job_lists_and_runs_the_scripts(tmp_path, capsys):
    assert job.main([]) == 0
    listed = capsys.readouterr().out
    assert all(f"  {p.stem} " in listed for p in (ROOT / "workflow" / "scripts").glob("*.py"))
    assert job.main(["no_such_job"]) == 2
    assert "xstilts: no job script 'no_such_job'" in capsys.readouterr().err
    # a report script by name, dashes or underscores, on a small score table
    scores = tmp_path / "scores_long.csv"
    scores.write_text("model,pipeline,target,train_task,seed,language,metric,value,main,split,n\n"
                      "m,none,t,t,0,en,accuracy,0.5,True,test,10\nm,p,t,t,0,en,accuracy,0.7,True,test,10\n")  # fmt: skip
    assert job.main(["transfer-matrix-table", "--params", '{"digits": 1, "scale": 100.0}', "--scores", str(scores),
                     "--prefix", str(tmp_path / "tm")]) == 0  # fmt: skip
    assert "70.0 (+20.0)" in (tmp_path / "tm.md").read_text()


def test_every_job_script_loads_and_names_its_job():
    for path in sorted((ROOT / "workflow" / "scripts").glob("*.py")):
        module = load_script(path.stem)
        assert callable(getattr(module, "job", None) or getattr(module, "main", None) or getattr(module, "run_job", None)), path.name
