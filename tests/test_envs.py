"""The conda environments of the rules (envs/*.yaml): they parse, the test environment satisfies
their version ranges, and each names every third-party package the code its rules run imports.

Which script a rule runs is read from workflow/rules/*.smk (`python "$XSTILTS_SCRIPTS/NAME.py"`), and what
that script imports is followed with `ast` through src/xstilts: the script's module-level code, the
functions and classes it reaches by name, and the module-level code of every module on the way
(the packages' __init__ files and imports inside functions included).
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
SCRIPTS = ROOT / "workflow" / "scripts"
ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))

# import name -> conda/pip package name, where they differ
PACKAGE_OF_IMPORT = {"torch": "pytorch", "yaml": "pyyaml", "sklearn": "scikit-learn", "PIL": "pillow", "cv2": "opencv"}
# package name in an env file -> distribution name installed by pip, where they differ
DIST_OF_PACKAGE = {"pytorch": "torch"}
# optional dependencies of libraries, needed by the methods the code calls (no import statement)
IMPLICIT = {"to_markdown": "tabulate", "to_latex": "jinja2"}
SCRIPT_OF_RULE = re.compile(r'\\"\$XSTILTS_SCRIPTS/(\w+)\.py\\"')


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


@cache
def rule_scripts() -> dict[str, tuple[Path, str]]:
    """rule -> (env file, script name) for every rule; the research-question rules, made in a loop
    (`rule:` with `name: _name`), appear once as 'research questions'."""
    envs = {}
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        for name, value in re.findall(r'^(ENV_\w+) = "(.+)"$', smk.read_text(), re.M):
            envs[name] = (smk.parent / value).resolve()
    assert envs, "no ENV_* constants in workflow/rules"
    rules = {}
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        text = smk.read_text()
        blocks = re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", text, re.M | re.S)
        blocks += [("research questions", body) for body in re.findall(r"^    rule:\n(.*?)(?=^\S|\Z)", text, re.M | re.S)]
        for name, body in blocks:
            conda = re.search(r"^\s+conda:\n\s+(\w+)", body, re.M)
            scripts = SCRIPT_OF_RULE.findall(body)
            assert conda and len(scripts) == 1, f'rule {name} in {smk.name}: expected a conda: env and one `python "$XSTILTS_SCRIPTS/NAME.py"` command'
            rules[name] = (envs[conda.group(1)], scripts[0])
    return rules


def test_every_rule_runs_one_job_script_in_an_env():
    rules = rule_scripts()
    assert {p.name for p, _ in rules.values()} == {p.name for p in ENV_FILES} == {"train.yaml", "data.yaml", "report.yaml"}
    assert {r for r, (p, _) in rules.items() if p.name == "data.yaml"} == {"synthesize_world", "synthetic_xglue", "fetch_dataset", "fetch_model",
                                                                       "fetch_corpus", "fetch_translation"}  # fmt: skip
    assert {r for r, (p, _) in rules.items() if p.name == "report.yaml"} == {"collect_scores", "transfer_matrix_table", "transfer_matrix_figure",
                                                                         "language_tables", "statistics", "published_comparison",
                                                                         "task_category", "language_figures", "research questions",
                                                                         "cost_plan"}  # fmt: skip
    # `ls workflow/scripts` is the list of job kinds: every script is run by a rule, every rule runs one
    assert {script for _, script in rules.values()} == {p.stem for p in SCRIPTS.glob("*.py")}
    assert all(path.exists() for path, _ in rules.values())
    # the research-question rules pass their analysis by name (params.command) to research_question.py
    from xstilts.reporting.analyses import ANALYSES
    from xstilts.workflow.plan import RQ_ANALYSES

    assert {name.replace("_", "-") for name in RQ_ANALYSES} == set(ANALYSES)


def test_job_scripts_are_thin_and_shadow_no_module():
    """A script's folder is first on sys.path when it runs: a script named like a module (statistics,
    evaluate, ...) would be imported in that module's place.  Scripts hold no logic of their own."""
    import importlib.util

    for path in SCRIPTS.glob("*.py"):
        assert importlib.util.find_spec(path.stem) is None, f"workflow/scripts/{path.name} shadows the module '{path.stem}'"
        tree = ast.parse(path.read_text())
        assert ast.get_docstring(tree), f"{path.name}: the first line says what the job does"
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        assert len(functions) <= 1 and all(len(f.body) <= 4 for f in functions), f"{path.name} is not thin: move its logic to src/xstilts"
        assert sum(1 for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") in ("run_job", "main")) == 1


# ----------------------------------------------------------------------------- what the code imports


def module_path(module: str) -> Path:
    """`xstilts`, `xstilts.a.b` (a module or a package's __init__) or `script:NAME`."""
    if module.startswith("script:"):
        return SCRIPTS / f"{module[7:]}.py"
    parts = module.split(".")[1:]
    package = SRC.joinpath(*parts, "__init__.py")
    return package if package.exists() else SRC.joinpath(*parts[:-1], f"{parts[-1]}.py") if parts else SRC / "__init__.py"


def is_module(module: str) -> bool:
    return module_path(module).exists()


@cache
def tree(module: str) -> ast.Module:
    path = module_path(module)
    return ast.parse(path.read_text(), filename=str(path))


def top_level(module: str) -> dict[str, ast.AST]:
    return {n.name: n for n in tree(module).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


class Imports:
    """Third-party packages imported by the code reached from some entry points."""

    def __init__(self):
        self.packages: dict[str, str] = {}  # top-level import name -> where
        self.seen: set = set()

    def module(self, module: str) -> None:
        """What importing a module runs: its packages' __init__ files, its top-level statements (not
        the bodies of its functions and classes), calls made at import time, and the module-level
        tables of functions."""
        if (module, None) in self.seen:
            return
        self.seen.add((module, None))
        if module.startswith("xstilts."):
            parent = module.rsplit(".", 1)[0]
            self.module(parent)  # a package's __init__ runs first
        defs = top_level(module)
        for node in tree(module).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for deco in node.decorator_list + getattr(node, "bases", []):
                    self.walk(module, deco)
                continue
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
        assert not node.level, f"{module}: relative import (the library imports absolutely)"
        for alias in node.names:
            self.external_or_ours(module, node.module, alias.name)

    def external_or_ours(self, module: str, target: str, name: str | None) -> None:
        top = target.split(".")[0]
        if top == "xstilts":
            if name is None:
                self.whole_module(target)
            elif is_module(f"{target}.{name}"):  # from xstilts.pkg import submodule
                self.module(target)
                self.whole_module(f"{target}.{name}")
            else:
                self.function(target, name)
        elif top != "__future__" and top not in sys.stdlib_module_names:
            self.packages.setdefault(top, module)


def imports_of(script: str) -> dict[str, str]:
    found = Imports()
    found.whole_module(f"script:{script}")
    return found.packages


def test_the_import_follower_sees_lazy_imports():
    """The follower itself: imports inside functions count, unrelated jobs do not."""
    train = imports_of("train_model")
    assert {"torch", "transformers", "accelerate", "safetensors", "numpy"} <= set(train)
    assert "datasets" not in train and "huggingface_hub" not in train  # only the download jobs need them
    assert {"datasets"} <= set(imports_of("fetch_dataset")) and "torch" not in imports_of("fetch_dataset")
    assert "huggingface_hub" in imports_of("fetch_model")
    report = imports_of("transfer_matrix_table")
    assert {"pandas", "tabulate"} <= set(report) and "torch" not in report  # LaTeX is written by hand: no jinja2
    assert {"matplotlib", "seaborn"} <= set(imports_of("transfer_matrix_figure"))


@pytest.mark.parametrize("rule", sorted(rule_scripts()))
def test_env_names_every_package_the_rule_imports(rule):
    env_path, script = rule_scripts()[rule]
    listed = env_packages(env_path)
    missing = {
        PACKAGE_OF_IMPORT.get(name, name): where
        for name, where in imports_of(script).items()
        if norm(PACKAGE_OF_IMPORT.get(name, name)) not in listed
    }
    assert not missing, f"rule {rule} runs workflow/scripts/{script}.py, which imports {missing} (package: module); add them to envs/{env_path.name}"


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
