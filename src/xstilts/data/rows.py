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
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from xstilts.common.errors import ConfigError, DataError
from xstilts.common.files import utf8_lines
from xstilts.data.registry import FORMATS, Task

log = logging.getLogger(__name__)


def data_file(root: str, task: str, split: str, lang: str) -> str:
    return f"{root}/{task}/{split}/{lang}.jsonl"


_REQUIRED_KEYS = {
    "classification": ("id", "text_a", "text_b", "label"),
    "multiple_choice": ("id", "context", "question", "choices", "label"),
    "span_qa": ("id", "context", "question", "answers"),
    "tagging": ("id", "tokens", "tags"),
    "retrieval": ("id", "source", "target"),
}


def _nonempty_str(row: Mapping, key: str, where: str) -> str:
    value = row[key]
    if not isinstance(value, str):
        raise DataError(f"{where}: {key} is {type(value).__name__}, expected a string")
    if not value.strip():
        raise DataError(f"{where}: {key} is empty")
    return value


def _str(row: Mapping, key: str, where: str) -> str:
    value = row[key]
    if not isinstance(value, str):
        raise DataError(f"{where}: {key} is {type(value).__name__}, expected a string")
    return value


def validate_row(row: Any, fmt: str, labels: Iterable | None, where: str, *, allow_unanswerable: bool = True) -> None:
    """Raise ``DataError(f"{where}: ...")`` unless ``row`` is a well-formed row of format ``fmt``.

    Checks types, empty texts, labels/tags outside ``labels`` (when given), answer offsets that do
    not match the context, and tokens/tags of different lengths.  For span_qa,
    ``allow_unanswerable=False`` also rejects rows whose answers are empty (anything but SQuAD v2).
    """
    if fmt not in _REQUIRED_KEYS:
        raise ConfigError(f"Unknown data format {fmt!r}; expected one of {', '.join(FORMATS)}.")
    if not isinstance(row, Mapping):
        raise DataError(f"{where}: row is {type(row).__name__}, expected a JSON object")
    missing = [key for key in _REQUIRED_KEYS[fmt] if key not in row]
    if missing:
        raise DataError(f"{where}: missing {', '.join(missing)} for a {fmt} row")
    _nonempty_str(row, "id", where)
    label_set = None if labels is None else tuple(labels)

    if fmt == "classification":
        _nonempty_str(row, "text_a", where)
        if row["text_b"] is not None:
            _nonempty_str(row, "text_b", where)
        label = row["label"]
        if not isinstance(label, str):
            raise DataError(f"{where}: label is {type(label).__name__} {label!r}, expected a label string")
        if label_set is not None and label not in label_set:
            raise DataError(f"{where}: label {label!r} is not one of {list(label_set)}")

    elif fmt == "multiple_choice":
        # context is None when a task has no passage (CommonsenseQA); question may be "" when the
        # context says it all (HellaSwag); one of them must carry text.
        if row["context"] is not None:
            _nonempty_str(row, "context", where)
        question = _str(row, "question", where)
        if row["context"] is None and not question.strip():
            raise DataError(f"{where}: question is empty and there is no context")
        choices = row["choices"]
        if not isinstance(choices, list) or len(choices) < 2:
            raise DataError(f"{where}: choices must be a list of at least two strings")
        for i, choice in enumerate(choices):
            if not isinstance(choice, str):
                raise DataError(f"{where}: choices[{i}] is {type(choice).__name__}, expected a string")
            if not choice.strip():
                raise DataError(f"{where}: choices[{i}] is empty")
        label = row["label"]
        if isinstance(label, bool) or not isinstance(label, int):
            raise DataError(f"{where}: label is {type(label).__name__} {label!r}, expected an integer index")
        if label_set is not None and len(choices) != len(label_set):
            raise DataError(f"{where}: {len(choices)} choices, expected {len(label_set)}")
        if not 0 <= label < len(choices) or (label_set is not None and label not in label_set):
            raise DataError(f"{where}: label {label} is outside the {len(choices)} choices")

    elif fmt == "span_qa":
        context = _nonempty_str(row, "context", where)
        _nonempty_str(row, "question", where)
        answers = row["answers"]
        if not isinstance(answers, Mapping) or "text" not in answers or "answer_start" not in answers:
            raise DataError(f"{where}: answers must be an object with text and answer_start lists")
        texts, starts = answers["text"], answers["answer_start"]
        if not isinstance(texts, list) or not isinstance(starts, list):
            raise DataError(f"{where}: answers.text and answers.answer_start must be lists")
        if len(texts) != len(starts):
            raise DataError(f"{where}: {len(texts)} answer texts but {len(starts)} answer starts")
        if not texts and not allow_unanswerable:
            raise DataError(f"{where}: no answer, and this task has no unanswerable questions")
        for i, (text, start) in enumerate(zip(texts, starts)):
            if not isinstance(text, str):
                raise DataError(f"{where}: answers.text[{i}] is {type(text).__name__}, expected a string")
            if not text.strip():
                raise DataError(f"{where}: answers.text[{i}] is empty")
            if isinstance(start, bool) or not isinstance(start, int):
                raise DataError(f"{where}: answers.answer_start[{i}] is {type(start).__name__}, expected an integer")
            found = context[start : start + len(text)] if start >= 0 else None
            if found != text:
                raise DataError(
                    f"{where}: answer {i} {text!r} does not match the context at offset {start} "
                    f"(context there reads {found!r})"
                )

    elif fmt == "tagging":
        tokens, tags = row["tokens"], row["tags"]
        if not isinstance(tokens, list) or not isinstance(tags, list):
            raise DataError(f"{where}: tokens and tags must be lists")
        if not tokens:
            raise DataError(f"{where}: tokens is empty")
        if len(tokens) != len(tags):
            raise DataError(f"{where}: {len(tokens)} tokens but {len(tags)} tags")
        for i, token in enumerate(tokens):
            if not isinstance(token, str):
                raise DataError(f"{where}: tokens[{i}] is {type(token).__name__}, expected a string")
            if not token:
                raise DataError(f"{where}: tokens[{i}] is empty")
        for i, tag in enumerate(tags):
            if not isinstance(tag, str) or not tag:
                raise DataError(f"{where}: tags[{i}] is {tag!r}, expected a non-empty string")
            if label_set is not None and tag not in label_set:
                raise DataError(f"{where}: tags[{i}] {tag!r} is not one of the task's tags")

    elif fmt == "retrieval":
        _nonempty_str(row, "source", where)
        _nonempty_str(row, "target", where)


def validate_task_row(row: dict, task: Task, where: str) -> None:
    """``validate_row`` with the task's label set, pair setting and answerability."""
    labels = task.labels if task.format in ("classification", "tagging") else None
    validate_row(row, task.format, labels, where, allow_unanswerable=task.metric == "squad_v2")
    if task.format == "classification" and task.pair and row.get("text_b") is None:
        raise DataError(f"{where}: text_b is missing, but task '{task.name}' classifies sentence pairs")


def read_rows(
    path: str | os.PathLike,
    task: Task,
    *,
    limit: int | None = None,
    on_bad_row: str = "error",
    stats: dict | None = None,
) -> list[dict]:
    """Read and validate one JSONL file; bad rows stop the job or are skipped and counted
    (``on_bad_row``).  A repeated id, a file without rows and bytes that are not UTF-8 always stop it."""
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"data file '{path}' does not exist (task '{task.name}', source '{task.source}'): "
            f"check the task's root or run its download rule."
        )
    rows, skipped, line_of_id = [], 0, {}
    for lineno, line in utf8_lines(path):
        if not line.strip():
            continue
        where = f"{path}, line {lineno}"
        try:
            row = json.loads(line)
            if isinstance(row, dict):
                row.setdefault("id", f"{task.name}-{path.parent.name}-{path.stem}-{lineno}")
                if task.format == "classification":
                    row.setdefault("text_b", None)
            validate_task_row(row, task, where)
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
        if row["id"] in line_of_id:  # scores and statistics are keyed by id: a file error, never skipped
            raise DataError(
                f"{where}: id '{row['id']}' repeats the id of line {line_of_id[row['id']]}; give every row of "
                f"the file its own id (task '{task.name}')."
            )
        line_of_id[row["id"]] = lineno
        rows.append(row)
        if limit is not None and len(rows) >= limit:
            break
    if not rows:
        raise DataError(
            f"data file '{path}' has no rows{f' ({skipped} skipped as malformed)' if skipped else ''} (task '{task.name}'); "
            f"expected one JSON object per line: check the file or rerun the rule that writes it."
        )
    if skipped:
        log.warning("%s: skipped %d malformed rows (data.on_bad_row: skip)", path, skipped)
    if stats is not None:
        stats[str(path)] = {"rows": len(rows), "skipped": skipped}
    return rows
