"""Readers for tasks whose data comes from release files rather than the Hugging Face Hub.

* Cosmos QA: ``train.csv`` / ``valid.csv`` / ``test.jsonl`` of the original GitHub release
  (the Hub copy is still a loading script, which ``datasets`` 4+ cannot run).
* CCGbank (LDC2005T13): the ``data/AUTO/{section}/wsj_XXYY.auto`` derivations, licensed from the
  LDC; standard split sections 02-21 train, 00 dev, 23 test.
* XGLUE understanding tasks (``xglue_*``): the files of ``xglue_full_dataset.tar.gz``, read by
  :func:`xstilts.data.xglue.read_xglue` (re-exported here); training data is English only.
* BUCC 2018 shared task: ``{lang}-en.{split}.{lang}``, ``{lang}-en.{split}.en`` (``id<TAB>sentence``)
  and ``{lang}-en.{split}.gold`` (``src_id<TAB>en_id``); XTREME uses ``training`` as its test set
  and ``sample`` as its dev set (:data:`XTREME_BUCC_SPLITS`).

Structural problems (missing files or columns, unparsable lines) raise :class:`DataError` naming
the file and line; :func:`prepare_release_task` then validates rows with
:func:`xstilts.data.rows.validate_row` and writes them like :func:`xstilts.data.hub.prepare_hub_task`.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xstilts.common.errors import ConfigError, DataError
from xstilts.common.files import utf8_lines, write_json_atomic, write_jsonl_atomic
from xstilts.data import xglue
from xstilts.data.hub_sources import HUB_DATASETS, ReleaseOnly
from xstilts.data.rows import validate_row
from xstilts.data.xglue import read_xglue

__all__ = [
    "COSMOSQA_FILES",
    "CCGBANK_SECTIONS",
    "BUCC_SPLITS",
    "XTREME_BUCC_SPLITS",
    "read_cosmosqa",
    "read_ccgbank",
    "read_bucc",
    "read_xglue",
    "prepare_release_task",
]

# ------------------------------------------------------------------------------------- Cosmos QA

COSMOSQA_FILES = {"train": "train.csv", "validation": "valid.csv", "test": "test.jsonl"}
_COSMOSQA_SPLIT_ALIASES = {"valid": "validation", "dev": "validation", "val": "validation"}
_COSMOSQA_COLUMNS = ("id", "context", "question", "answer0", "answer1", "answer2", "answer3")
_COSMOSQA_URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _cosmosqa_split(split: str) -> str:
    split = _COSMOSQA_SPLIT_ALIASES.get(split, split)
    if split not in COSMOSQA_FILES:
        raise ConfigError(f"Cosmos QA has no split {split!r}; use train, validation or test.")
    return split


def _cosmosqa_row(record: dict, where: str, labelled: bool) -> dict:
    missing = [col for col in _COSMOSQA_COLUMNS if col not in record]
    if labelled and "label" not in record:
        missing.append("label")
    if missing:
        raise DataError(f"{where}: missing Cosmos QA column(s) {', '.join(missing)}")
    label = None
    if labelled:
        raw = record["label"]
        try:
            label = int(str(raw).strip())
        except ValueError:
            raise DataError(f"{where}: label {raw!r} is not an integer 0-3") from None
    return {
        "id": str(record["id"]),
        "context": record["context"],
        "question": record["question"],
        "choices": [record[f"answer{i}"] for i in range(4)],
        "label": label,
    }


def read_cosmosqa(path_or_dir: str | os.PathLike, split: str, *, cache_dir: str | os.PathLike | None = None) -> list[dict]:
    """Cosmos QA rows in the multiple_choice format.

    ``path_or_dir`` is a directory holding the release files, one release file, or an http(s) URL
    of a file or of the directory.  Local files are read with the csv/json modules (so no text is
    ever turned into NaN); URLs go through ``datasets.load_dataset("csv" | "json", data_files=...)``
    with every column read as text.  The test split is unlabelled: its rows have ``label`` None and
    are for prediction only.
    """
    split = _cosmosqa_split(split)
    name = COSMOSQA_FILES[split]
    labelled = split != "test"
    text = str(path_or_dir)
    if _COSMOSQA_URL_RE.match(text):
        url = text if text.endswith((".csv", ".jsonl", ".json")) else text.rstrip("/") + "/" + name
        return _read_cosmosqa_url(url, labelled, cache_dir)
    path = Path(path_or_dir)
    if path.is_dir():
        path = path / name
    if not path.is_file():
        raise DataError(
            f"Cosmos QA file {path} was not found; download {name} from the Cosmos QA release "
            f"(https://github.com/wilburOne/cosmosqa) and set its directory or URL as the cosmosqa path in the config."
        )
    rows = []
    if path.suffix in (".jsonl", ".json"):
        for lineno, line in utf8_lines(path):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not a JSON object ({exc.msg})") from None
            rows.append(_cosmosqa_row(record, f"{path}:{lineno}", labelled and "label" in record))
        return rows
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [col for col in _COSMOSQA_COLUMNS + (("label",) if labelled else ()) if col not in header]
        if missing:
            raise DataError(f"{path}:1: header lacks Cosmos QA column(s) {', '.join(missing)}")
        for record in reader:
            rows.append(_cosmosqa_row(record, f"{path}:{reader.line_num}", labelled))
    return rows


def _read_cosmosqa_url(url: str, labelled: bool, cache_dir: str | os.PathLike | None) -> list[dict]:
    import datasets

    is_json = url.endswith((".jsonl", ".json"))
    try:
        if is_json:
            ds = datasets.load_dataset("json", data_files=url, split="train", cache_dir=cache_dir)
        else:
            columns = _COSMOSQA_COLUMNS + (("label",) if labelled else ())
            features = datasets.Features({col: datasets.Value("string") for col in columns})
            ds = datasets.load_dataset(
                "csv",
                data_files=url,
                split="train",
                cache_dir=cache_dir,
                features=features,
                keep_default_na=False,
                na_filter=False,
            )
    except Exception as exc:
        raise DataError(
            f"Cannot read Cosmos QA file {url} ({type(exc).__name__}); check the URL or download the file "
            f"on a machine with internet access and set its local directory as the cosmosqa path in the config."
        ) from exc
    return [_cosmosqa_row(record, f"{url} row {i}", labelled and "label" in record) for i, record in enumerate(ds)]


# --------------------------------------------------------------------------------------- CCGbank

CCGBANK_SECTIONS = {
    "train": tuple(f"{section:02d}" for section in range(2, 22)),
    "validation": ("00",),
    "test": ("23",),
}
_CCG_SPLIT_ALIASES = {"dev": "validation", "val": "validation"}
# (<L category modified_POS original_POS word predicate_argument_category>)
_CCG_LEAF_RE = re.compile(r"\(<L (\S+) (\S+) (\S+) (\S+) (\S+)>\)")
_CCG_MISSING = (
    "CCGbank is LDC2005T13, licensed from the Linguistic Data Consortium and on no hub, and no AUTO files "
    "were found under {root}; set the path of your licensed copy (the directory holding data/AUTO) as the "
    "ccg path in the config."
)


def _ccg_auto_dir(root: Path) -> Path | None:
    for candidate in (root / "data" / "AUTO", root / "AUTO", root):
        if candidate.is_dir() and any(p.is_dir() and re.fullmatch(r"\d\d", p.name) for p in candidate.iterdir()):
            return candidate
    return None


def read_ccgbank(root: str | os.PathLike, split: str) -> list[dict]:
    """CCG supertagging rows (tokens = words, tags = lexical categories) of one standard split."""
    split = _CCG_SPLIT_ALIASES.get(split, split)
    if split not in CCGBANK_SECTIONS:
        raise ConfigError(f"CCGbank has no split {split!r}; use train (02-21), validation (00) or test (23).")
    root = Path(root)
    auto = _ccg_auto_dir(root) if root.is_dir() else None
    if auto is None:
        raise DataError(_CCG_MISSING.format(root=root))
    files = [f for section in CCGBANK_SECTIONS[split] for f in sorted((auto / section).glob("*.auto"))]
    if not files:
        raise DataError(
            f"CCGbank sections {', '.join(CCGBANK_SECTIONS[split])} hold no .auto files under {auto}; "
            f"check that the ccg path in the config points at a complete copy of LDC2005T13."
        )
    rows: list[dict] = []
    for path in files:
        rows.extend(_read_auto_file(path))
    return rows


def _read_auto_file(path: Path) -> list[dict]:
    rows = []
    pending_id: str | None = None
    count = 0
    for lineno, line in utf8_lines(path):
        line = line.strip()
        if not line:
            continue
        if line.startswith("ID="):
            pending_id = line.split()[0][3:]
            continue
        if not line.startswith("("):
            raise DataError(f"{path}:{lineno}: expected an ID= header or a derivation, got {line[:40]!r}")
        leaves = _CCG_LEAF_RE.findall(line)
        if not leaves:
            raise DataError(f"{path}:{lineno}: derivation has no (<L ...>) leaves")
        count += 1
        sentence_id = pending_id or f"{path.stem}.{count}"
        pending_id = None
        rows.append(
            {
                "id": sentence_id,
                "tokens": [leaf[3] for leaf in leaves],
                "tags": [leaf[0] for leaf in leaves],
            }
        )
    return rows


# ------------------------------------------------------------------------------------------ BUCC

BUCC_SPLITS = ("sample", "training", "test")
# XTREME (scripts/download_data.sh) renames training -> test and sample -> dev.
XTREME_BUCC_SPLITS = {"validation": "sample", "test": "training"}
_BUCC_LANGUAGES = ("de", "fr", "ru", "zh")


def _bucc_dir(root: Path, lang: str, split: str) -> Path:
    name = f"{lang}-en.{split}.{lang}"
    for candidate in (root, root / f"{lang}-en", root / "bucc2018" / f"{lang}-en"):
        if (candidate / name).is_file():
            return candidate
    return root


def _bucc_missing(path: Path, lang: str, split: str) -> DataError:
    archive = f"bucc2018-{lang}-en.{split}.tar.bz2" if split == "test" else f"bucc2018-{lang}-en.{split}-gold.tar.bz2"
    return DataError(
        f"BUCC 2018 file {path} was not found; download {archive} from https://comparable.limsi.fr/bucc2018/, "
        f"unpack it and set the directory as the bucc path in the config."
    )


def _read_bucc_sentences(path: Path) -> tuple[list[str], list[str]]:
    ids, sentences, seen = [], [], set()
    for lineno, line in utf8_lines(path):
        line = line.rstrip("\r\n")
        if not line:
            continue
        if "\t" not in line:
            raise DataError(f"{path}:{lineno}: expected id<TAB>sentence")
        sent_id, sentence = line.split("\t", 1)
        if not sent_id:
            raise DataError(f"{path}:{lineno}: empty sentence id")
        if not sentence.strip():
            raise DataError(f"{path}:{lineno}: sentence {sent_id} is empty")
        if sent_id in seen:
            raise DataError(f"{path}:{lineno}: duplicate sentence id {sent_id}")
        seen.add(sent_id)
        ids.append(sent_id)
        sentences.append(sentence)
    return ids, sentences


def read_bucc(root: str | os.PathLike, lang: str, split: str):
    """BUCC 2018 bitext-mining data: ``(src_ids, src_sents, tgt_ids, tgt_sents, gold_pairs)``.

    ``split`` is a BUCC release split (sample, training, test; use :data:`XTREME_BUCC_SPLITS` for
    XTREME's dev/test naming).  The target side is English; ``gold_pairs`` lists (src_id, en_id)
    tuples and is empty for the official test split, whose gold file was never released.
    """
    if lang not in _BUCC_LANGUAGES:
        raise ConfigError(f"BUCC 2018 has no language {lang!r}; it has {', '.join(_BUCC_LANGUAGES)}.")
    if split not in BUCC_SPLITS:
        raise ConfigError(f"BUCC 2018 has no split {split!r}; use sample (XTREME dev), training (XTREME test) or test.")
    root = Path(root)
    directory = _bucc_dir(root, lang, split)
    prefix = f"{lang}-en.{split}"
    src_path, tgt_path, gold_path = (directory / f"{prefix}.{ext}" for ext in (lang, "en", "gold"))
    for path in (src_path, tgt_path):
        if not path.is_file():
            raise _bucc_missing(path, lang, split)
    src_ids, src_sents = _read_bucc_sentences(src_path)
    tgt_ids, tgt_sents = _read_bucc_sentences(tgt_path)
    gold_pairs: list[tuple[str, str]] = []
    if gold_path.is_file():
        src_set, tgt_set = set(src_ids), set(tgt_ids)
        for lineno, line in utf8_lines(gold_path):
            line = line.rstrip("\r\n")
            if not line:
                continue
            fields = line.split("\t")
            if len(fields) != 2:
                raise DataError(f"{gold_path}:{lineno}: expected src_id<TAB>en_id")
            src_id, tgt_id = fields
            if src_id not in src_set:
                raise DataError(f"{gold_path}:{lineno}: {src_id} is not an id of {src_path.name}")
            if tgt_id not in tgt_set:
                raise DataError(f"{gold_path}:{lineno}: {tgt_id} is not an id of {tgt_path.name}")
            gold_pairs.append((src_id, tgt_id))
    elif split != "test":
        raise _bucc_missing(gold_path, lang, split)
    return src_ids, src_sents, tgt_ids, tgt_sents, gold_pairs


# ------------------------------------------------------------------------------ prepare (release)


def prepare_release_task(
    task: str,
    path: str | os.PathLike,
    out_root: str | os.PathLike,
    *,
    languages: Iterable[str] | None = None,
    splits: Iterable[str] | None = None,
    max_rows: int | None = None,
    on_bad_row: str = "error",
    labels: Iterable[str] | None = None,
    known_languages: Iterable[str] | None = None,
) -> dict:
    """Convert a release-file task into ``{out_root}/{task}/{split}/{lang}.jsonl`` plus a manifest.

    ``path`` is the task's release directory (the config's ``root``).  Cosmos QA and CCGbank rows
    are validated like Hub rows; ``on_bad_row="skip"`` skips and counts bad ones in the manifest.
    BUCC is mined from whole corpora rather than stored as pairs: its release files are checked
    with :func:`read_bucc` and described in the manifest (sentence and gold-pair counts per split
    and language), and evaluation reads them with :func:`read_bucc` and :data:`XTREME_BUCC_SPLITS`.
    ``labels`` and ``known_languages`` replace the registry's where an experiment's config redefines
    the task (the synthetic world written in XGLUE's layout has its own tags and languages).
    """
    entry = HUB_DATASETS.get(task)
    if not isinstance(entry, ReleaseOnly):
        raise ConfigError(f"Task {task!r} is not a release-file task; use xstilts.data.hub.prepare_hub_task for it.")
    if on_bad_row not in ("error", "skip"):
        raise ConfigError(f"on_bad_row must be 'error' or 'skip', not {on_bad_row!r}.")
    if path is None:
        raise ConfigError(f"Task {task!r} reads release files and needs 'root' (their directory) in the config.")
    if isinstance(languages, str):
        languages = [languages]
    allowed = tuple(entry.languages if known_languages is None else known_languages)
    langs = list(allowed) if languages is None else list(dict.fromkeys(languages))
    unknown = [lang for lang in langs if lang not in allowed]
    if unknown:
        raise ConfigError(f"Task {task!r} has no language {', '.join(map(repr, unknown))}; it has {', '.join(allowed)}.")
    labels = entry.labels if labels is None else tuple(labels)
    is_xglue = entry.reader == "read_xglue"
    # splits whose labels are hidden are not prepared unless asked for (an XGLUE test file without
    # labels then fails with a DataError naming it)
    hidden = {"cosmosqa": ("test",)}.get(task, ("test",) if is_xglue and xglue.task_name(task) in xglue.HIDDEN_TEST else ())
    default = [s for s in entry.splits if s not in hidden]
    wanted = list(default if splits is None else ([splits] if isinstance(splits, str) else splits))
    for split in wanted:
        if split not in entry.splits:
            raise ConfigError(f"Task {task!r} has no split {split!r}; it has {', '.join(entry.splits)}.")
        if task == "cosmosqa" and split == "test":
            raise ConfigError("Cosmos QA test labels are hidden, so only train and validation can be prepared.")
    out_dir = Path(out_root) / task
    manifest: dict[str, Any] = {
        "task": task,
        "format": entry.format,
        "labels": None if labels is None else list(labels),
        "source": "release",
        "path": str(path),
        "reader": entry.reader,
        "languages": langs,
        "splits": {split: entry.splits[split] for split in wanted},
        "eval_split": {lang: entry.eval_split for lang in langs},
        "on_bad_row": on_bad_row,
        "max_rows": max_rows,
    }
    if task == "bucc":
        counts: dict[str, dict[str, dict]] = {}
        for split in wanted:
            for lang in langs:
                src_ids, _, tgt_ids, _, gold = read_bucc(path, lang, entry.splits[split])
                counts.setdefault(split, {})[lang] = {
                    "source_sentences": len(src_ids),
                    "target_sentences": len(tgt_ids),
                    "gold_pairs": len(gold),
                }
        manifest.update(
            {
                "mining": True,
                "files": {},
                "row_counts": counts,
                "note": "BUCC is read from the release files with read_bucc(root, lang, XTREME_BUCC_SPLITS[split])",
            }
        )
        write_json_atomic(out_dir / "manifest.json", manifest)
        return manifest

    row_counts: dict[str, dict[str, int]] = {}
    skipped: dict[str, dict[str, int]] = {}
    examples: list[str] = []
    files: dict[str, dict[str, str]] = {}
    for lang in langs:
        for split in wanted:
            if is_xglue:
                if split not in xglue.splits_for(task, lang):
                    continue  # XGLUE trains on English only
                rows = read_xglue(task, path, split, lang, known_languages=allowed)
            elif task == "cosmosqa":
                rows = read_cosmosqa(path, split)
            else:
                rows = read_ccgbank(path, split)
            if max_rows is not None:
                rows = rows[:max_rows]
            good, seen, n_skipped = [], set(), 0
            for i, row in enumerate(rows):
                where = f"{task} {split}{f' {lang}' if is_xglue else ''} release row {i} (id {row.get('id')})"
                try:
                    validate_row(row, entry.format, labels, where)
                    if row["id"] in seen:
                        raise DataError(f"{where}: duplicate id {row['id']!r}")
                except DataError as exc:
                    if on_bad_row == "error":
                        raise
                    n_skipped += 1
                    if len(examples) < 20:
                        examples.append(str(exc))
                    continue
                seen.add(row["id"])
                good.append(row)
            if not good:
                raise DataError(
                    f"Task {task!r} split {split!r} has no valid rows in the release files under {path}; "
                    f"check the path in the config."
                )
            written = write_jsonl_atomic(out_dir / split / f"{lang}.jsonl", good)
            row_counts.setdefault(split, {})[lang] = written
            skipped.setdefault(split, {})[lang] = n_skipped
            files.setdefault(split, {})[lang] = f"{split}/{lang}.jsonl"
    manifest.update({"files": files, "row_counts": row_counts, "skipped_rows": skipped, "skipped_examples": examples})
    write_json_atomic(out_dir / "manifest.json", manifest)
    return manifest
