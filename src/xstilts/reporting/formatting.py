"""How tables are printed: numbers, LaTeX escapes, booktabs tables, and a table written with its caption."""

from __future__ import annotations

import pandas as pd

from xstilts.common.files import atomic_path

BASELINE = "none"  # the pipeline every other is compared with: no intermediate training


def fmt_number(v, digits, signed=False):
    if pd.isna(v):
        return "–"
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def tex_escape(text: str) -> str:
    out = text.replace("\\", "\\textbackslash{}")
    for ch in "_%&#$":
        out = out.replace(ch, "\\" + ch)
    return out


def latex_table(wide: pd.DataFrame, caption: str) -> str:
    """A booktabs table (bold cells arrive as \\textbf{...}); signs in math mode."""
    cols = list(wide.columns)
    lines = ["% " + caption, "\\begin{tabular}{ll" + "r" * (len(cols) - 2) + "}", "\\toprule",
             " & ".join(tex_escape(str(c)) for c in cols) + " \\\\", "\\midrule"]  # fmt: skip
    for row in wide.itertuples(index=False):
        cells = []
        for k, v in enumerate(row):
            v = str(v)
            if k < 2:
                cells.append(tex_escape(v))
            else:
                cells.append(v.replace("±", "$\\pm$").replace("(+", "($+$").replace("(-", "($-$").replace("–", "--"))
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(lines)


def write_captioned(prefix: str, md: pd.DataFrame, tex: pd.DataFrame | str, caption: str) -> None:
    """``{prefix}.md`` (the table, then its caption; cells printed as given, so "+0.1" keeps its sign)
    and ``{prefix}.tex`` (booktabs, or the LaTeX text given), each written atomically."""
    with atomic_path(f"{prefix}.md") as tmp, open(tmp, "w") as f:
        f.write(md.to_markdown(index=False, disable_numparse=True) + f"\n\n{caption}\n")
    with atomic_path(f"{prefix}.tex") as tmp, open(tmp, "w") as f:
        f.write(tex if isinstance(tex, str) else latex_table(tex, caption))
