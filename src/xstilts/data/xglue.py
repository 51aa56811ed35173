"""Readers for the XGLUE understanding tasks, from the files of the XGLUE release.

XGLUE's Hub loading script no longer runs (``datasets`` 4+ refuses scripts), so the tasks are read from
the release archive ``xglue_full_dataset.tar.gz`` (:data:`RELEASE_URL`, linked from
https://microsoft.github.io/XGLUE/ once its terms are accepted).  Unpacked, it holds one directory per
task under ``xglue_full_dataset/`` (:data:`RELEASE_FILES`; checked against the legacy Hub script
``huggingface/datasets: datasets/xglue/xglue.py`` and microsoft/XGLUE ``Data_Format.txt`` and
``evaluation/xglue_evaluate.py``)::

    NER/   en.train  {lang}.dev  {lang}.test          "word label" per line, blank line between sentences
    POS/   en.train  {lang}.dev  {lang}.test          (same)
    NC/    xglue.nc.en.train  xglue.nc.{lang}.dev  xglue.nc.{lang}.test        title TAB body TAB category
    QADSM/ xglue.qadsm.*                              query TAB ad title TAB ad description TAB Good|Bad
    WPR/   xglue.wpr.*                                query TAB page title TAB page snippet TAB 0-4
    QAM/   xglue.qam.*                                question TAB passage TAB 0|1
    XNLI/  multinli.train.en.tsv (header premise/hypo/label)  {lang}.dev  {lang}.test   premise TAB hypothesis TAB label
    PAWSX/ en/train.tsv  {lang}/dev_2k.tsv  {lang}/test_2k.tsv   header id/sentence1/sentence2/label (0|1)
    MLQA/  squad1.1/train-v1.1.json  MLQA_V1/{dev,test}/{split}-context-{lang}-question-{lang}.json  (SQuAD JSON)

Training data is English only; dev and test exist per language.  The test files of NC, QADSM, WPR and
QAM carry no label column (XGLUE scores them on its server; ``Data_Format.txt``), so X-STILTs scores
every XGLUE task on its dev set (our ``validation``).  The POS Thai dev file is a copy of the Thai
test file (UD Thai-PUD has only a test set).  Rows of the TSV files have no ids: a row's id is its
line number, the convention XGLUE's prediction files follow.  WPR rows carry ``group``: the run of
consecutive lines with the same query, as ``xglue_evaluate.py`` groups them for nDCG.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from xstilts.common.errors import ConfigError, DataError
from xstilts.common.files import utf8_lines
from xstilts.data.registry import BUILTIN_TASKS, NLI_LABELS, PARAPHRASE_LABELS

RELEASE_URL = "https://xglue.blob.core.windows.net/xglue/xglue_full_dataset.tar.gz"
RELEASE_DIR = "xglue_full_dataset"
TASKS = ("ner", "pos", "nc", "mlqa", "xnli", "pawsx", "qadsm", "wpr", "qam")
HIDDEN_TEST = ("nc", "qadsm", "wpr", "qam")  # test files without labels
SPLITS = {"train": "train", "validation": "dev", "test": "test"}  # ours -> XGLUE's

_TSV = "xglue.{task}.{lang}.{split}"
# task -> (directory, {XGLUE split: file name pattern}) below xglue_full_dataset/
RELEASE_FILES: dict[str, tuple[str, dict[str, str]]] = {
    "ner": ("NER", {"train": "en.train", "dev": "{lang}.dev", "test": "{lang}.test"}),
    "pos": ("POS", {"train": "en.train", "dev": "{lang}.dev", "test": "{lang}.test"}),
    "nc": ("NC", {s: _TSV.replace("{task}", "nc").replace("{split}", s) for s in ("train", "dev", "test")}),
    "qadsm": ("QADSM", {s: _TSV.replace("{task}", "qadsm").replace("{split}", s) for s in ("train", "dev", "test")}),
    "wpr": ("WPR", {s: _TSV.replace("{task}", "wpr").replace("{split}", s) for s in ("train", "dev", "test")}),
    "qam": ("QAM", {s: _TSV.replace("{task}", "qam").replace("{split}", s) for s in ("train", "dev", "test")}),
    "xnli": ("XNLI", {"train": "multinli.train.en.tsv", "dev": "{lang}.dev", "test": "{lang}.test"}),
    "pawsx": ("PAWSX", {"train": "en/train.tsv", "dev": "{lang}/dev_2k.tsv", "test": "{lang}/test_2k.tsv"}),
    "mlqa": ("MLQA", {"train": "squad1.1/train-v1.1.json", "dev": "MLQA_V1/dev/dev-context-{lang}-question-{lang}.json",
                      "test": "MLQA_V1/test/test-context-{lang}-question-{lang}.json"}),
}  # fmt: skip


def task_name(task: str) -> str:
    """XGLUE task key ('ner') of a registry name ('xglue_ner')."""
    key = task.removeprefix("xglue_")
    if key not in RELEASE_FILES:
        raise ConfigError(f"XGLUE has no understanding task {task!r}; it has {', '.join('xglue_' + t for t in TASKS)}.")
    return key


def languages(task: str) -> tuple[str, ...]:
    return BUILTIN_TASKS[f"xglue_{task_name(task)}"].languages


def splits_for(task: str, lang: str) -> list[str]:
    """Our splits that exist for one language: train (English only), validation, test."""
    return ["train", "validation", "test"] if lang == "en" else ["validation", "test"]


def release_file(root: str | os.PathLike, task: str, split: str, lang: str, known_languages=None) -> Path:
    """The release file of (task, our split, language); DataError naming it and the archive if missing.
    ``known_languages`` replaces XGLUE's language list (files written in XGLUE's layout for other
    languages, e.g. the synthetic world's)."""
    key = task_name(task)
    if split not in SPLITS:
        raise ConfigError(f"XGLUE has no split {split!r}; use train, validation (XGLUE's dev) or test.")
    if split == "train" and lang != "en":
        raise ConfigError(f"XGLUE has English training data only, not {lang!r}.")
    known = tuple(languages(key) if known_languages is None else known_languages)
    if lang not in known:
        raise ConfigError(f"XGLUE {key.upper()} has no language {lang!r}; it has {', '.join(known)}.")
    directory, names = RELEASE_FILES[key]
    relative = Path(directory) / names[SPLITS[split]].format(lang=lang)
    root = Path(root)
    candidates = [root / RELEASE_DIR / relative, root / relative]
    if key == "mlqa":  # Data_Format.txt spells the directory MLQA_v1
        candidates += [Path(str(c).replace("MLQA_V1", "MLQA_v1")) for c in candidates]
    for path in candidates:
        if path.is_file():
            return path
    raise DataError(
        f"XGLUE file {candidates[0]} was not found; download {RELEASE_URL} (linked from "
        f"https://microsoft.github.io/XGLUE/), unpack it and set the directory holding {RELEASE_DIR}/ as the "
        f"root of task 'xglue_{key}' in the config."
    )


# ------------------------------------------------------------------------------------ readers


def _read_conll(path: Path) -> list[dict]:
    """Sentences of a "word label" file (blank lines between sentences, -DOCSTART- lines skipped)."""
    rows: list[dict] = []
    tokens: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if tokens:
            rows.append({"id": str(len(rows)), "tokens": list(tokens), "tags": list(tags)})
            tokens.clear()
            tags.clear()

    for lineno, line in utf8_lines(path):
        fields = line.split()
        if not fields:
            flush()
            continue
        if fields[0] == "-DOCSTART-":
            continue
        if len(fields) < 2:
            raise DataError(f"{path}:{lineno}: expected 'word label', got {line.strip()!r} (no label)")
        tokens.append(fields[0])
        tags.append(fields[-1])
    flush()
    return rows


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p.strip())


def _nc(f: list[str]) -> dict:
    return {"text_a": f[0], "text_b": f[1]}


def _qadsm(f: list[str]) -> dict:
    return {"text_a": f[0], "text_b": _join(f[1], f[2])}


def _qam(f: list[str]) -> dict:
    return {"text_a": f[0], "text_b": f[1]}


def _xnli(f: list[str]) -> dict:
    return {"text_a": f[0], "text_b": f[1]}


def _pawsx(f: list[str]) -> dict:
    return {"id": f[0], "text_a": f[1], "text_b": f[2]}


_XNLI_LABELS = {label: label for label in NLI_LABELS} | {"contradictory": "contradiction"}
_PAWSX_LABELS = {"0": PARAPHRASE_LABELS[0], "1": PARAPHRASE_LABELS[1]}

# task -> (text columns before the label column, text converter, label map (None: as written), header line)
_TSV_TASKS: dict[str, tuple[int, Callable[[list[str]], dict], dict | None, bool]] = {
    "nc": (2, _nc, None, False),
    "qadsm": (3, _qadsm, None, False),
    "wpr": (3, _qadsm, None, False),
    "qam": (2, _qam, None, False),
    "xnli": (2, _xnli, _XNLI_LABELS, False),
    "pawsx": (3, _pawsx, _PAWSX_LABELS, True),
}


def _read_tsv(path: Path, key: str, split: str) -> list[dict]:
    n_text, convert, label_map, header = _TSV_TASKS[key]
    rows: list[dict] = []
    last_query, group = None, -1
    for lineno, line in utf8_lines(path):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        fields = line.split("\t")
        if lineno == 1 and (header or fields[-1].strip() in ("label", "gold_label")):
            continue  # PAWS-X header, or the premise/hypo/label header of multinli.train.en.tsv
        if len(fields) == n_text:
            hidden = "; XGLUE holds its test labels out, so score on dev (validation)" if split == "test" else ""
            raise DataError(f"{path}:{lineno}: the line has no label column{hidden}")
        if len(fields) != n_text + 1:
            raise DataError(f"{path}:{lineno}: expected {n_text + 1} tab-separated columns, got {len(fields)}")
        raw = fields[-1].strip()
        label = raw if label_map is None else label_map.get(raw)
        if label is None:
            raise DataError(f"{path}:{lineno}: label {raw!r} is not one of {sorted(label_map)}")
        row = {"id": str(lineno), **convert(fields[:n_text]), "label": label}
        if key == "wpr":
            if fields[0] != last_query:
                last_query, group = fields[0], group + 1
            row["group"] = str(group)
        rows.append(row)
    return rows


def _read_squad(path: Path) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)["data"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a SQuAD-format JSON file with a 'data' list ({exc})") from None
    rows = []
    for article in data:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                rows.append({
                    "id": str(qa["id"]),
                    "context": paragraph["context"],
                    "question": qa["question"],
                    "answers": {"text": [a["text"] for a in qa["answers"]],
                                "answer_start": [a["answer_start"] for a in qa["answers"]]},
                })  # fmt: skip
    return rows


def read_xglue(task: str, root: str | os.PathLike, split: str, lang: str, known_languages=None) -> list[dict]:
    """Rows of one XGLUE task, split (train, validation = XGLUE's dev, test) and language, in our format."""
    key = task_name(task)
    path = release_file(root, key, split, lang, known_languages)
    if key in ("ner", "pos"):
        return _read_conll(path)
    if key == "mlqa":
        return _read_squad(path)
    return _read_tsv(path, key, split)


# ------------------------------------------------------------------------- the synthetic world, in XGLUE's layout

SYNTHETIC_SOURCES = {"pos": "syn_pos", "nc": "syn_topic", "mlqa": "syn_qa"}  # XGLUE task <- synthetic task


def write_synthetic_release(world_root: str | os.PathLike, out_root: str | os.PathLike, languages) -> dict:
    """Write the synthetic world's tagging, classification and QA tasks as XGLUE release files --
    POS ("word label" lines), NC (title TAB body TAB category; the synthetic sentence is both title
    and body) and MLQA (SQuAD JSON) -- under ``{out_root}/xglue_full_dataset/``, so that the XGLUE
    readers and the whole workflow run on it offline.  Returns {task: {split: {lang: rows}}}."""
    from xstilts.common.files import atomic_path

    world, out = Path(world_root), Path(out_root) / RELEASE_DIR
    counts: dict = {}

    def rows_of(task, split, lang):
        with open(world / task / split / f"{lang}.jsonl", encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def write(path: Path, text: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    for key, source in SYNTHETIC_SOURCES.items():
        directory, names = RELEASE_FILES[key]
        for split, theirs in SPLITS.items():
            for lang in languages:
                if split not in splits_for(key, lang):
                    continue
                rows = rows_of(source, split, lang)
                if key == "pos":
                    text = "".join("".join(f"{w} {t}\n" for w, t in zip(r["tokens"], r["tags"])) + "\n" for r in rows)
                elif key == "nc":
                    text = "".join(f"{r['text_a']}\t{r['text_a']}\t{r['label']}\n" for r in rows)
                else:
                    qas = [{"id": r["id"], "question": r["question"],
                            "answers": [{"text": t, "answer_start": s} for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])]}
                           for r in rows]  # fmt: skip
                    paragraphs = [{"context": r["context"], "qas": [qa]} for r, qa in zip(rows, qas)]
                    text = json.dumps({"version": "synthetic", "data": [{"title": source, "paragraphs": paragraphs}]}, ensure_ascii=False)
                write(out / directory / names[theirs].format(lang=lang), text)
                counts.setdefault(key, {}).setdefault(split, {})[lang] = len(rows)
    return counts
