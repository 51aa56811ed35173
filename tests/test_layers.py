"""The library's layering stays true: walked with `ast` (imports inside functions and under
TYPE_CHECKING included), no module imports a higher layer, no import circle exists, and no private
name (`_x`) is imported or reached across modules.

Layers, bottom first (README, "How the code is organised"):

    common  <  data  <  modelling  <  scoring  <  workflow  <  reporting  <  entry points

`xstilts/__init__.py` (the version) belongs to the bottom; `xstilts/cost.py` (`python -m
xstilts.cost`) is an entry point, like the scripts in workflow/scripts/.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
LAYERS = ("common", "data", "modelling", "scoring", "workflow", "reporting")
ENTRY = len(LAYERS)


def modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the library (a package as its __init__)."""
    out = {}
    for path in sorted((SRC / "xstilts").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = modules()


def layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return 0  # xstilts/__init__.py: the version only
    if parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return ENTRY  # a top-level module: a command-line entry point


def imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported library module, imported name or None, line) for every import of ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "xstilts"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "xstilts":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((sub, None, node.lineno) if sub in MODULES else (target, a.name, node.lineno))
    return out


def test_the_walk_sees_every_layer_and_lazy_imports():
    assert {layer(m) for m in MODULES} == set(range(ENTRY + 1))
    lazy = {t for t, _, _ in imports("xstilts.workflow.jobs.training")}
    assert "xstilts.modelling.training" in lazy and "xstilts.scoring.score" in lazy  # both inside train()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_from_a_higher_layer(module):
    upward = [(t, line) for t, _, line in imports(module) if t in MODULES and layer(t) > layer(module)]
    assert not upward, f"{module} ({LAYERS[layer(module)] if layer(module) < ENTRY else 'entry'}) imports a higher layer: {upward}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_import_names_a_library_module(module):
    unknown = [(t, line) for t, _, line in imports(module) if t not in MODULES]
    assert not unknown, f"{module} imports modules that do not exist: {unknown}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_crosses_modules(module):
    found = [(t, n, line) for t, n, line in imports(module) if n and n.startswith("_") and n != "__version__" and t != module]
    # `import xstilts.x as X` / `from xstilts.pkg import x as X`, then X._private
    tree = ast.parse(MODULES[module].read_text())
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                full = a.name if isinstance(node, ast.Import) else f"{node.module}.{a.name}"
                if full in MODULES:
                    aliases[a.asname or a.name] = full
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                found.append((aliases[node.value.id], node.attr, node.lineno))
    assert not found, f"{module} uses private names of other modules: {found}"


def test_no_import_circles():
    graph = {m: sorted({t for t, _, _ in imports(m) if t in MODULES and t != m}) for m in MODULES}
    # Tarjan's strongly connected components: any component of two or more modules is a circle
    index, low, stack, on_stack, circles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for m in graph:
        if m not in index:
            visit(m)
    assert not circles, f"import circles: {circles}"


def test_the_registry_is_the_bottom_of_the_data_layer():
    assert {t for t, _, _ in imports("xstilts.data.registry")} <= {m for m in MODULES if layer(m) == 0}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_says_what_it_is_for(module):
    doc = ast.get_docstring(ast.parse(MODULES[module].read_text()))
    assert doc and len(doc.splitlines()[0]) > 20, f"{module}: its docstring's first line says what it is for"
