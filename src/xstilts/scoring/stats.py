"""Statistics of a transfer matrix: bootstrap confidence intervals over test examples and paired
tests of each pipeline against the baseline, from the per-example predictions every evaluation
job writes (no model is rerun).

Every metric the tables report is a ratio of sums of per-example counts, so one resample of the
examples gives every metric at once:

- accuracy (classification, multiple choice, retrieval): correct / 1 per example;
- SQuAD / MLQA F1 and exact match: the example's score / 1;
- span F1 (seqeval, POS and NER): 2 x true-positive spans / (predicted + gold spans) per sentence,
  i.e. corpus-level F1 recomputed on the resampled sentences (token accuracy: correct / tokens);
- BUCC F1 is a property of the mined pair set, not of examples: it gets no interval;
- nDCG (XGLUE WPR) is a mean over queries of a ranking of their pages, not a sum over examples: no interval.

**Intervals** (``confidence.csv``): for one (model, pipeline, target, language), the test examples
are resampled with replacement (the same resample for every seed, since every seed scores the same
examples), the metric is recomputed per seed and averaged over seeds: the percentile interval of
that seed-mean.  For a table cell (the mean over languages) each language is resampled
independently and the mean over languages taken.  Seeds are not resampled: with 3 seeds the
seed-to-seed spread is reported beside the interval (``sd``), not folded into it.

**Paired tests** (``significance.csv``): a pipeline against the baseline (``none``) of the same
model on the same target, with the scores paired by (seed, language) -- the same target-training
seed and the same test set; a seed-free baseline (retrieval's ``none`` row) pairs with every seed.
Wilcoxon's signed-rank test and the paired t-test (scipy) over those pairs, and a paired bootstrap
interval of the difference of the cell (the same example resample for both pipelines).  Pairs that
share a seed are not independent (one intermediate model per seed): with few seeds the p-values
overstate the evidence, and the table says so rather than printing stars.
"""

from __future__ import annotations

import gzip
import json
import logging
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from xstilts.common.errors import DataError
from xstilts.scoring.metrics import get_entities

log = logging.getLogger(__name__)

BASELINE = "none"
CONFIDENCE = 0.95
N_RESAMPLES = 1000
MIN_SEEDS = 3  # below this, the table calls the evidence weak whatever the p-values say


# ----------------------------------------------------------------------------- per-example counts


def _span_counts(pred: list[str], gold: list[str]) -> tuple[float, float]:
    p, g = set(get_entities(pred)), set(get_entities(gold))
    return 2.0 * len(p & g), float(len(p) + len(g))


def example_counts(records: list[dict], metric: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(numerator, denominator) per example such that the metric is sum(num) / sum(den); None for a
    metric that is not a ratio of per-example sums (BUCC's mined-pair F1, WPR's nDCG)."""
    if not records:
        raise DataError("no per-example predictions to resample.")
    first = records[0]
    if metric == "ndcg":  # a mean over queries of per-query rankings: no per-example counts
        return None
    if metric == "accuracy" and "correct" in first:
        num = np.array([r["correct"] for r in records], dtype=np.float64)
        return num, np.ones_like(num)
    if metric in ("f1", "exact_match") and metric in first:  # SQuAD-style QA: per-question scores
        num = np.array([r[metric] for r in records], dtype=np.float64)
        return num, np.ones_like(num)
    if metric == "f1" and isinstance(first.get("gold"), list) and isinstance(first.get("prediction"), list):
        counts = np.array([_span_counts(r["prediction"], r["gold"]) for r in records], dtype=np.float64)
        return counts[:, 0], counts[:, 1]
    if metric == "token_accuracy" and isinstance(first.get("gold"), list):
        counts = np.array([(sum(a == b for a, b in zip(r["prediction"], r["gold"])), len(r["gold"])) for r in records], dtype=np.float64)
        return counts[:, 0], counts[:, 1]
    return None


def resampled_scores(num: np.ndarray, den: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Metric of each resample: ``num``/``den`` are (seeds, examples), ``idx`` (resamples, examples);
    returns (resamples,) -- the mean over seeds of each seed's metric on the resampled examples."""
    n_sum = num[:, idx].sum(axis=2)  # (seeds, resamples)
    d_sum = den[:, idx].sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_seed = np.where(d_sum > 0, n_sum / np.where(d_sum > 0, d_sum, 1.0), 0.0)
    return per_seed.mean(axis=0)


def point_score(num: np.ndarray, den: np.ndarray) -> float:
    """The seed-mean metric on the examples as they are (what the metrics files report)."""
    d = den.sum(axis=1)
    return float(np.mean(np.where(d > 0, num.sum(axis=1) / np.where(d > 0, d, 1.0), 0.0)))


# ----------------------------------------------------------------------------- reading predictions


def read_predictions(path: str) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


class Examples:
    """Per-example counts of every (model, pipeline, target, language), stacked over seeds and aligned
    by example id: ``counts[key] = (num, den)`` with arrays of shape (seeds, examples)."""

    def __init__(self):
        self._parts: dict[tuple, dict] = {}

    def add(self, model: str, pipeline: str, seed, records: Iterable[dict], main_metric: dict[str, str], where: str = "predictions") -> None:
        groups: dict[tuple[str, str], list[dict]] = {}
        for r in records:
            groups.setdefault((r["benchmark"], r["lang"]), []).append(r)
        for (bench, lang), recs in groups.items():
            counts = example_counts(recs, main_metric[bench])
            if counts is None:
                continue
            ids = [str(r["id"]) for r in recs]
            seen: set[str] = set()
            repeated = next((i for i in ids if i in seen or seen.add(i)), None)
            if repeated is not None:
                raise DataError(f"{where}: {bench} ({lang}) has the example id '{repeated}' twice; examples are paired "
                                f"across seeds by id, so every id must be unique (rerun its evaluation).")  # fmt: skip
            part = self._parts.setdefault((model, pipeline, bench, lang), {})
            part[seed] = (ids, counts)

    def counts(self, key: tuple) -> tuple[list[str], np.ndarray, np.ndarray] | None:
        part = self._parts.get(key)
        if not part:
            return None
        seeds = sorted(part, key=lambda s: (s is None, s))
        ids = part[seeds[0]][0]
        nums, dens = [], []
        for s in seeds:
            s_ids, (num, den) = part[s]
            if set(s_ids) != set(ids) or len(s_ids) != len(ids):
                raise DataError(f"{key}: seed {s} scored other examples than seed {seeds[0]}; cannot pair them.")
            position = {i: k for k, i in enumerate(s_ids)}  # ids are unique (add): every row is taken once
            take = np.array([position[i] for i in ids], dtype=np.int64)
            nums.append(np.asarray(num)[take])
            dens.append(np.asarray(den)[take])
        return ids, np.stack(nums), np.stack(dens)

    def keys(self):
        return self._parts.keys()


def load_examples(prediction_files: list[str], long: pd.DataFrame) -> Examples:
    """The predictions files of an experiment, with each benchmark's main metric from the long table."""
    main = long[long["main"]].drop_duplicates("target").set_index("target")["metric"].to_dict()
    ex = Examples()
    for path in prediction_files:
        meta = _identity(path)
        ex.add(meta["model"], meta["pipeline"], meta["seed"], read_predictions(path), main, where=path)
    return ex


def _identity(path: str) -> dict:
    """model, pipeline and seed from a predictions path: predictions/{model}/{pipeline}/{task}/{seedN|base}.jsonl.gz."""
    parts = path.replace("\\", "/").split("/")
    tag = parts[-1].split(".")[0]
    seed = None if tag == "base" else int(tag.removeprefix("seed"))
    return {"model": parts[-4], "pipeline": parts[-3], "seed": seed}


# ----------------------------------------------------------------------------- intervals


def _percentiles(values: np.ndarray, confidence: float) -> tuple[float, float]:
    a = (1 - confidence) / 2
    low, high = np.nanpercentile(values, [100 * a, 100 * (1 - a)])
    return float(low), float(high)


def _resample_indices(n: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, n, size=(n_resamples, n))


def cell_distribution(ex: Examples, model: str, pipeline: str, target: str, languages: list[str], *,
                      n_resamples: int, seed: int, with_baseline: bool = False) -> dict | None:  # fmt: skip
    """Bootstrap distribution of one cell (mean over languages of the seed-mean), per language too;
    with ``with_baseline`` also that of the baseline row and of the difference (same resamples)."""
    per_lang, base_lang = {}, {}
    for k, lang in enumerate(languages):
        mine = ex.counts((model, pipeline, target, lang))
        if mine is None:
            return None
        ids, num, den = mine
        rng = np.random.default_rng([seed, k, len(ids)])
        idx = _resample_indices(len(ids), n_resamples, rng)
        per_lang[lang] = (point_score(num, den), resampled_scores(num, den, idx), num.shape[0], len(ids))
        if with_baseline:
            base = ex.counts((model, BASELINE, target, lang))
            if base is None:
                return None
            b_ids, b_num, b_den = base
            if set(b_ids) != set(ids):
                raise DataError(f"{model}/{target}/{lang}: {pipeline} and {BASELINE} scored other examples; cannot pair them.")
            order = {i: j for j, i in enumerate(b_ids)}
            perm = np.array([order[i] for i in ids])  # baseline columns in this pipeline's example order
            base_lang[lang] = (point_score(b_num, b_den), resampled_scores(b_num[:, perm], b_den[:, perm], idx))
    out = {"languages": per_lang}
    out["cell"] = np.mean([v[1] for v in per_lang.values()], axis=0)
    out["point"] = float(np.mean([v[0] for v in per_lang.values()]))
    if with_baseline:
        out["baseline_cell"] = np.mean([v[1] for v in base_lang.values()], axis=0)
        out["baseline_point"] = float(np.mean([v[0] for v in base_lang.values()]))
    return out


def confidence_table(long: pd.DataFrame, ex: Examples, *, n_resamples: int = N_RESAMPLES,
                     confidence: float = CONFIDENCE, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Percentile intervals per (model, pipeline, target, language) and per cell (language 'mean')."""
    rows = []
    main = long[long["main"]]
    for (model, pipeline, target), group in main.groupby(["model", "pipeline", "target"], sort=False):
        languages = list(dict.fromkeys(group["language"]))
        dist = cell_distribution(ex, model, pipeline, target, languages, n_resamples=n_resamples, seed=seed)
        if dist is None:
            continue
        metric = group["metric"].iloc[0]
        for lang, (point, samples, n_seeds, n_ex) in dist["languages"].items():
            low, high = _percentiles(samples, confidence)
            rows.append({"model": model, "pipeline": pipeline, "target": target, "language": lang, "metric": metric,
                         "score": point, "ci_low": low, "ci_high": high, "n_examples": n_ex, "n_seeds": n_seeds})  # fmt: skip
        low, high = _percentiles(dist["cell"], confidence)
        rows.append({"model": model, "pipeline": pipeline, "target": target, "language": "mean", "metric": metric,
                     "score": dist["point"], "ci_low": low, "ci_high": high,
                     "n_examples": sum(v[3] for v in dist["languages"].values()),
                     "n_seeds": max(v[2] for v in dist["languages"].values())})  # fmt: skip
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- paired tests


def pair_with_baseline(rows: pd.DataFrame, baseline: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    """A pipeline's rows beside the baseline's ``value`` (column ``baseline``), matched on ``on`` and the
    seed -- seed s against seed s, the same target-training seed -- or, when the baseline is seed-free
    (retrieval straight from the base model), on ``on`` alone, so it pairs with every seed."""
    keys = list(on) if baseline["seed"].isna().all() else ["seed", *on]
    base = baseline[[*keys, "value"]].rename(columns={"value": "baseline"})
    return rows.merge(base, on=keys) if keys else rows.merge(base, how="cross")


def paired_values(long: pd.DataFrame, model: str, pipeline: str, target: str) -> pd.DataFrame:
    """Scores of a pipeline and the baseline paired by (seed, language) (``pair_with_baseline``)."""
    main = long[long["main"] & (long["model"] == model) & (long["target"] == target)]
    mine = main[main["pipeline"] == pipeline][["seed", "language", "value"]]
    return pair_with_baseline(mine, main[main["pipeline"] == BASELINE], ["language"])


def significance_table(long: pd.DataFrame, ex: Examples | None = None, *, n_resamples: int = N_RESAMPLES,
                       confidence: float = CONFIDENCE, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    from scipy import stats as st

    rows = []
    main = long[long["main"]]
    for (model, pipeline, target), group in main.groupby(["model", "pipeline", "target"], sort=False):
        if pipeline == BASELINE:
            continue
        pairs = paired_values(long, model, pipeline, target)
        if pairs.empty:
            continue
        diff = (pairs["value"] - pairs["baseline"]).to_numpy(dtype=float)
        n_seeds = int(pairs["seed"].nunique())
        row = {"model": model, "pipeline": pipeline, "target": target, "metric": group["metric"].iloc[0],
               "delta": float(diff.mean()), "n_pairs": len(diff), "n_seeds": n_seeds,
               "n_languages": int(pairs["language"].nunique())}  # fmt: skip
        if len(diff) >= 2 and np.any(diff != 0):
            with warnings.catch_warnings():  # few, nearly equal pairs: scipy warns, the p-value says it
                warnings.simplefilter("ignore", RuntimeWarning)
                row["wilcoxon_p"] = float(st.wilcoxon(diff).pvalue)
                row["ttest_p"] = float(st.ttest_rel(pairs["value"], pairs["baseline"]).pvalue)
        else:
            row["wilcoxon_p"] = row["ttest_p"] = float("nan")
        row["ci_low"] = row["ci_high"] = float("nan")
        if ex is not None:
            languages = list(dict.fromkeys(pairs["language"]))
            dist = cell_distribution(ex, model, pipeline, target, languages, n_resamples=n_resamples, seed=seed, with_baseline=True)
            if dist is not None:
                row["ci_low"], row["ci_high"] = _percentiles(dist["cell"] - dist["baseline_cell"], confidence)
        row["evidence"] = verdict(row)
        rows.append(row)
    return pd.DataFrame(rows)


def verdict(row: dict) -> str:
    """A plain-words reading of one comparison, never stars."""
    if row["n_seeds"] < MIN_SEEDS:
        return f"weak: {row['n_seeds']} seed(s)"
    lo, hi = row.get("ci_low"), row.get("ci_high")
    sign = "gain" if row["delta"] > 0 else "loss"
    if lo is not None and not np.isnan(lo) and (lo > 0 or hi < 0):
        return f"{sign}: interval excludes 0"
    return "no clear difference"
