"""Evaluation metrics, computed as the official evaluation scripts compute them.

Pure numpy/scipy (no torch).  Each function names the script or definition it follows.

Scales
------
* ``accuracy``, ``ndcg``, ``token_accuracy``, ``span_f1``, ``bucc_f1`` and ``retrieval_accuracy`` return
  fractions in [0, 1] (as seqeval / sklearn-style definitions do).
* The QA scores (``squad_scores``, ``squad_v2_scores``, ``mlqa_scores``) return percentages in
  [0, 100], exactly like the official SQuAD / MLQA scripts.
* XTREME's ``evaluate.py`` multiplies every metric by 100 before averaging; ``xtreme_score`` and
  ``mean_over_languages`` do not rescale, so give them numbers that are all on the same scale.

Sources followed
----------------
* seqeval 1.2.2 ``f1_score`` / ``precision_score`` / ``recall_score``, default mode
  (``mode=None``, ``scheme=None``, ``average='micro'``), i.e. the conlleval-compatible
  ``get_entities`` span extraction (reimplemented exactly; seqeval is only used in the tests).
* SQuAD v1.1 ``evaluate-v1.1.py`` (the file XTREME downloads as ``third_party/evaluate_squad.py``).
* SQuAD v2.0 ``evaluate-v2.0.py`` (official CodaLab script), without no-answer probabilities.
* MLQA ``mlqa_evaluation_v1.py`` (facebookresearch/MLQA master, the file XTREME downloads as
  ``third_party/evaluate_mlqa.py``).
* XTREME ``third_party/utils_retrieve.py``: ``mine_bitext`` (mode='mine', retrieval='max',
  margin='ratio', neighborhood=4, threshold=0, dist='cosine'), ``bucc_optimize``,
  ``bucc_extract`` and ``bucc_eval``; Tatoeba via ``similarity_search``.
* XTREME ``evaluate.py`` for the per-task main metric and the averages.
* XGLUE ``evaluation/xglue_evaluate.py`` for WPR's nDCG (``simple_ndcg`` over sklearn ``ndcg_score``).
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Hashable, Iterable, NamedTuple, Sequence

import numpy as np

__all__ = [
    "accuracy",
    "ndcg",
    "token_accuracy",
    "span_f1",
    "get_entities",
    "normalize_answer",
    "squad_exact_match",
    "squad_f1",
    "squad_scores",
    "squad_v2_scores",
    "mlqa_normalize_answer",
    "mlqa_scores",
    "MarginCandidates",
    "margin_scores",
    "bucc_mine",
    "bucc_f1",
    "bucc_best_threshold",
    "nearest_neighbours",
    "retrieval_accuracy",
    "xtreme_score",
    "mean_over_languages",
    "bootstrap_ci",
]


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------


def accuracy(predictions: list, references: list) -> float:
    """Fraction of predictions equal to their reference.

    Follows XTREME ``evaluate.py::accuracy`` (``correct / len(predictions)``, used for XNLI,
    PAWS-X and Tatoeba), returned as a fraction rather than multiplied by 100.
    """
    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise ValueError(
            f"accuracy: {len(predictions)} predictions but {len(references)} references; "
            "they must have the same length."
        )
    if not predictions:
        raise ValueError("accuracy: no predictions and no references (empty input); accuracy is undefined.")
    correct = sum(int(p == r) for p, r in zip(predictions, references))
    return correct / len(predictions)


def _tie_averaged_dcg(relevance: np.ndarray, scores: np.ndarray) -> float:
    """DCG of the items ranked by ``scores`` (descending), linear gain, discount 1/log2(rank + 1);
    items with equal scores share the mean gain of their tied block (sklearn's ``_tie_averaged_dcg``)."""
    discount = 1.0 / np.log2(np.arange(len(relevance)) + 2)
    order = np.argsort(-scores, kind="stable")
    rel, sc = relevance[order], scores[order]
    total, start = 0.0, 0
    while start < len(sc):
        end = start + 1
        while end < len(sc) and sc[end] == sc[start]:
            end += 1
        total += rel[start:end].mean() * discount[start:end].sum()
        start = end
    return float(total)


def ndcg(scores: Sequence[float], relevance: Sequence[float], groups: Sequence[Hashable]) -> float:
    """Mean nDCG over query groups, as XGLUE ``evaluation/xglue_evaluate.py::simple_ndcg`` scores WPR.

    Each group (a query's web pages) is ranked by ``scores``; its nDCG is sklearn's ``ndcg_score``
    (k = all pages, gain = the relevance label itself, discount 1/log2(rank + 1), tied scores
    averaged), 0 for a group whose pages are all irrelevant; groups of fewer than two pages are
    skipped, as XGLUE skips them.  Returns a fraction in [0, 1].
    """
    scores, relevance, groups = list(scores), list(relevance), list(groups)
    if not len(scores) == len(relevance) == len(groups):
        raise ValueError(f"ndcg: {len(scores)} scores, {len(relevance)} relevance labels and {len(groups)} groups; they must have the same length.")
    members: dict[Hashable, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    values = []
    for idx in members.values():
        if len(idx) < 2:
            continue
        rel = np.asarray([relevance[i] for i in idx], dtype=np.float64)
        sc = np.asarray([scores[i] for i in idx], dtype=np.float64)
        ideal = _tie_averaged_dcg(rel, rel)
        values.append(0.0 if ideal == 0 else _tie_averaged_dcg(rel, sc) / ideal)
    if not values:
        raise ValueError("ndcg: no group has two or more items; nDCG is undefined.")
    return float(np.mean(values))


# --------------------------------------------------------------------------------------------
# Tagging
# --------------------------------------------------------------------------------------------


def _check_tag_lists(pred_tags, gold_tags, who: str) -> tuple[list[list[str]], list[list[str]]]:
    for name, corpus in (("pred_tags", pred_tags), ("gold_tags", gold_tags)):
        if isinstance(corpus, str) or any(isinstance(s, str) for s in corpus):
            raise ValueError(f"{who}: {name} must be a list of sentences, each a list of tag strings.")
    pred = [list(s) for s in pred_tags]
    gold = [list(s) for s in gold_tags]
    if len(pred) != len(gold):
        raise ValueError(
            f"{who}: {len(pred)} predicted sentences but {len(gold)} gold sentences; "
            "they must have the same number of sentences."
        )
    if not gold:
        raise ValueError(f"{who}: no sentences (empty input); the score is undefined.")
    for i, (p, g) in enumerate(zip(pred, gold)):
        if len(p) != len(g):
            raise ValueError(
                f"{who}: sentence {i} has {len(p)} predicted tags but {len(g)} gold tags; "
                "every sentence must have one predicted tag per gold tag."
            )
    return pred, gold


def token_accuracy(pred_tags: list[list[str]], gold_tags: list[list[str]]) -> float:
    """Micro-averaged token accuracy: correct tags over all tokens of all sentences.

    Same definition as seqeval's ``accuracy_score`` (which flattens the sentences) but with a
    per-sentence length check that names the offending sentence index.
    """
    pred, gold = _check_tag_lists(pred_tags, gold_tags, "token_accuracy")
    total = sum(len(g) for g in gold)
    if total == 0:
        raise ValueError("token_accuracy: every sentence is empty (0 tokens); accuracy is undefined.")
    correct = sum(int(p == g) for ps, gs in zip(pred, gold) for p, g in zip(ps, gs))
    return correct / total


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    # seqeval.metrics.sequence_labeling.end_of_chunk (1.2.2), verbatim logic.
    chunk_end = False
    if prev_tag == "E":
        chunk_end = True
    if prev_tag == "S":
        chunk_end = True
    if prev_tag == "B" and tag in ("B", "S", "O"):
        chunk_end = True
    if prev_tag == "I" and tag in ("B", "S", "O"):
        chunk_end = True
    if prev_tag != "O" and prev_tag != "." and prev_type != type_:
        chunk_end = True
    return chunk_end


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    # seqeval.metrics.sequence_labeling.start_of_chunk (1.2.2), verbatim logic.
    chunk_start = False
    if tag == "B":
        chunk_start = True
    if tag == "S":
        chunk_start = True
    if prev_tag == "E" and tag in ("E", "I"):
        chunk_start = True
    if prev_tag == "S" and tag in ("E", "I"):
        chunk_start = True
    if prev_tag == "O" and tag in ("E", "I"):
        chunk_start = True
    if tag != "O" and tag != "." and prev_type != type_:
        chunk_start = True
    return chunk_start


def get_entities(seq: Sequence) -> list[tuple[str, int, int]]:
    """Spans ``(type, start, end)`` (end inclusive) exactly as seqeval 1.2.2 ``get_entities``.

    Default (prefix, non-suffix) mode.  A list of sentences is flattened with an ``'O'``
    appended after every sentence, so offsets index that flattened sequence, as in seqeval.

    Each tag is split into a one-character *prefix* ``tag[0]`` and a *type*
    ``tag[1:].split('-', 1)[-1] or '_'``; the prefixes B/I/E/S/O get their IOB/IOBES meaning,
    any other prefix only delimits chunks by type changes.  See :func:`span_f1` for what this
    does to plain (prefix-less) tags such as UPOS.
    """
    seq = list(seq)
    if any(isinstance(s, (list, tuple)) for s in seq):
        seq = [item for sublist in seq for item in list(sublist) + ["O"]]

    prev_tag = "O"
    prev_type = ""
    begin_offset = 0
    chunks: list[tuple[str, int, int]] = []
    for i, chunk in enumerate(seq + ["O"]):
        if not isinstance(chunk, str) or not chunk:
            raise ValueError(f"get_entities: tag {i} is {chunk!r}; tags must be non-empty strings.")
        tag = chunk[0]
        type_ = chunk[1:].split("-", maxsplit=1)[-1] or "_"
        if _end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin_offset, i - 1))
        if _start_of_chunk(prev_tag, tag, prev_type, type_):
            begin_offset = i
        prev_tag = tag
        prev_type = type_
    return chunks


def span_f1(pred_tags, gold_tags) -> dict:
    """Micro span precision / recall / F1 exactly as seqeval 1.2.2 computes them by default.

    Follows ``seqeval.metrics.f1_score(y_true, y_pred)`` (and ``precision_score`` /
    ``recall_score``) with ``average='micro'``, ``mode=None`` (conlleval-compatible, not strict),
    ``suffix=False``, which is how XTREME's ``evaluate.py`` scores PAN-X and UD-POS.  Spans are
    per-type sets of ``(start, end)`` over the flattened corpus; ``tp`` sums the per-type
    intersections; precision = tp / #predicted spans, recall = tp / #gold spans,
    F1 = 2PR / (P + R), and 0.0 wherever a denominator is 0 (seqeval's ``zero_division='warn'``
    value, without the warning).  Returns fractions in [0, 1].

    IOB2, IOB1 (an ``I-X`` after ``O`` or after another type opens a span) and IOBES tags work as
    in conlleval.

    Quirk for plain tags (UD-POS): seqeval does *not* treat a tag without ``B-``/``I-`` as an
    atomic label.  It takes the first character as the prefix and the rest as the type
    (``NOUN`` -> prefix ``N``, type ``OUN``), so:

    * a maximal run of the same plain tag IS merged into one span (``NOUN NOUN`` is one span), so
      gold ``NOUN NOUN VERB`` vs predicted ``NOUN VERB VERB`` scores F1 = 0 despite 2/3 correct
      tokens;
    * tags whose first letter is ``S``/``B``/``E`` (``SCONJ``, ``SYM``) are never merged: each
      token is its own span; ``INTJ`` behaves like ``I-NTJ``;
    * ``CCONJ`` and ``SCONJ`` share the type ``CONJ``: ``CCONJ SCONJ`` drops the ``CCONJ`` span;
    * ``X`` has the type ``'_'``, the same as ``O``, so an ``X`` span can absorb preceding
      ``O``/sentence-separator positions or never be closed.

    seqeval < 1.0 (what XTREME's unpinned ``pip install seqeval`` gave in early 2020) used
    ``tag.split('-')[-1]`` as the type, so the last two quirks differ there; this function
    reproduces seqeval 1.2.2.
    An empty corpus (no sentences) raises ValueError instead of returning 0.
    """
    pred, gold = _check_tag_lists(pred_tags, gold_tags, "span_f1")
    true_spans = set(get_entities(gold))
    pred_spans = set(get_entities(pred))
    tp = len(true_spans & pred_spans)
    n_pred = len(pred_spans)
    n_true = len(true_spans)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    denom = precision + recall
    f1 = 2 * precision * recall / denom if denom else 0.0
    return {"f1": float(f1), "precision": float(precision), "recall": float(recall)}


# --------------------------------------------------------------------------------------------
# SQuAD v1.1 / v2.0
# --------------------------------------------------------------------------------------------

_SQUAD_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_ASCII_PUNCT = frozenset(string.punctuation)


def normalize_answer(s: str) -> str:
    """SQuAD v1.1 ``evaluate-v1.1.py::normalize_answer``.

    Lower-case, drop ASCII punctuation (``string.punctuation``), replace the words
    a/an/the by a space, collapse whitespace.  (v2.0 uses the identical normalisation.)
    """
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _ASCII_PUNCT)
    s = _SQUAD_ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _token_f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    common = Counter(pred_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(pred_tokens)
    recall = 1.0 * num_same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def _check_golds(ground_truths, who: str) -> list[str]:
    if isinstance(ground_truths, str):
        raise TypeError(f"{who}: ground_truths must be a list of strings, not a single string {ground_truths!r}.")
    golds = list(ground_truths)
    if not golds:
        raise ValueError(
            f"{who}: empty list of ground truths (a no-answer question); SQuAD v1.1 / MLQA cannot "
            "score it - use squad_v2_scores for unanswerable questions."
        )
    return golds


def squad_exact_match(prediction: str, ground_truths: list[str]) -> float:
    """SQuAD v1.1 exact match, max over the gold answers (``metric_max_over_ground_truths``).

    1.0 if ``normalize_answer(prediction)`` equals the normalised form of any gold, else 0.0.
    """
    golds = _check_golds(ground_truths, "squad_exact_match")
    p = normalize_answer(prediction)
    return float(max(p == normalize_answer(g) for g in golds))


def squad_f1(prediction: str, ground_truths: list[str]) -> float:
    """SQuAD v1.1 token F1 (bag of normalised whitespace tokens), max over the gold answers.

    As in ``evaluate-v1.1.py::f1_score``: 0 when no token is shared (also when both sides
    normalise to empty).
    """
    golds = _check_golds(ground_truths, "squad_f1")
    p = normalize_answer(prediction).split()
    return float(max(_token_f1(p, normalize_answer(g).split()) for g in golds))


def _check_prediction_dict(predictions, references, who: str):
    if not isinstance(predictions, dict) or not isinstance(references, dict):
        raise TypeError(f"{who}: predictions and references must be dicts keyed by question id.")
    if not references:
        raise ValueError(f"{who}: no reference questions (empty references); the score is undefined.")


def squad_scores(predictions: dict, references: dict) -> dict:
    """SQuAD v1.1 ``evaluate-v1.1.py::evaluate``: ``{"exact_match", "f1"}`` in percent.

    ``references`` maps question id -> list of gold answer strings; the total is the number of
    reference questions, a question without a prediction scores 0 (the official script prints
    "Unanswered question ... will receive score 0"), predictions for unknown ids are ignored.
    Also used for XQuAD and TyDiQA-GoldP, as in XTREME.
    """
    _check_prediction_dict(predictions, references, "squad_scores")
    em = f1 = 0.0
    for qid, golds in references.items():
        golds = _check_golds(golds, f"squad_scores (question {qid!r})")
        if qid not in predictions:
            continue
        pred = predictions[qid]
        em += squad_exact_match(pred, golds)
        f1 += squad_f1(pred, golds)
    total = len(references)
    return {"exact_match": 100.0 * em / total, "f1": 100.0 * f1 / total}


def _v2_tokens(s: str) -> list[str]:
    if not s:
        return []
    return normalize_answer(s).split()


def _v2_exact(gold: str, pred: str) -> int:
    return int(normalize_answer(gold) == normalize_answer(pred))


def _v2_f1(gold: str, pred: str) -> float:
    gold_toks = _v2_tokens(gold)
    pred_toks = _v2_tokens(pred)
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        # If either is no-answer, then F1 is 1 if they agree, 0 otherwise
        return float(gold_toks == pred_toks)
    return _token_f1(pred_toks, gold_toks)


def squad_v2_scores(predictions: dict, references: dict) -> dict:
    """SQuAD v2.0 ``evaluate-v2.0.py`` (no ``na_prob`` file, i.e. threshold 1.0), in percent.

    ``references`` maps id -> list of gold answers; an empty list marks an unanswerable
    question.  As in ``get_raw_scores``: golds that normalise to "" are dropped and, if none is
    left, the only gold is "" - so an empty (or all-punctuation/article) prediction scores EM = F1
    = 1 on a no-answer question and anything else 0; F1 against a non-empty gold is 0 for an
    empty prediction.  HasAns/NoAns follow ``make_qid_to_has_ans`` (``bool(answers)``).

    Returns ``exact_match``, ``f1``, ``total`` and, where such questions exist (as the official
    script does), ``HasAns_exact_match``, ``HasAns_f1``, ``HasAns_total``, ``NoAns_exact_match``,
    ``NoAns_f1``, ``NoAns_total``.

    Decision: the official script crashes (HasAns breakdown) or silently drops questions
    without a prediction from the total; here a missing prediction scores 0 and counts in every
    total, as in v1.1.
    """
    _check_prediction_dict(predictions, references, "squad_v2_scores")
    exact: dict = {}
    f1: dict = {}
    has_ans: dict = {}
    for qid, answers in references.items():
        if isinstance(answers, str):
            raise TypeError(f"squad_v2_scores: references[{qid!r}] must be a list of strings, not a string.")
        answers = list(answers)
        has_ans[qid] = bool(answers)
        golds = [a for a in answers if normalize_answer(a)]
        if not golds:
            # For unanswerable questions, only correct answer is empty string
            golds = [""]
        if qid not in predictions:
            exact[qid] = 0
            f1[qid] = 0.0
            continue
        pred = predictions[qid]
        exact[qid] = max(_v2_exact(g, pred) for g in golds)
        f1[qid] = max(_v2_f1(g, pred) for g in golds)

    def block(qids):
        n = len(qids)
        return (100.0 * sum(exact[q] for q in qids) / n, 100.0 * sum(f1[q] for q in qids) / n, n)

    out: dict = {}
    out["exact_match"], out["f1"], out["total"] = block(list(references))
    has = [q for q, v in has_ans.items() if v]
    no = [q for q, v in has_ans.items() if not v]
    if has:
        out["HasAns_exact_match"], out["HasAns_f1"], out["HasAns_total"] = block(has)
    if no:
        out["NoAns_exact_match"], out["NoAns_f1"], out["NoAns_total"] = block(no)
    return out


# --------------------------------------------------------------------------------------------
# MLQA
# --------------------------------------------------------------------------------------------

_MLQA_WHITESPACE_LANGS = ("en", "es", "hi", "vi", "de", "ar")
_MLQA_MIXED_SEGMENTATION_LANGS = ("zh",)
_MLQA_ARTICLES = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    # Verbatim from the script: the first alternative '\sال^' can never match (a '^' after
    # characters), so in effect every 'ال' is replaced by a space, also inside words.
    "ar": re.compile("\\sال^|ال"),
}
_CJK = re.compile(r"[\u4e00-\u9fa5]")


@lru_cache(maxsize=1)
def _mlqa_punct() -> frozenset:
    # PUNCT = {chr(i) for i in range(sys.maxunicode)
    #          if unicodedata.category(chr(i)).startswith('P')}.union(string.punctuation)
    # (depends on the Unicode version of the running Python's unicodedata)
    return frozenset(
        {chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")}.union(
            string.punctuation
        )
    )


def _mlqa_mixed_segmentation(text: str, punct: frozenset) -> list[str]:
    segs_out: list[str] = []
    temp_str = ""
    for char in text:
        if _CJK.search(char) or char in punct:
            if temp_str != "":
                segs_out.extend(temp_str.split())
                temp_str = ""
            segs_out.append(char)
        else:
            temp_str += char
    if temp_str != "":
        segs_out.extend(temp_str.split())
    return segs_out


def _check_mlqa_lang(lang: str) -> None:
    if lang not in _MLQA_WHITESPACE_LANGS and lang not in _MLQA_MIXED_SEGMENTATION_LANGS:
        raise ValueError(
            f"MLQA: unknown language {lang!r}; the official script knows "
            f"{sorted(_MLQA_WHITESPACE_LANGS + _MLQA_MIXED_SEGMENTATION_LANGS)}."
        )


def mlqa_normalize_answer(s: str, lang: str) -> str:
    """``mlqa_evaluation_v1.py::normalize_answer(s, lang)`` (facebookresearch/MLQA, v1 script).

    lower -> remove every character of PUNCT (all Unicode code points below ``sys.maxunicode``
    whose category starts with 'P', plus ``string.punctuation``) -> replace per-language articles
    by a space (en: a|an|the; es: un|una|unos|unas|el|la|los|las; vi: của|là|cái|chiếc|những;
    de: der|die|das|den|dem|des|ein|eine|einer|eines|einem|einen; ar: regex ``'\\sال^|ال'``, i.e.
    every 'ال'; hi, zh: none) -> tokenise (whitespace for en/es/hi/vi/de/ar; for zh the
    script's ``mixed_segmentation``: each character in U+4E00..U+9FA5 (or punctuation) is its own
    token, runs of other characters are whitespace-split) -> join the non-blank tokens with
    single spaces.  Unknown languages raise ValueError (the script raises Exception).
    """
    _check_mlqa_lang(lang)
    punct = _mlqa_punct()
    text = s.lower()
    text = "".join(ch for ch in text if ch not in punct)
    pattern = _MLQA_ARTICLES.get(lang)
    if pattern is not None:
        text = pattern.sub(" ", text)
    if lang in _MLQA_WHITESPACE_LANGS:
        tokens = text.split()
    else:
        tokens = _mlqa_mixed_segmentation(text, punct)
    return " ".join(t for t in tokens if t.strip() != "")


def _mlqa_em(prediction: str, gold: str, lang: str) -> bool:
    return mlqa_normalize_answer(prediction, lang) == mlqa_normalize_answer(gold, lang)


def _mlqa_f1(prediction: str, gold: str, lang: str) -> float:
    return _token_f1(mlqa_normalize_answer(prediction, lang).split(), mlqa_normalize_answer(gold, lang).split())


def mlqa_exact_match(prediction: str, ground_truths: list[str], lang: str) -> float:
    """MLQA exact match of one prediction: 1.0 if it matches any gold after normalisation."""
    return float(max(_mlqa_em(prediction, g, lang) for g in _check_golds(ground_truths, "mlqa_exact_match")))


def mlqa_f1(prediction: str, ground_truths: list[str], lang: str) -> float:
    """MLQA token F1 of one prediction: the best over the golds."""
    return max(_mlqa_f1(prediction, g, lang) for g in _check_golds(ground_truths, "mlqa_f1"))


def mlqa_scores(predictions: dict, references: dict, lang: str) -> dict:
    """``mlqa_evaluation_v1.py::evaluate(dataset, predictions, lang)``: EM / F1 in percent.

    Same bookkeeping as SQuAD v1.1 (total = reference questions, missing prediction = 0, max
    over golds) with :func:`mlqa_normalize_answer` for the answer language ``lang``.
    """
    _check_mlqa_lang(lang)
    _check_prediction_dict(predictions, references, "mlqa_scores")
    em = f1 = 0.0
    for qid, golds in references.items():
        golds = _check_golds(golds, f"mlqa_scores (question {qid!r})")
        if qid not in predictions:
            continue
        pred = predictions[qid]
        em += float(max(_mlqa_em(pred, g, lang) for g in golds))
        f1 += max(_mlqa_f1(pred, g, lang) for g in golds)
    total = len(references)
    return {"exact_match": 100.0 * em / total, "f1": 100.0 * f1 / total}


# --------------------------------------------------------------------------------------------
# Chunked cosine k-nearest-neighbour search
# --------------------------------------------------------------------------------------------


def _as_matrix(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_sentences x dim); got shape {a.shape}.")
    if not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"{name} must be numeric; got dtype {a.dtype}.")
    dtype = np.float64 if a.dtype == np.float64 else np.float32
    a = a.astype(dtype, copy=False)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return a


def _l2_normalize(a: np.ndarray) -> np.ndarray:
    # faiss.normalize_L2 semantics: rows scaled to unit norm; all-zero rows stay zero.
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return a / norms


def _check_pair(src, tgt, names=("src_emb", "tgt_emb")) -> tuple[np.ndarray, np.ndarray]:
    x = _as_matrix(src, names[0])
    y = _as_matrix(tgt, names[1])
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{names[0]} has dimension {x.shape[1]} but {names[1]} has {y.shape[1]}.")
    if x.shape[0] == 0 or y.shape[0] == 0:
        raise ValueError(f"{names[0]} and {names[1]} need at least one row each; got {x.shape[0]} and {y.shape[0]}.")
    if x.dtype != y.dtype:
        x = x.astype(np.float64)
        y = y.astype(np.float64)
    return x, y


def _block_topk(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest entries of each row (ties: lowest column), unsorted, in O(row) time."""
    r, c = block.shape
    if k >= c:
        return block, np.broadcast_to(np.arange(c), (r, c))
    kth = np.partition(block, c - k, axis=1)[:, c - k]  # k-th largest value of each row
    greater = block > kth[:, None]
    equal = block == kth[:, None]
    need = k - greater.sum(axis=1)
    select = greater | (equal & (np.cumsum(equal, axis=1) <= need[:, None]))
    cols = np.nonzero(select)[1].reshape(r, k)
    return np.take_along_axis(block, cols, axis=1), cols


def _knn(queries: np.ndarray, database: np.ndarray, k: int, chunk_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product k-NN, ``chunk_size`` x ``chunk_size`` similarity blocks at a time.

    Returns (sims, inds) of shape (n_queries, k), sorted by decreasing similarity, ties broken
    by the lower database index.  The full similarity matrix is never built.
    """
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer; got {chunk_size!r}.")
    nq, nd = queries.shape[0], database.shape[0]
    k = min(k, nd)
    sims = np.empty((nq, k), dtype=queries.dtype)
    inds = np.empty((nq, k), dtype=np.int64)
    for r0 in range(0, nq, chunk_size):
        q = queries[r0 : r0 + chunk_size]
        best_s = np.empty((q.shape[0], 0), dtype=queries.dtype)
        best_i = np.empty((q.shape[0], 0), dtype=np.int64)
        for c0 in range(0, nd, chunk_size):
            block = q @ database[c0 : c0 + chunk_size].T
            s, i = _block_topk(block, k)
            cand_s = np.concatenate([best_s, s], axis=1)
            cand_i = np.concatenate([best_i, i + c0], axis=1)
            order = np.lexsort((cand_i, -cand_s), axis=-1)[:, :k]
            best_s = np.take_along_axis(cand_s, order, axis=1)
            best_i = np.take_along_axis(cand_i, order, axis=1)
        sims[r0 : r0 + q.shape[0]] = best_s
        inds[r0 : r0 + q.shape[0]] = best_i
    return sims, inds


def nearest_neighbours(src_emb: np.ndarray, tgt_emb: np.ndarray, chunk_size: int = 1024) -> np.ndarray:
    """Index of the cosine-nearest row of ``tgt_emb`` for every row of ``src_emb``.

    Exact search on L2-normalised rows (equivalent to XTREME's ``similarity_search``, a
    ``faiss.IndexFlatL2`` search on normalised vectors), chunked so that at most
    ``chunk_size`` x ``chunk_size`` similarities exist at once.  Ties go to the lower index.
    """
    x, y = _check_pair(src_emb, tgt_emb)
    _, inds = _knn(_l2_normalize(x), _l2_normalize(y), 1, chunk_size)
    return inds[:, 0]


def retrieval_accuracy(src_emb: np.ndarray, tgt_emb: np.ndarray, chunk_size: int = 1024) -> float:
    """Tatoeba accuracy: fraction of rows i whose cosine-nearest target is row i.

    Follows XTREME (``run_retrieval.py`` task 'tatoeba' + ``evaluate.py::accuracy``).  Note that
    XTREME indexes the non-English sentences and queries them with the English ones
    (``similarity_search(x=xx, y=en)``), so ``retrieval_accuracy(en_emb, xx_emb)`` reproduces
    it.  Returns a fraction.
    """
    x, y = _check_pair(src_emb, tgt_emb)
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"retrieval_accuracy: src_emb has {x.shape[0]} rows but tgt_emb has {y.shape[0]}; "
            "row i of each must be a translation pair."
        )
    nn = nearest_neighbours(x, y, chunk_size=chunk_size)
    return float(np.mean(nn == np.arange(x.shape[0])))


# --------------------------------------------------------------------------------------------
# BUCC 2018: ratio-margin bitext mining
# --------------------------------------------------------------------------------------------


class MarginCandidates(NamedTuple):
    """k-NN candidates of both directions with their ratio-margin scores.

    fwd_ind[i, :] are the k nearest targets of source i (by cosine, best first) and
    fwd_scores[i, :] their margin scores; bwd_ind / bwd_scores likewise for every target
    (nearest sources).  fwd_mean / bwd_mean are the mean cosines to the k neighbours.
    """

    fwd_ind: np.ndarray
    fwd_scores: np.ndarray
    bwd_ind: np.ndarray
    bwd_scores: np.ndarray
    fwd_mean: np.ndarray
    bwd_mean: np.ndarray


def margin_scores(x_src: np.ndarray, x_tgt: np.ndarray, k: int = 4, chunk_size: int = 1024) -> MarginCandidates:
    """Ratio-margin scores of the k-NN candidates in both directions (Artetxe & Schwenk 2019).

    Follows XTREME/LASER ``utils_retrieve.mine_bitext`` with margin='ratio', dist='cosine':
    rows are L2-normalised, k-NN is searched source->target and target->source
    (``min(k, n)`` neighbours), and candidate (x, y) gets

        score(x, y) = cos(x, y) / ((mean_k-NN-cos(x) + mean_k-NN-cos(y)) / 2)
                    = cos(x, y) / (sum_{z in NN_k(x)} cos(x, z) / 2k + sum_{z in NN_k(y)} cos(y, z) / 2k).

    The search is chunked: at most ``chunk_size`` x ``chunk_size`` similarities exist at once.
    Scores are float64; ties in the k-NN lists go to the lower index.
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"margin_scores: k must be a positive integer; got {k!r}.")
    x, y = _check_pair(x_src, x_tgt, ("x_src", "x_tgt"))
    x, y = _l2_normalize(x), _l2_normalize(y)
    f_sim, f_ind = _knn(x, y, min(k, y.shape[0]), chunk_size)
    b_sim, b_ind = _knn(y, x, min(k, x.shape[0]), chunk_size)
    f_mean = f_sim.astype(np.float64).mean(axis=1)
    b_mean = b_sim.astype(np.float64).mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        fwd_scores = f_sim.astype(np.float64) / ((f_mean[:, None] + b_mean[f_ind]) / 2)
        bwd_scores = b_sim.astype(np.float64) / ((b_mean[:, None] + f_mean[b_ind]) / 2)
    return MarginCandidates(f_ind, fwd_scores, b_ind, bwd_scores, f_mean, b_mean)


def bucc_mine(
    src_emb: np.ndarray,
    tgt_emb: np.ndarray,
    src_ids: Sequence[Hashable],
    tgt_ids: Sequence[Hashable],
    k: int = 4,
    chunk_size: int = 1024,
    *,
    retrieval: str = "max",
) -> list[tuple[Hashable, Hashable, float]]:
    """Mine candidate sentence pairs as XTREME's BUCC pipeline does; returns (src_id, tgt_id, score).

    Follows ``utils_retrieve.mine_bitext(mode='mine', retrieval='max', margin='ratio',
    threshold=0, neighborhood=4)``, the call in XTREME's ``run_retrieval.py``: each source's
    best target (the k-NN candidate with the highest margin score) and each target's best source
    are pooled (forward and backward, i.e. the union of both directions), sorted by decreasing
    score and accepted greedily so that every source and every target is used at most once; a
    pair is kept if its score is > 0.  So it is a greedy 1:1 matching over the union, not the
    plain union.  Output is in that decreasing-score order.

    ``retrieval`` may also be 'fwd', 'bwd' or 'intersect' (as in ``mine_bitext``: no threshold
    and no 1:1 constraint there).  Ties in the 'max' sort are broken stably (forward before
    backward, lower index first; XTREME's ``np.argsort`` leaves that order unspecified).
    XTREME also de-duplicates identical sentence texts before mining and drops sentences
    whose text occurs twice (``read_sent2id``); that is left to the caller.
    """
    x, y = _check_pair(src_emb, tgt_emb)
    src_ids, tgt_ids = list(src_ids), list(tgt_ids)
    if len(src_ids) != x.shape[0]:
        raise ValueError(f"bucc_mine: {len(src_ids)} src_ids for {x.shape[0]} source embeddings.")
    if len(tgt_ids) != y.shape[0]:
        raise ValueError(f"bucc_mine: {len(tgt_ids)} tgt_ids for {y.shape[0]} target embeddings.")
    if retrieval not in ("max", "fwd", "bwd", "intersect"):
        raise ValueError(f"bucc_mine: retrieval must be 'max', 'fwd', 'bwd' or 'intersect'; got {retrieval!r}.")

    m = margin_scores(x, y, k=k, chunk_size=chunk_size)
    n_src, n_tgt = x.shape[0], y.shape[0]
    fwd_pos = m.fwd_scores.argmax(axis=1)
    bwd_pos = m.bwd_scores.argmax(axis=1)
    fwd_best = m.fwd_ind[np.arange(n_src), fwd_pos]
    bwd_best = m.bwd_ind[np.arange(n_tgt), bwd_pos]
    fwd_max = m.fwd_scores.max(axis=1)
    bwd_max = m.bwd_scores.max(axis=1)

    out: list[tuple[Hashable, Hashable, float]] = []
    if retrieval == "fwd":
        out = [(src_ids[i], tgt_ids[j], float(fwd_max[i])) for i, j in enumerate(fwd_best)]
    elif retrieval == "bwd":
        out = [(src_ids[i], tgt_ids[j], float(bwd_max[j])) for j, i in enumerate(bwd_best)]
    elif retrieval == "intersect":
        out = [
            (src_ids[i], tgt_ids[j], float(fwd_max[i])) for i, j in enumerate(fwd_best) if bwd_best[j] == i
        ]
    else:
        src_idx = np.concatenate([np.arange(n_src), bwd_best])
        tgt_idx = np.concatenate([fwd_best, np.arange(n_tgt)])
        scores = np.concatenate([fwd_max, bwd_max])
        seen_src: set = set()
        seen_tgt: set = set()
        threshold = 0.0
        for pos in np.argsort(-scores, kind="stable"):
            s, t = int(src_idx[pos]), int(tgt_idx[pos])
            if s not in seen_src and t not in seen_tgt:
                seen_src.add(s)
                seen_tgt.add(t)
                if scores[pos] > threshold:
                    out.append((src_ids[s], tgt_ids[t], float(scores[pos])))
    return out


def _candidate2score(candidates: Iterable) -> dict:
    # read_candidate2score: a pair seen twice keeps its highest score (first-seen order).
    c2s: dict = {}
    for cand in candidates:
        try:
            src, tgt, score = cand
        except (TypeError, ValueError):
            raise ValueError(f"BUCC candidates must be (src_id, tgt_id, score) triples; got {cand!r}.") from None
        score = float(score)
        key = (src, tgt)
        c2s[key] = max(score, c2s.get(key, score))
    return c2s


def _check_gold(gold_pairs, who: str) -> set:
    gold = {tuple(p) for p in gold_pairs}
    if not gold:
        raise ValueError(f"{who}: gold_pairs is empty; recall (and F1) is undefined.")
    return gold


def bucc_f1(candidates, gold_pairs: set, threshold: float) -> dict:
    """BUCC precision / recall / F1 of the candidates scoring >= threshold (fractions).

    Follows XTREME ``utils_retrieve.bucc_extract`` + ``bucc_eval`` (and ``evaluate.py::bucc_f1``):
    predicted = candidate pairs with score >= threshold (a duplicated pair keeps its max score),
    precision = correct / #predicted, recall = correct / #gold, all 0 if nothing is correct.
    """
    gold = _check_gold(gold_pairs, "bucc_f1")
    c2s = _candidate2score(candidates)
    predicted = [pair for pair, score in c2s.items() if score >= threshold]
    ncorrect = len(gold.intersection(predicted))
    if ncorrect > 0:
        precision = ncorrect / len(predicted)
        recall = ncorrect / len(gold)
        f1 = 2 * precision * recall / (precision + recall)
    else:
        precision = recall = f1 = 0.0
    return {"f1": float(f1), "precision": float(precision), "recall": float(recall)}


def bucc_best_threshold(candidates, gold_pairs: set) -> float:
    """Score threshold maximising F1 on (dev) gold pairs, as XTREME's ``bucc_optimize``.

    Candidates are sorted by decreasing score (stable); walking down the list, whenever F1 of
    the top-i candidates strictly improves, the threshold becomes the midpoint between the
    i-th and (i+1)-th score.  Returns 0 if no candidate is correct.  Decision: where the best
    F1 is reached at the last candidate (the official code then indexes past the end and
    crashes), the threshold is that last score, so every candidate is kept by ``>=``.
    Reuse the returned threshold on the test set with :func:`bucc_f1`.
    """
    gold = _check_gold(gold_pairs, "bucc_best_threshold")
    items = sorted(_candidate2score(candidates).items(), key=lambda kv: -kv[1])
    ngold = len(gold)
    nextract = ncorrect = 0
    threshold = 0.0
    best_f1 = 0.0
    for i, (pair, score) in enumerate(items):
        nextract += 1
        if pair in gold:
            ncorrect += 1
        if ncorrect > 0:
            precision = ncorrect / nextract
            recall = ncorrect / ngold
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best_f1:
                best_f1 = f1
                threshold = (score + items[i + 1][1]) / 2 if i + 1 < len(items) else score
    return float(threshold)


# --------------------------------------------------------------------------------------------
# XTREME aggregate scores
# --------------------------------------------------------------------------------------------

_QA_TASKS = frozenset({"xquad", "mlqa", "tydiqa"})
_ACCURACY_TASKS = frozenset({"xnli", "pawsx", "tatoeba"})
_F1_TASKS = frozenset({"udpos", "panx", "bucc", "bucc2018"})


def _task_metric(task: str, metrics: dict) -> float:
    def get(name):
        if name not in metrics:
            raise ValueError(f"xtreme_score: task {task!r} needs the metric {name!r}; got {sorted(metrics)}.")
        return float(metrics[name])

    if task in _QA_TASKS or (task not in _ACCURACY_TASKS | _F1_TASKS and {"exact_match", "f1"} <= set(metrics)):
        return (get("exact_match") + get("f1")) / 2
    if task in _ACCURACY_TASKS:
        return get("accuracy")
    if task in _F1_TASKS or "f1" in metrics:
        return get("f1")
    if "accuracy" in metrics:
        return get("accuracy")
    raise ValueError(
        f"xtreme_score: task {task!r} reports none of exact_match+f1, f1, accuracy; got {sorted(metrics)}."
    )


def xtreme_score(task_scores: dict[str, dict[str, float]]) -> float:
    """Plain mean over the given tasks of each task's main metric, as XTREME ``evaluate.py``.

    ``task_scores`` maps task -> {metric: value already averaged over languages}.  QA tasks
    (xquad, mlqa, tydiqa, or any other task reporting both ``exact_match`` and ``f1``) count
    (EM + F1) / 2; xnli/pawsx/tatoeba count ``accuracy``; udpos/panx/bucc(2018) count ``f1``;
    other tasks ``f1`` if present, else ``accuracy`` (evaluate.py's order).  All values must
    be on the same scale (XTREME reports 0-100).
    """
    if not task_scores:
        raise ValueError("xtreme_score: no tasks given; the score is undefined.")
    values = [_task_metric(task, dict(metrics)) for task, metrics in task_scores.items()]
    return float(sum(values) / len(values))


def mean_over_languages(per_lang: dict[str, float]) -> float:
    """Unweighted mean over every language given, English included (XTREME ``evaluate.py``)."""
    if not per_lang:
        raise ValueError("mean_over_languages: no languages given; the mean is undefined.")
    return float(sum(float(v) for v in per_lang.values()) / len(per_lang))


# --------------------------------------------------------------------------------------------
# Confidence intervals
# --------------------------------------------------------------------------------------------


def bootstrap_ci(
    per_example_scores: np.ndarray, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean (Efron & Tibshirani 1993, ch. 13).

    Draws ``n_resamples`` resamples of size n with replacement (``numpy.random.default_rng(seed)``),
    takes their means and returns the (1-confidence)/2 and (1+confidence)/2 percentiles
    (``np.percentile``, linear interpolation).  Resamples are drawn in batches of bounded
    memory; the result depends only on (scores, n_resamples, confidence, seed).
    """
    scores = np.asarray(per_example_scores, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"bootstrap_ci: per_example_scores must be 1-D; got shape {scores.shape}.")
    n = scores.shape[0]
    if n == 0:
        raise ValueError("bootstrap_ci: per_example_scores is empty.")
    if not np.all(np.isfinite(scores)):
        raise ValueError("bootstrap_ci: per_example_scores contains NaN or infinite values.")
    if not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"bootstrap_ci: n_resamples must be a positive integer; got {n_resamples!r}.")
    if not 0 < confidence < 1:
        raise ValueError(f"bootstrap_ci: confidence must be in (0, 1); got {confidence!r}.")
    rng = np.random.default_rng(seed)
    batch = max(1, (1 << 22) // n)
    means = np.empty(n_resamples, dtype=np.float64)
    for b0 in range(0, n_resamples, batch):
        b = min(batch, n_resamples - b0)
        idx = rng.integers(0, n, size=(b, n))
        means[b0 : b0 + b] = scores[idx].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.percentile(means, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)
