"""Downloading Hub datasets at pinned revisions into the project's JSONL files (rules fetch_dataset, fetch_corpus).

:func:`prepare_hub_task` loads each (config, split) of a task's :class:`~xstilts.data.hub_sources.HubSpec`
with ``datasets.load_dataset``, converts and validates every row, and writes
``{out_root}/{task}/{split}/{lang}.jsonl`` plus ``{out_root}/{task}/manifest.json`` atomically.  It
never touches ``HF_HOME``, ``HF_DATASETS_OFFLINE`` or ``HF_HUB_OFFLINE``: whatever the environment
says is what ``datasets`` does.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from xstilts.common.errors import ConfigError, DataError
from xstilts.common.files import atomic_path, write_json_atomic, write_jsonl_atomic
from xstilts.data.hub_sources import HubSpec, get_hub_spec
from xstilts.data.rows import validate_row

log = logging.getLogger(__name__)

ON_BAD_ROW = ("error", "skip")
SPLIT_ORDER = ("train", "validation", "test")
_MAX_SKIP_EXAMPLES = 20

# --------------------------------------------------------------------------------------------------
# prepare_hub_task
# --------------------------------------------------------------------------------------------------

_SHA_RE = re.compile(r"(?<![0-9a-f])([0-9a-f]{40})(?![0-9a-f])")
_OFFLINE_VARS = ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")


def _offline_env() -> list[str]:
    return [name for name in _OFFLINE_VARS if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")]


def _load_failure_message(
    task: str, dataset_id: str, config: str | None, hub_split: str, revision: str, exc: BaseException
) -> str:
    text = f"{type(exc).__name__}: {exc}".lower()
    offline = _offline_env()
    if offline:
        verb = "is" if len(offline) == 1 else "are"
        reason = f"{' and '.join(offline)} {verb} set and the local Hugging Face cache does not hold it"
    elif any(word in text for word in ("offline", "connect", "reach", "timeout", "timed out", "network")):
        reason = "the Hugging Face Hub could not be reached and the local cache does not hold it"
    elif (
        ("config" in text and ("not found" in text or "available" in text))
        or "unknown split" in text
        or ("split" in text and "should be one of" in text)
    ):
        reason = "the Hub has no such config or split at that revision"
    elif "scripts are no longer supported" in text:
        reason = "that revision still holds a loading script, which datasets 4+ cannot run"
    else:
        reason = f"datasets raised {type(exc).__name__}"
    config_text = "default" if config is None else repr(config)
    return (
        f"Cannot load Hugging Face dataset {dataset_id!r} (config {config_text}, split {hub_split!r}, "
        f"revision {revision!r}) for task {task!r} because {reason}; run the data download rule on a machine "
        f"with internet access (it fills the cache under HF_HOME), or set source: local for this task in the config."
    )


def _resolved(ds: Any) -> dict:
    """Commit hash and fingerprint of a loaded split, where ``datasets`` exposes them.

    ``datasets`` caches a Hub dataset under ``.../{config}/{version}/{commit sha}/``, so the sha in the
    cache file names is the commit the split was read from; recorded checksums (when enabled) carry
    ``...@{sha}/...`` URLs too.  A split built in memory has neither and records None.
    """
    commit = None
    for cache_file in getattr(ds, "cache_files", None) or []:
        match = _SHA_RE.search(str(cache_file.get("filename", "")))
        if match:
            commit = match.group(1)
            break
    info = getattr(ds, "info", None)
    for url in (getattr(info, "download_checksums", None) or {}) if commit is None else ():
        match = re.search(r"@([0-9a-f]{40})", str(url))
        if match:
            commit = match.group(1)
            break
    return {
        "commit": commit,
        "fingerprint": getattr(ds, "_fingerprint", None),
        "num_rows": getattr(ds, "num_rows", None),
    }


def _revision_for(source: HubSpec, revision: str | Mapping[str, str] | None) -> str:
    if revision is None:
        return source.revision
    if isinstance(revision, Mapping):
        return revision.get(source.dataset_id, source.revision)
    return revision


def _resolve_languages(spec: HubSpec, languages: Iterable[str] | None) -> list[str]:
    if languages is None:
        return list(spec.languages)
    if isinstance(languages, str):
        languages = [languages]
    chosen = list(dict.fromkeys(languages))
    unknown = [lang for lang in chosen if lang not in spec.languages]
    if unknown:
        raise ConfigError(
            f"Task {spec.task!r} has no language {', '.join(map(repr, unknown))}; it has {', '.join(spec.languages)}."
        )
    return chosen


def _ordered(splits: Iterable[str]) -> list[str]:
    splits = list(dict.fromkeys(splits))
    return [s for s in SPLIT_ORDER if s in splits] + [s for s in splits if s not in SPLIT_ORDER]


def _plan(spec: HubSpec, langs: list[str], splits: Iterable[str] | None) -> list[tuple[str, str]]:
    available = {lang: set().union(*(src.splits_for(lang) for src in spec.sources)) for lang in langs}
    every = _ordered(s for lang in langs for s in _ordered(available[lang]))
    if splits is None:
        wanted = every
    else:
        wanted = _ordered([splits] if isinstance(splits, str) else splits)
        unknown = [s for s in wanted if s not in every]
        if unknown:
            raise ConfigError(
                f"Task {spec.task!r} has no split {', '.join(map(repr, unknown))} for languages "
                f"{', '.join(langs)}; it has {', '.join(every)}."
            )
    return [(split, lang) for split in wanted for lang in langs if split in available[lang]]


def prepare_hub_task(
    task: str,
    out_root: str | os.PathLike,
    *,
    revision: str | Mapping[str, str] | None = None,
    languages: Iterable[str] | None = None,
    splits: Iterable[str] | None = None,
    cache_dir: str | os.PathLike | None = None,
    max_rows: int | None = None,
    on_bad_row: str = "error",
) -> dict:
    """Download (or read from the HF cache) one task, convert it, and write our JSONL files.

    ``revision`` overrides the spec's pinned revision (a string for every source, or a mapping
    dataset id -> revision for composite tasks).  ``max_rows`` caps the rows written per
    (split, language), for smoke runs.  ``on_bad_row="skip"`` skips rows that fail conversion or
    validation and counts them in the manifest; ``"error"`` raises DataError on the first one.
    Returns the manifest, which is also written to ``{out_root}/{task}/manifest.json``.
    """
    spec = get_hub_spec(task)
    if on_bad_row not in ON_BAD_ROW:
        raise ConfigError(f"on_bad_row must be 'error' or 'skip', not {on_bad_row!r}.")
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1):
        raise ConfigError(f"max_rows must be a positive integer or None, not {max_rows!r}.")
    langs = _resolve_languages(spec, languages)
    plan = _plan(spec, langs, splits)

    import datasets  # lazy: importing xstilts must not require (or configure) datasets

    out_dir = Path(out_root) / task
    loaded: dict[tuple, Any] = {}
    sources_meta: dict[str, dict] = {}
    row_counts: dict[str, dict[str, int]] = {}
    skipped: dict[str, dict[str, int]] = {}
    dropped: dict[str, dict[str, int]] = {}
    skip_examples: list[str] = []
    files: dict[str, dict[str, str]] = {}
    split_sources: dict[str, dict[str, list[str]]] = {}

    def load(source: HubSpec, config: str | None, hub_split: str) -> Any:
        rev = _revision_for(source, revision)
        key = (source.dataset_id, config, hub_split, rev)
        if key not in loaded:
            try:
                ds = datasets.load_dataset(source.dataset_id, config, split=hub_split, revision=rev, cache_dir=cache_dir)
            except Exception as exc:  # offline, unknown config, network ... -> one actionable sentence
                raise DataError(_load_failure_message(task, source.dataset_id, config, hub_split, rev, exc)) from exc
            loaded[key] = ds
            meta = sources_meta.setdefault(
                source.dataset_id,
                {
                    "dataset_id": source.dataset_id,
                    "requested_revision": (revision.get(source.dataset_id) if isinstance(revision, Mapping) else revision),
                    "revision": rev,
                    "configs": {},
                    "resolved": {},
                },
            )
            meta["resolved"][f"{config}/{hub_split}"] = _resolved(ds)
        return loaded[key]

    for split, lang in plan:
        path = out_dir / split / f"{lang}.jsonl"
        where_file = f"{task}/{split}/{lang}.jsonl"
        seen_ids: set[str] = set()
        counts = {"rows": 0, "skipped": 0, "dropped": 0}
        used: list[str] = []

        def bad(message: str) -> None:
            if on_bad_row == "error":
                raise DataError(message)
            counts["skipped"] += 1
            if len(skip_examples) < _MAX_SKIP_EXAMPLES:
                skip_examples.append(message)
            log.warning("skipped bad row: %s", message)

        def rows_for_file():
            for source in spec.sources:
                hub_splits = source.splits_for(lang).get(split)
                if not hub_splits:
                    continue
                config = source.config_for(lang)
                for hub_split in hub_splits:
                    ds = load(source, config, hub_split)
                    sources_meta[source.dataset_id]["configs"][lang] = config
                    used.append(f"{source.dataset_id}:{config}:{hub_split}")
                    for index, hub_row in enumerate(ds):
                        if max_rows is not None and counts["rows"] >= max_rows:
                            return
                        if source.select is not None and not source.select(hub_row, lang):
                            continue
                        where = f"{source.dataset_id} config {config} split {hub_split} row {index} (for {where_file})"
                        try:
                            converted = source.convert(hub_row, lang, index)
                        except DataError as exc:
                            bad(f"{where}: {exc}")
                            continue
                        except (KeyError, ValueError, TypeError, AttributeError) as exc:
                            detail = f"missing column {exc}" if isinstance(exc, KeyError) else str(exc)
                            bad(f"{where}: cannot convert the Hub row ({detail})")
                            continue
                        if converted is None:
                            counts["dropped"] += 1
                            continue
                        out_rows = converted if isinstance(converted, list) else [converted]
                        for out_row in out_rows:
                            try:
                                validate_row(out_row, spec.format, spec.labels, where, allow_unanswerable=spec.allow_unanswerable)
                                if out_row["id"] in seen_ids:
                                    raise DataError(f"{where}: duplicate id {out_row['id']!r} in {where_file}")
                            except DataError as exc:
                                bad(str(exc))
                                continue
                            seen_ids.add(out_row["id"])
                            counts["rows"] += 1
                            yield out_row
                            if max_rows is not None and counts["rows"] >= max_rows:
                                return

        written = write_jsonl_atomic(path, rows_for_file())
        if written == 0:
            path.unlink(missing_ok=True)
            raise DataError(
                f"Task {task!r} produced no rows for split {split!r} language {lang!r} from {', '.join(used) or 'no source'} "
                f"({counts['dropped']} dropped, {counts['skipped']} skipped); check the config, split and revision."
            )
        row_counts.setdefault(split, {})[lang] = written
        skipped.setdefault(split, {})[lang] = counts["skipped"]
        dropped.setdefault(split, {})[lang] = counts["dropped"]
        files.setdefault(split, {})[lang] = f"{split}/{lang}.jsonl"
        split_sources.setdefault(split, {})[lang] = used

    single = None if spec.parts else sources_meta.get(spec.dataset_id)
    manifest = {
        "task": task,
        "format": spec.format,
        "labels": None if spec.labels is None else list(spec.labels),
        "source": "hub",
        "dataset_id": spec.dataset_id,
        "configs": single["configs"] if single else {s: m["configs"] for s, m in sources_meta.items()},
        "requested_revision": revision if not isinstance(revision, Mapping) else dict(revision),
        "revision": single["revision"] if single else {s: m["revision"] for s, m in sources_meta.items()},
        "resolved": single["resolved"] if single else {s: m["resolved"] for s, m in sources_meta.items()},
        "sources": list(sources_meta.values()),
        "languages": langs,
        "splits": split_sources,
        "eval_split": {lang: spec.eval_split_for(lang) for lang in langs},
        "files": files,
        "row_counts": row_counts,
        "skipped_rows": skipped,
        "dropped_rows": dropped,
        "skipped_examples": skip_examples,
        "on_bad_row": on_bad_row,
        "max_rows": max_rows,
        "datasets_version": getattr(datasets, "__version__", None),
        "verified_from": spec.verified_from if not spec.parts else {p.dataset_id: p.verified_from for p in spec.parts},
    }
    write_json_atomic(out_dir / "manifest.json", manifest)
    return manifest


# --------------------------------------------------------------------------------------------------
# Text corpora for masked-LM mixed into intermediate training (xstilts.modelling.mlm; rule fetch_corpus)
# --------------------------------------------------------------------------------------------------


def fetch_corpus(corpus: dict, lang: str, lines: int, out: str) -> int:
    """Stream a Hub corpus's config for ``lang`` and write its first ``lines`` paragraphs, one per line."""
    import datasets

    config = corpus.get("config", "").format(lang=lang) or None
    data_dir = corpus.get("data_dir", "").format(lang=lang) or None
    where = f"Hub corpus '{corpus['hub']}' (config {config or data_dir}, split {corpus.get('split', 'train')})"
    try:
        ds = datasets.load_dataset(corpus["hub"], config, data_dir=data_dir, split=corpus.get("split", "train"),
                                   revision=corpus.get("revision", "main"), streaming=True)  # fmt: skip
    except Exception as e:  # noqa: BLE001 - offline, unknown config, ...: one sentence for the user
        raise DataError(f"{where} could not be loaded ({type(e).__name__}: {e}); run fetch_corpus where the Hub is "
                        f"reachable, or give the corpus as a local directory of {{lang}}.txt files (mlm.corpus.path).") from None  # fmt: skip
    field = corpus.get("text_field", "text")
    n = 0
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for row in ds:
            if field not in row:
                raise DataError(f"{where} has no column '{field}' (columns: {sorted(row)}); set mlm.corpus.text_field.")
            for para in str(row[field]).split("\n"):
                para = " ".join(para.split())
                if len(para) >= 20:  # skip headings and stubs
                    f.write(para + "\n")
                    n += 1
                    if n >= lines:
                        break
            if n >= lines:
                break
    if n == 0:
        raise DataError(f"{where} gave no text for language '{lang}'.")
    log.info("%s: wrote %d lines to %s", where, n, out)
    return n
