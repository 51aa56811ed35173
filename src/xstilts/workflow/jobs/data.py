"""The data jobs: write the synthetic world, fetch Hub datasets, corpora and translations, write
release files (rules synthesize_world, synthetic_xglue, fetch_dataset, fetch_corpus, fetch_translation)."""

from __future__ import annotations

import logging
import os

from xstilts.common.errors import XstiltsError
from xstilts.common.files import write_json
from xstilts.data.registry import task_from_dict
from xstilts.workflow.jobs.records import provenance

log = logging.getLogger("xstilts.jobs")


def synthesize(params: dict, out: str) -> None:
    from xstilts.data.synthetic import generate_world

    generate_world(os.path.dirname(out), **params)


def synthetic_xglue(params: dict, world: str, out: str) -> None:
    """The synthetic world's POS, NC and MLQA tasks written as XGLUE release files (beside ``out``)."""
    from xstilts.data.xglue import write_synthetic_release

    counts = write_synthetic_release(os.path.dirname(world), os.path.dirname(out), params["languages"])
    write_json(out, {"kind": "synthetic_xglue", "rows": counts, **params, **provenance()})


def fetch_data(params: dict, out: str) -> None:
    """Write a Hub dataset (pinned revision) or a task's release files as the project's JSONL."""
    task = task_from_dict(params["task"])
    out_root = os.path.dirname(os.path.dirname(out))
    if params["source"] == "hub":
        from xstilts.data.hub import prepare_hub_task

        prepare_hub_task(task.name, out_root, revision=params["hub"].get("revision"), languages=params["languages"],
                         on_bad_row=params["on_bad_row"])  # fmt: skip
    else:
        from xstilts.data.release_files import prepare_release_task

        prepare_release_task(task.name, params["root"], out_root, languages=params["languages"], on_bad_row=params["on_bad_row"],
                             labels=task.labels, known_languages=task.languages)  # the config's task, where it redefines them
    if not os.path.exists(out):
        raise XstiltsError(f"preparing task '{task.name}' wrote no manifest at '{out}'.")


def fetch_corpus(params: dict, out: str) -> None:
    """Write the first lines of one language of a Hub corpus (masked-LM mix-in) as a text file."""
    from xstilts.data.hub import fetch_corpus as fetch

    fetch(params["corpus"], params["lang"], params["lines"], out)


def fetch_translation(params: dict, out: str) -> None:
    """Write a Hub dataset holding a machine-translated copy of a task's training data as the
    project's JSONL, each row converted like the English task's Hub rows."""
    import datasets

    from xstilts.common.files import write_jsonl_atomic
    from xstilts.data.hub_sources import get_hub_spec
    from xstilts.data.rows import validate_row

    task, lang, src = task_from_dict(params["task"]), params["lang"], params["source"]
    # rows in the schema of the English task's Hub dataset, or of the task named by `schema` (e.g. the
    # XNLI train split, which is MultiNLI machine-translated); a composite task: its first part's
    convert = get_hub_spec(src.get("schema", task.name)).sources[0].convert
    where = f"translated {task.name} ({lang}) from Hub dataset '{src['hub']}'"
    try:
        ds = datasets.load_dataset(src["hub"], src.get("config"), split=src.get("split", "train"), revision=src.get("revision", "main"))
    except Exception as e:  # noqa: BLE001
        raise XstiltsError(f"{where} could not be loaded ({type(e).__name__}: {e}); run fetch_translation where the Hub "
                           f"is reachable, or give the translation as a local JSONL file.") from None  # fmt: skip
    rows, dropped, skipped = [], 0, 0
    for i, hub_row in enumerate(ds):
        try:
            converted = convert(hub_row, lang, i)
        except (KeyError, ValueError, TypeError) as e:
            if params["on_bad_row"] == "error":
                raise XstiltsError(f"{where}, row {i}: cannot convert it like the English task's Hub rows ({type(e).__name__}: {e}).") from None
            skipped += 1
            continue
        for row in [] if converted is None else converted if isinstance(converted, list) else [converted]:
            validate_row(row, task.format, task.labels, f"{where}, row {i}")
            rows.append(row)
        dropped += converted is None
    write_jsonl_atomic(out, rows)
    log.info("%s: %d rows written, %d dropped (no gold label), %d skipped", where, len(rows), dropped, skipped)
