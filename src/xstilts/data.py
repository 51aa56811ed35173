"""Reading task data: the one JSONL format every source is converted into, with row validation.

Layout: ``{root}/{task}/{split}/{lang}.jsonl``, one JSON object per line (the format of
``../shared/README.md``; users bring their own data in it).  Rows are plain dicts:

- classification: ``id``, ``text_a``, ``text_b`` (None for single sentences), ``label`` (a string)
- multiple_choice: ``id``, ``context``, ``question``, ``choices`` (list), ``label`` (int index)
- span_qa: ``id``, ``context``, ``question``, ``answers`` = ``{"text": [...], "answer_start": [...]}``
- tagging: ``id``, ``tokens`` (list), ``tags`` (list of the same length)
- retrieval: ``id``, ``source`` (sentence in the language), ``target`` (its English counterpart)
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .errors import DataError
from .tasks import Task

log = logging.getLogger(__name__)


def data_file(root: str, task: str, split: str, lang: str) -> str:
    return f"{root}/{task}/{split}/{lang}.jsonl"


def _nonempty_text(row, key, where):
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}: field '{key}' must be a non-empty string, got {value!r}.")


def validate_row(row: dict, task: Task, where: str) -> None:
    """Raise DataError naming ``where`` (file and line) when a row breaks the task's format."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}.")
    fmt = task.format
    if fmt == "classification":
        _nonempty_text(row, "text_a", where)
        if task.pair:
            _nonempty_text(row, "text_b", where)
        if row.get("label") not in task.labels:
            raise DataError(f"{where}: label {row.get('label')!r} is not in the label set {list(task.labels)}.")
    elif fmt == "multiple_choice":
        _nonempty_text(row, "context", where) if row.get("context") is not None else None
        choices = row.get("choices")
        if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) and c.strip() for c in choices):
            raise DataError(f"{where}: 'choices' must be a list of at least two non-empty strings.")
        label = row.get("label")
        if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < len(choices):
            raise DataError(f"{where}: label {label!r} is not an index into its {len(choices)} choices.")
    elif fmt == "span_qa":
        _nonempty_text(row, "context", where)
        _nonempty_text(row, "question", where)
        answers = row.get("answers")
        if not isinstance(answers, dict) or not isinstance(answers.get("text"), list):
            raise DataError(f"{where}: 'answers' must be {{'text': [...], 'answer_start': [...]}}.")
        texts, starts = answers["text"], answers.get("answer_start", [])
        if len(texts) != len(starts):
            raise DataError(f"{where}: answers has {len(texts)} texts but {len(starts)} answer_start offsets.")
        ctx = row["context"]
        for text, start in zip(texts, starts):
            if not isinstance(start, int) or ctx[start : start + len(text)] != text:
                raise DataError(
                    f"{where}: answer {text!r} does not occur in the context at offset {start!r}."
                )
    elif fmt == "tagging":
        tokens, tags = row.get("tokens"), row.get("tags")
        if not isinstance(tokens, list) or not tokens:
            raise DataError(f"{where}: 'tokens' must be a non-empty list.")
        if not isinstance(tags, list) or len(tags) != len(tokens):
            raise DataError(
                f"{where}: {len(tokens)} tokens but {len(tags) if isinstance(tags, list) else tags!r} tags."
            )
        bad = next((t for t in tags if task.labels is not None and t not in task.labels), None)
        if bad is not None:
            raise DataError(f"{where}: tag {bad!r} is not in the label set of task '{task.name}'.")
        if not all(isinstance(t, str) and t for t in tokens):
            raise DataError(f"{where}: every token must be a non-empty string.")
    elif fmt == "retrieval":
        _nonempty_text(row, "source", where)
        _nonempty_text(row, "target", where)


def read_rows(
    path: str | os.PathLike,
    task: Task,
    *,
    limit: int | None = None,
    on_bad_row: str = "error",
    stats: dict | None = None,
) -> list[dict]:
    """Read and validate one JSONL file; bad rows stop the job or are skipped and counted."""
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"data file '{path}' does not exist (task '{task.name}', source '{task.source}'): "
            f"check the task's root or run its download rule."
        )
    rows, skipped = [], 0
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}, line {lineno}"
            try:
                row = json.loads(line)
                validate_row(row, task, where)
            except json.JSONDecodeError as e:
                err = DataError(f"{where}: not valid JSON ({e.msg}).")
                if on_bad_row != "skip":
                    raise err from None
                skipped += 1
                continue
            except DataError:
                if on_bad_row != "skip":
                    raise
                skipped += 1
                continue
            row.setdefault("id", f"{task.name}-{path.parent.name}-{path.stem}-{lineno}")
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                break
    if skipped:
        log.warning("%s: skipped %d malformed rows (data.on_bad_row: skip)", path, skipped)
    if stats is not None:
        stats[str(path)] = {"rows": len(rows), "skipped": skipped}
    return rows
