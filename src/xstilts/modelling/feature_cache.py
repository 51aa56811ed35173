"""The on-disk cache of tokenised features: NumPy arrays in one ``.npz``, read without pickle, rebuilt when unreadable.

Features are lists of dicts with the same keys; each key becomes a column by what its values are:
whole numbers (``int``), lists of whole numbers (``ragged``: one flat array and the lengths), lists
of such lists (``ragged2``: multiple-choice sequences), lists of character spans or None
(``spans``: QA offsets, starts and ends, None as -1) and strings (``json``).  Loading is ``np.load(...,
allow_pickle=False)``, so a cache file is data, never code: anyone who can write to ``results/``
cannot make a job run anything.  A truncated or otherwise unreadable cache file is logged and
rebuilt, never a permanent failure.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from xstilts.common.files import atomic_path

log = logging.getLogger(__name__)
FORMAT = 3  # the layout below; a cache file of another format is rebuilt


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _kind(values: list) -> str:
    if all(_is_int(v) for v in values):
        return "int"
    if all(isinstance(v, str) for v in values):
        return "json"
    if all(isinstance(v, list) and all(_is_int(x) for x in v) for v in values):
        return "ragged"
    if all(isinstance(v, list) and all(isinstance(x, list) and all(_is_int(y) for y in x) for x in v) for v in values):
        return "ragged2"
    if all(isinstance(v, list) and all(x is None or (isinstance(x, tuple) and len(x) == 2 and all(map(_is_int, x))) for x in v)
           for v in values):  # fmt: skip
        return "spans"
    raise TypeError(f"feature values of types {sorted({type(v).__name__ for v in values})} have no column kind")


def _ints(values) -> np.ndarray:
    """Whole numbers as int32 where they fit (token ids, labels, offsets: half the bytes), else int64."""
    a = np.asarray(values, dtype=np.int64)
    return a.astype(np.int32) if a.size == 0 or (a.min() >= -(2**31) and a.max() < 2**31) else a


def _columns(feats: list[dict]) -> tuple[dict, dict[str, np.ndarray]]:
    keys = list(feats[0]) if feats else []
    if any(list(f) != keys for f in feats):
        raise TypeError("features of one file must all have the same keys, in the same order")
    kinds, arrays = {}, {}
    for key in keys:
        values = [f[key] for f in feats]
        kinds[key] = kind = _kind(values)
        if kind == "int":
            arrays[f"{key}/values"] = _ints(values)
        elif kind == "json":
            arrays[f"{key}/json"] = np.frombuffer(json.dumps(values, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
        elif kind == "ragged":
            arrays[f"{key}/lengths"] = _ints([len(v) for v in values])
            arrays[f"{key}/values"] = _ints([x for v in values for x in v])
        elif kind == "ragged2":
            arrays[f"{key}/counts"] = _ints([len(v) for v in values])
            arrays[f"{key}/lengths"] = _ints([len(x) for v in values for x in v])
            arrays[f"{key}/values"] = _ints([y for v in values for x in v for y in x])
        else:  # spans: the starts and the ends, -1 for None
            arrays[f"{key}/lengths"] = _ints([len(v) for v in values])
            arrays[f"{key}/starts"] = _ints([-1 if x is None else x[0] for v in values for x in v])
            arrays[f"{key}/ends"] = _ints([-1 if x is None else x[1] for v in values for x in v])
    return kinds, arrays


def _split(flat: list, lengths: list[int]) -> list[list]:
    out, at = [], 0
    for n in lengths:
        out.append(flat[at : at + n])
        at += n
    return out


def _rows(schema: dict, z) -> list[dict]:
    n, columns = schema["n"], {}
    for key, kind in schema["kinds"].items():
        if kind == "int":
            col = z[f"{key}/values"].tolist()
        elif kind == "json":
            col = json.loads(z[f"{key}/json"].tobytes().decode("utf-8"))
        elif kind == "ragged":
            col = _split(z[f"{key}/values"].tolist(), z[f"{key}/lengths"].tolist())
        elif kind == "ragged2":
            inner = _split(z[f"{key}/values"].tolist(), z[f"{key}/lengths"].tolist())
            col = _split(inner, z[f"{key}/counts"].tolist())
        elif kind == "spans":
            starts = z[f"{key}/starts"]
            pairs = list(zip(starts.tolist(), z[f"{key}/ends"].tolist()))  # 1-D lists zipped: far faster than a 2-D tolist
            for k in np.flatnonzero(starts < 0).tolist():
                pairs[k] = None
            col = _split(pairs, z[f"{key}/lengths"].tolist())
        else:
            raise ValueError(f"unknown column kind {kind!r}")
        if len(col) != n:
            raise ValueError(f"column {key!r} has {len(col)} values for {n} features")
        columns[key] = col
    return [{key: columns[key][i] for key in columns} for i in range(n)]


def save_features(path: str | Path, feats: list[dict]) -> None:
    """Write ``feats`` to ``path`` (atomically) as NumPy arrays."""
    kinds, arrays = _columns(feats)
    schema = {"format": FORMAT, "n": len(feats), "kinds": kinds}
    arrays["__schema__"] = np.frombuffer(json.dumps(schema).encode("utf-8"), dtype=np.uint8)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def load_features(path: str | Path) -> list[dict]:
    """The features saved at ``path``; ValueError (or OSError) when the file is unreadable."""
    with np.load(path, allow_pickle=False) as z:
        schema = json.loads(z["__schema__"].tobytes().decode("utf-8"))
        if schema.get("format") != FORMAT:
            raise ValueError(f"cache format {schema.get('format')}, expected {FORMAT}")
        return _rows(schema, z)


def cached_features(path: str | Path, build: Callable[[], list[dict]]) -> list[dict]:
    """The features cached at ``path``, or ``build()``'s, saved there; an unreadable cache file
    (killed while written by an older version, truncated, corrupt) is rebuilt."""
    path = Path(path)
    if path.exists():
        try:
            return load_features(path)
        except Exception as e:  # noqa: BLE001 - any unreadable cache is rebuilt the same way
            log.warning("tokenisation cache %s is unreadable (%s: %s); rebuilding it", path, type(e).__name__, e)
    feats = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_features(path, feats)
    return feats
