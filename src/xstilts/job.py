"""`xstilts-job NAME [ARGS]`: run one job script of workflow/scripts/ by hand, as its rule runs it.

    xstilts-job                      # the job scripts, one line each
    xstilts-job train_model --params '{...}' --init .../checkpoint.json --out .../checkpoint.json
    xstilts-job train_model --help   # the script's own arguments
"""

from __future__ import annotations

import ast
import runpy
import sys

from xstilts.common.provenance import REPO_ROOT

SCRIPTS = REPO_ROOT / "workflow" / "scripts"


def scripts() -> dict[str, str]:
    """Job script name -> the first line of its docstring."""
    out = {}
    for path in sorted(SCRIPTS.glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        out[path.stem] = doc.splitlines()[0] if doc else ""
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        known = scripts()
        print(__doc__.strip().splitlines()[0] + "\n")
        width = max(map(len, known), default=0)
        print("\n".join(f"  {name:<{width}}  {doc}" for name, doc in known.items()))
        return 0
    name = argv[0].replace("-", "_").removesuffix(".py")
    script = SCRIPTS / f"{name}.py"
    if not script.is_file():
        print(f"xstilts: no job script '{argv[0]}' in {SCRIPTS}; expected one of {sorted(p.stem for p in SCRIPTS.glob('*.py'))}.",
              file=sys.stderr)  # fmt: skip
        return 2
    script = str(script)
    sys.argv = [script, *argv[1:]]
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
