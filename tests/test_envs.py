"""The conda environments of the rules (envs/*.yaml): they parse, the test environment satisfies
their version ranges, and each names every third-party package the code its rules run imports.

Which code a rule runs is read from workflow/rules/*.smk (`python -m xstilts.jobs COMMAND` or
`python -m xstilts.report COMMAND`), and what that code imports is followed with `ast` through
src/xstilts: the command's function, the functions and classes it reaches by name, and the module-
level code of every module on the way (imports inside functions included).
"""

import ast
import importlib.metadata
import re
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "xstilts"
ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))

# import name -> conda/pip package name, where they differ
PACKAGE_OF_IMPORT = {"torch": "pytorch", "yaml": "pyyaml", "sklearn": "scikit-learn", "PIL": "pillow", "cv2": "opencv"}
# package name in an env file -> distribution name installed by pip, where they differ
DIST_OF_PACKAGE = {"pytorch": "torch"}
# optional dependencies of libraries, needed by the methods the code calls (no import statement)
IMPLICIT = {"to_markdown": "tabulate", "to_latex": "jinja2"}


def norm(name: str) -> str:
    return name.lower().replace("_", "-")


def env_packages(path: Path) -> dict[str, str]:
    """package name -> version range ('' when none) of one environment file, conda and pip."""
    env = yaml.safe_load(path.read_text())
    out = {}
    for dep in env["dependencies"]:
        for item in dep["pip"] if isinstance(dep, dict) else [dep]:
            m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", item)
            assert m, f"{path.name}: cannot read dependency {item!r}"
            out[norm(m.group(1))] = m.group(2)
    return out


# ----------------------------------------------------------------------------- which env runs what


def rule_commands() -> dict[str, tuple[str, str, str]]:
    """rule -> (env file, module, command or None) for every rule that runs a `python -m xstilts...` job."""
    envs = {}
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        for name, value in re.findall(r'^(ENV_\w+) = "(.+)"$', smk.read_text(), re.M):
            envs[name] = (smk.parent / value).resolve()
    assert envs, "no ENV_* constants in workflow/rules"
    rules = {}
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for name, body in re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", smk.read_text(), re.M | re.S):
            conda = re.search(r"^    conda:\n\s+(\w+)", body, re.M)
            # `{params.launcher}` is python, or torchrun for multi-GPU models (plan.launcher)
            command = re.search(r"(?:python|\{params\.launcher\}) -m (xstilts\.\w+)(?: ([a-z][\w-]*))?", body)
            assert conda and command, f"rule {name} in {smk.name}: expected a conda: env and a `python -m xstilts...` command"
            rules[name] = (envs[conda.group(1)], command.group(1), command.group(2))
    return rules


def test_every_rule_has_an_env_file_and_a_job_command():
    rules = rule_commands()
    assert {p.name for p, _, _ in rules.values()} == {p.name for p in ENV_FILES} == {"train.yaml", "data.yaml", "report.yaml"}
    assert {r for r, (p, _, _) in rules.items() if p.name == "data.yaml"} == {"synthesize_world", "synthetic_xglue", "fetch_dataset", "fetch_model",
                                                                          "fetch_corpus", "fetch_translation"}  # fmt: skip
    assert {r for r, (_, m, _) in rules.items() if m == "xstilts.report"} == {"collect_scores", "transfer_matrix_table", "transfer_matrix_figure",
                                                                         "language_tables", "statistics", "published_comparison",
                                                                         "task_category", "language_figures"}  # fmt: skip
    for rule, (path, module, command) in rules.items():
        assert path.exists(), (rule, path)
        if module == "xstilts.jobs":
            assert command in job_commands(), (rule, command)
    # the research-question rules, made in a loop, call `xstilts.report <name with dashes>` in the report env
    from xstilts.analysis import _COMMANDS
    from xstilts.plan import RQ_ANALYSES

    assert {name.replace("_", "-") for name in RQ_ANALYSES} == set(_COMMANDS)


# ----------------------------------------------------------------------------- what the code imports


@cache
def tree(module: str) -> ast.Module:
    """`xstilts` or `xstilts.name`."""
    path = SRC / "__init__.py" if module == "xstilts" else SRC / f"{module.split('.', 1)[1]}.py"
    return ast.parse(path.read_text(), filename=str(path))


def top_level(module: str) -> dict[str, ast.AST]:
    return {n.name: n for n in tree(module).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


@cache
def job_commands() -> dict[str, str]:
    """`python -m xstilts.jobs` command -> the function it runs (jobs.COMMANDS)."""
    for node in tree("xstilts.jobs").body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "COMMANDS" for t in node.targets):
            return {k.value: v.elts[0].id for k, v in zip(node.value.keys, node.value.values)}
    raise AssertionError("xstilts.jobs has no COMMANDS table")


class Imports:
    """Third-party packages imported by the code reached from some entry points."""

    def __init__(self):
        self.packages: dict[str, str] = {}  # top-level import name -> where
        self.seen: set = set()

    def module(self, module: str) -> None:
        """What importing a module runs: its top-level statements (not the bodies of its functions
        and classes), calls made at import time, and the module-level tables of functions."""
        if (module, None) in self.seen:
            return
        self.seen.add((module, None))
        if module != "xstilts":
            self.module("xstilts")  # the package is imported first
        defs = top_level(module)
        for node in tree(module).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for deco in node.decorator_list + getattr(node, "bases", []):
                    self.walk(module, deco)
                continue
            if module == "xstilts.jobs" and isinstance(node, ast.Assign) and "COMMANDS" in ast.dump(node):
                continue  # the command table: each command is followed on its own
            self.walk(module, node, names=defs)

    def function(self, module: str, name: str) -> None:
        self.module(module)
        node = top_level(module).get(name)
        if node is None or (module, name) in self.seen:
            return  # a constant, or done
        self.seen.add((module, name))
        self.walk(module, node, names=top_level(module))

    def whole_module(self, module: str) -> None:
        for name in top_level(module):
            self.function(module, name)
        self.module(module)

    def walk(self, module: str, node: ast.AST, names: dict | None = None) -> None:
        names = names or {}
        for sub in ast.walk(node):
            if isinstance(sub, (ast.Import, ast.ImportFrom)):
                self.import_(module, sub)
            elif isinstance(sub, ast.Name) and sub.id in names and sub is not node:
                self.function(module, sub.id)  # a function or class of the same module, called or passed on
            elif isinstance(sub, ast.Attribute) and sub.attr in IMPLICIT:
                self.packages.setdefault(IMPLICIT[sub.attr], f"{module} (.{sub.attr})")

    def import_(self, module: str, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self.external_or_ours(module, alias.name, None)
            return
        if node.level:  # relative: from .x import y / from . import x
            base = "xstilts" if node.level == 1 else None
            assert base, f"{module}: relative import beyond the package"
            if node.module is None:
                for alias in node.names:
                    sub = f"xstilts.{alias.name}"
                    if (SRC / f"{alias.name}.py").exists():
                        self.whole_module(sub)
                    else:
                        self.module("xstilts")
                return
            target = f"xstilts.{node.module}"
        else:
            target = node.module
        for alias in node.names:
            self.external_or_ours(module, target, alias.name)

    def external_or_ours(self, module: str, target: str, name: str | None) -> None:
        top = target.split(".")[0]
        if top == "xstilts":
            if target == "xstilts":
                self.module("xstilts")
            elif name is None:
                self.whole_module(target)
            else:
                self.function(target, name)
        elif top != "__future__" and top not in sys.stdlib_module_names:
            self.packages.setdefault(top, module)


def imports_of(module: str, command: str) -> dict[str, str]:
    found = Imports()
    if module == "xstilts.jobs":
        found.function(module, "main")
        found.function(module, job_commands()[command])
    else:  # xstilts.report (one env for its three commands), xstilts.cost: the whole command line
        found.function(module, "main")
    return found.packages


def test_the_import_follower_sees_lazy_imports():
    """The follower itself: imports inside functions count, unrelated commands do not."""
    train = imports_of("xstilts.jobs", "train")
    assert {"torch", "transformers", "accelerate", "safetensors", "numpy"} <= set(train)
    assert "datasets" not in train and "huggingface_hub" not in train  # only the download commands need them
    assert {"datasets"} <= set(imports_of("xstilts.jobs", "fetch-data")) and "torch" not in imports_of("xstilts.jobs", "fetch-data")
    assert "huggingface_hub" in imports_of("xstilts.jobs", "fetch-model")
    report = imports_of("xstilts.report", "table")
    assert {"pandas", "matplotlib", "seaborn", "tabulate"} <= set(report)  # LaTeX is written by hand: no jinja2


@pytest.mark.parametrize("rule", sorted(rule_commands()))
def test_env_names_every_package_the_rule_imports(rule):
    env_path, module, command = rule_commands()[rule]
    listed = env_packages(env_path)
    missing = {
        PACKAGE_OF_IMPORT.get(name, name): where
        for name, where in imports_of(module, command).items()
        if norm(PACKAGE_OF_IMPORT.get(name, name)) not in listed
    }
    assert not missing, f"rule {rule} runs `python -m {module} {command}`, which imports {missing} (package: module); add them to envs/{env_path.name}"


# ----------------------------------------------------------------------------- the files themselves


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_file_parses_and_the_test_environment_satisfies_it(path):
    env = yaml.safe_load(path.read_text())
    assert env["channels"] == ["conda-forge"] and env["dependencies"]
    packages = env_packages(path)
    assert re.fullmatch(r">=3\.\d+,<3\.\d+", packages["python"])
    for name, spec in packages.items():
        if not spec:
            continue
        assert not spec.startswith("=="), f"{path.name}: {name} {spec} is a pin; give a range"
        if name == "python":
            version = ".".join(map(str, sys.version_info[:3]))
        else:
            version = importlib.metadata.version(DIST_OF_PACKAGE.get(name, name))
        assert SpecifierSet(spec.replace(" ", "")).contains(version, prereleases=True), (
            f"{path.name}: {name} {spec} excludes {version}, the version the test suite runs"
        )
    if path.name == "train.yaml":
        assert packages["pytorch"] == ">=2.4"  # a range: a cluster keeps its CUDA build
