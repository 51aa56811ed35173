"""Tests of xstilts.scoring.metrics on hand-made cases (expected values worked out in the comments)."""

from __future__ import annotations

import random
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

try:
    from xstilts.scoring import metrics as M
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from xstilts.scoring import metrics as M


# ---------------------------------------------------------------------------------------------
# accuracy / token accuracy
# ---------------------------------------------------------------------------------------------


def test_accuracy_basic():
    # 3 of 4 equal -> 3/4 = 0.75
    assert M.accuracy(["a", "b", "c", "d"], ["a", "b", "c", "x"]) == pytest.approx(0.75)
    # integer labels, 1 of 3 -> 1/3
    assert M.accuracy([0, 1, 2], [0, 2, 1]) == pytest.approx(1 / 3)


def test_accuracy_errors():
    with pytest.raises(ValueError, match="empty"):
        M.accuracy([], [])
    with pytest.raises(ValueError, match="3 predictions but 2 references"):
        M.accuracy([1, 2, 3], [1, 2])


def test_token_accuracy_micro():
    gold = [["A", "B", "C"], ["D"]]
    pred = [["A", "X", "C"], ["X"]]
    # micro: (2 + 0) correct / (3 + 1) tokens = 0.5 (macro over sentences would be (2/3+0)/2)
    assert M.token_accuracy(pred, gold) == pytest.approx(0.5)


def test_token_accuracy_length_mismatch_names_sentence():
    with pytest.raises(ValueError, match=r"sentence 1 has 1 predicted tags but 2 gold tags"):
        M.token_accuracy([["A"], ["B"]], [["A"], ["B", "C"]])
    with pytest.raises(ValueError, match="2 predicted sentences but 1 gold"):
        M.token_accuracy([["A"], ["B"]], [["A"]])


# ---------------------------------------------------------------------------------------------
# seqeval span F1
# ---------------------------------------------------------------------------------------------


def test_span_f1_iob2_wrong_boundary():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "I-ORG"]]
    pred = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "O"]]
    # flattened with an 'O' after each sentence: sentence 2 starts at offset 5.
    # gold spans PER(0,1) LOC(3,3) ORG(6,8); pred PER(0,1) LOC(3,3) ORG(6,7)  -> tp = 2
    # P = 2/3, R = 2/3, F1 = 2/3
    out = M.span_f1(pred, gold)
    assert out["precision"] == pytest.approx(2 / 3)
    assert out["recall"] == pytest.approx(2 / 3)
    assert out["f1"] == pytest.approx(2 / 3)


def test_span_f1_extra_span_precision_differs_from_recall():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "I-ORG"]]
    pred = [["B-PER", "I-PER", "O", "B-LOC"], ["B-MISC", "B-ORG", "I-ORG", "O"]]
    # pred spans PER(0,1) LOC(3,3) MISC(5,5) ORG(6,7): tp = 2, #pred = 4, #gold = 3
    # P = 2/4 = 0.5, R = 2/3, F1 = 2 * (1/2 * 2/3) / (1/2 + 2/3) = (2/3) / (7/6) = 4/7
    out = M.span_f1(pred, gold)
    assert out == pytest.approx({"precision": 0.5, "recall": 2 / 3, "f1": 4 / 7})


def test_span_f1_iob1():
    gold = [["I-PER", "I-PER", "O", "I-LOC", "I-LOC"]]
    pred = [["I-PER", "B-PER", "O", "I-LOC", "I-LOC"]]
    # IOB1: I after O opens a span.  gold PER(0,1) LOC(3,4); pred PER(0,0) PER(1,1) LOC(3,4)
    # tp = 1 (LOC); P = 1/3, R = 1/2, F1 = 2 * (1/6) / (5/6) = 0.4
    out = M.span_f1(pred, gold)
    assert out == pytest.approx({"precision": 1 / 3, "recall": 0.5, "f1": 0.4})


def test_span_f1_plain_pos_tags_runs_are_merged():
    gold = [["NOUN", "NOUN", "VERB"]]
    pred = [["NOUN", "VERB", "VERB"]]
    # seqeval reads NOUN as prefix 'N' + type 'OUN', so runs merge:
    # gold (OUN,0,1) (ERB,2,2); pred (OUN,0,0) (ERB,1,2) -> tp = 0 -> P = R = F1 = 0
    assert M.span_f1(pred, gold) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    # while token accuracy is 2/3
    assert M.token_accuracy(pred, gold) == pytest.approx(2 / 3)


def test_span_f1_plain_tags_s_prefix_not_merged():
    gold = [["SCONJ", "SCONJ", "ADJ", "ADV"]]
    pred = [["SCONJ", "SCONJ", "ADJ", "ADJ"]]
    # SCONJ = prefix 'S' (singleton): gold (CONJ,0,0) (CONJ,1,1) (DJ,2,2) (DV,3,3)
    # pred (CONJ,0,0) (CONJ,1,1) (DJ,2,3)  -> tp = 2, #pred = 3, #gold = 4
    # P = 2/3, R = 1/2, F1 = 2 * (1/3) / (7/6) = 4/7
    out = M.span_f1(pred, gold)
    assert out == pytest.approx({"precision": 2 / 3, "recall": 0.5, "f1": 4 / 7})


def test_span_f1_plain_tag_x_quirk():
    gold = [["NOUN", "X"], ["X", "NOUN"]]
    pred = [["NOUN", "X"], ["NOUN", "NOUN"]]
    # flattened: NOUN X O | X NOUN O ; X has type '_' like O, so the X span runs over the
    # separator: gold (OUN,0,0) (_,1,3) (OUN,4,4).
    # pred NOUN X O NOUN NOUN O: the X span is never closed -> (OUN,0,0) (OUN,3,4)
    # tp = 1; P = 1/2, R = 1/3, F1 = 2 * (1/6) / (5/6) = 0.4
    assert M.get_entities(gold) == [("OUN", 0, 0), ("_", 1, 3), ("OUN", 4, 4)]
    assert M.get_entities(pred) == [("OUN", 0, 0), ("OUN", 3, 4)]
    assert M.span_f1(pred, gold) == pytest.approx({"precision": 0.5, "recall": 1 / 3, "f1": 0.4})
    # CCONJ and SCONJ share the type 'CONJ': the CCONJ span is dropped
    assert M.get_entities(["CCONJ", "SCONJ", "NOUN"]) == [("CONJ", 1, 1), ("OUN", 2, 2)]


def test_span_f1_no_entities_is_zero_and_errors():
    assert M.span_f1([["O", "O"]], [["O", "O"]]) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    with pytest.raises(ValueError, match="sentence 0 has 1 predicted tags but 2 gold tags"):
        M.span_f1([["O"]], [["O", "B-PER"]])
    with pytest.raises(ValueError, match="empty"):
        M.span_f1([], [])
    with pytest.raises(ValueError, match="list of sentences"):
        M.span_f1(["B-PER", "O"], ["B-PER", "O"])  # a flat tag list, not a list of sentences


def _seqeval_prf(gold, pred):
    seqeval_metrics = pytest.importorskip("seqeval.metrics")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (
            seqeval_metrics.precision_score(gold, pred),
            seqeval_metrics.recall_score(gold, pred),
            seqeval_metrics.f1_score(gold, pred),
        )


def test_span_f1_hand_cases_agree_with_seqeval():
    cases = [
        ([["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "I-ORG"]],
         [["B-PER", "I-PER", "O", "B-LOC"], ["B-MISC", "B-ORG", "I-ORG", "O"]]),
        ([["I-PER", "I-PER", "O", "I-LOC", "I-LOC"]], [["I-PER", "B-PER", "O", "I-LOC", "I-LOC"]]),
        ([["NOUN", "NOUN", "VERB"]], [["NOUN", "VERB", "VERB"]]),
        ([["SCONJ", "SCONJ", "ADJ", "ADV"]], [["SCONJ", "SCONJ", "ADJ", "ADJ"]]),
        ([["NOUN", "X"], ["X", "NOUN"]], [["NOUN", "X"], ["NOUN", "NOUN"]]),
    ]  # fmt: skip
    for gold, pred in cases:
        p, r, f = _seqeval_prf(gold, pred)
        out = M.span_f1(pred, gold)
        assert (out["precision"], out["recall"], out["f1"]) == (p, r, f)


def test_span_f1_random_cross_check_with_seqeval():
    pytest.importorskip("seqeval")
    vocab = [
        "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "E-PER", "S-LOC", "B-ORG", "I-ORG",
        "NOUN", "VERB", "X", "SCONJ", "CCONJ", "INTJ", "ADJ", "ADV", "PUNCT", "SYM", "B", "I", "-", ".",
    ]  # fmt: skip
    rng = random.Random(1234)
    for _ in range(300):
        n_sent = rng.randint(1, 4)
        lengths = [rng.randint(0, 6) for _ in range(n_sent)]
        sub = rng.sample(vocab, rng.randint(2, 6))  # small alphabets make matches likely
        gold = [[rng.choice(sub) for _ in range(n)] for n in lengths]
        pred = [[g if rng.random() < 0.6 else rng.choice(sub) for g in s] for s in gold]
        p, r, f = _seqeval_prf(gold, pred)
        out = M.span_f1(pred, gold)
        assert out["precision"] == p and out["recall"] == r and out["f1"] == f, (gold, pred)


# ---------------------------------------------------------------------------------------------
# SQuAD v1.1 / v2.0
# ---------------------------------------------------------------------------------------------


def test_squad_normalize_answer():
    # lower -> drop ASCII punctuation -> drop a/an/the -> collapse whitespace
    assert M.normalize_answer("The  Quick, brown fox!") == "quick brown fox"
    assert M.normalize_answer("U.S. army") == "us army"
    # only whole words: 'Banana', 'and', 'anthem' survive
    assert M.normalize_answer("Banana and the anthem") == "banana and anthem"
    # non-ASCII punctuation is kept by SQuAD's normalisation
    assert M.normalize_answer("«hola»") == "«hola»"


def test_squad_f1_articles_and_punctuation():
    # pred 'the cat sat' -> [cat, sat]; gold 'A cat sat on the mat.' -> [cat, sat, on, mat]
    # common 2: P = 2/2 = 1, R = 2/4 = 0.5, F1 = 2 * 0.5 / 1.5 = 2/3
    assert M.squad_f1("the cat sat", ["A cat sat on the mat."]) == pytest.approx(2 / 3)
    # max over golds: 'sat down' gives P = R = 1/2, F1 = 0.5 < 2/3
    assert M.squad_f1("the cat sat", ["sat down", "A cat sat on the mat."]) == pytest.approx(2 / 3)
    # no common token -> 0
    assert M.squad_f1("dog", ["cat"]) == 0.0
    # v1.1: both empty after normalisation -> num_same = 0 -> 0
    assert M.squad_f1("the", ["a"]) == 0.0


def test_squad_exact_match():
    assert M.squad_exact_match("The cat!", ["dog", "cat"]) == 1.0  # 'cat' == 'cat'
    assert M.squad_exact_match("cats", ["cat"]) == 0.0
    with pytest.raises(ValueError, match="squad_v2_scores"):
        M.squad_exact_match("x", [])
    with pytest.raises(TypeError, match="list of strings"):
        M.squad_f1("x", "x")


def test_squad_scores_percentages():
    refs = {"q1": ["Denver Broncos"], "q2": ["Carolina Panthers", "Panthers"], "q3": ["Santa Clara"]}
    preds = {"q1": "the Denver Broncos", "q2": "Panthers team", "zz": "ignored"}  # q3 missing
    # q1: EM 1, F1 1
    # q2: EM 0; F1 vs 'carolina panthers': P = R = 1/2 -> 0.5; vs 'panthers': P = 1/2, R = 1 -> 2/3
    # q3: missing -> 0
    # EM = 100 * 1/3 = 33.33..., F1 = 100 * (1 + 2/3) / 3 = 100 * 5/9 = 55.55...
    out = M.squad_scores(preds, refs)
    assert out["exact_match"] == pytest.approx(100 / 3)
    assert out["f1"] == pytest.approx(500 / 9)


def test_squad_v2_scores_no_answer():
    refs = {"a": ["Paris"], "b": [], "c": [], "d": ["the"], "e": ["big red dog"]}
    preds = {"a": "paris", "b": "", "c": "London", "d": "", "e": "red dog"}
    # a: EM 1, F1 1
    # b: no answer, empty prediction -> EM 1, F1 1
    # c: no answer, 'London' -> EM 0, F1 0
    # d: gold 'the' normalises to '' -> only gold is '' -> empty pred: EM 1, F1 1 (HasAns: answers non-empty)
    # e: [red, dog] vs [big, red, dog]: P = 1, R = 2/3, F1 = 2*(2/3)/(5/3) = 0.8; EM 0
    # all: EM = 3/5 = 60 %, F1 = (1+1+0+1+0.8)/5 = 3.8/5 = 76 %
    # HasAns {a, d, e}: EM = 2/3 -> 66.67 %, F1 = 2.8/3 -> 93.33 %
    # NoAns {b, c}: EM = F1 = 1/2 -> 50 %
    out = M.squad_v2_scores(preds, refs)
    assert out["exact_match"] == pytest.approx(60.0)
    assert out["f1"] == pytest.approx(76.0)
    assert out["total"] == 5
    assert out["HasAns_exact_match"] == pytest.approx(200 / 3)
    assert out["HasAns_f1"] == pytest.approx(280 / 3)
    assert out["HasAns_total"] == 3
    assert out["NoAns_exact_match"] == pytest.approx(50.0)
    assert out["NoAns_f1"] == pytest.approx(50.0)
    assert out["NoAns_total"] == 2


def test_squad_v2_empty_prediction_on_answerable_and_missing():
    # empty prediction vs 'Paris' -> EM 0, F1 0; missing 'b' -> 0, counted in total (2 questions)
    out = M.squad_v2_scores({"a": ""}, {"a": ["Paris"], "b": ["Rome"]})
    assert out == {"exact_match": 0.0, "f1": 0.0, "total": 2,
                   "HasAns_exact_match": 0.0, "HasAns_f1": 0.0, "HasAns_total": 2}  # fmt: skip
    assert "NoAns_f1" not in out


# ---------------------------------------------------------------------------------------------
# MLQA
# ---------------------------------------------------------------------------------------------


def test_mlqa_zh_character_tokenisation():
    # '。' is Unicode punctuation (Po) and removed; every CJK character becomes a token
    assert M.mlqa_normalize_answer("北京是中国的首都。", "zh") == "北 京 是 中 国 的 首 都"
    # non-CJK runs stay together
    assert M.mlqa_normalize_answer("2008年北京奥运会", "zh") == "2008 年 北 京 奥 运 会"
    # pred [北 京 奥 运 会] (5) vs gold [2008 年 北 京 奥 运 会] (7): common 5
    # P = 1, R = 5/7, F1 = 2*(5/7)/(12/7) = 10/12 = 5/6 -> 83.33 %
    out = M.mlqa_scores({"q": "北京奥运会"}, {"q": ["2008年北京奥运会"]}, "zh")
    assert out["exact_match"] == 0.0
    assert out["f1"] == pytest.approx(500 / 6)
    # with whitespace tokenisation each string is a single token -> F1 0
    assert M.mlqa_scores({"q": "北京奥运会"}, {"q": ["2008年北京奥运会"]}, "en")["f1"] == 0.0


def test_mlqa_de_articles():
    assert M.mlqa_normalize_answer("Die Katze des Nachbarn", "de") == "katze nachbarn"
    assert M.mlqa_normalize_answer("dieser Hund", "de") == "dieser hund"  # whole words only
    # 'Der Hund' and 'den Hund' both normalise to 'hund' -> EM 1
    assert M.mlqa_scores({"q": "Der Hund"}, {"q": ["den Hund"]}, "de") == {"exact_match": 100.0, "f1": 100.0}
    # q1: [hund] vs [großer, hund]: P = 1, R = 1/2, F1 = 2/3; q2 missing -> 0
    # EM = 0, F1 = 100 * (2/3) / 2 = 33.33 %
    out = M.mlqa_scores({"q1": "der Hund"}, {"q1": ["ein großer Hund"], "q2": ["Berlin"]}, "de")
    assert out["exact_match"] == 0.0
    assert out["f1"] == pytest.approx(100 / 3)


def test_mlqa_other_languages():
    assert M.mlqa_normalize_answer("El perro de la casa", "es") == "perro de casa"
    assert M.mlqa_normalize_answer("«hola»", "es") == "hola"  # « » are Unicode punctuation (Pi/Pf)
    assert M.mlqa_normalize_answer("cái bàn của tôi", "vi") == "bàn tôi"
    assert M.mlqa_normalize_answer("the दिल्ली", "hi") == "the दिल्ली"  # no articles for hi
    assert M.mlqa_normalize_answer("الكتاب", "ar") == "كتاب"
    # the script's Arabic regex removes every 'ال', also inside a word: س|ال|م -> 'س م'
    assert M.mlqa_normalize_answer("سالم", "ar") == "س م"
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        M.mlqa_normalize_answer("le chat", "fr")


# ---------------------------------------------------------------------------------------------
# Nearest neighbours / Tatoeba
# ---------------------------------------------------------------------------------------------


def test_retrieval_accuracy_cosine_by_hand():
    src = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    tgt = np.array([[2.0, 0.0], [0.1, 1.0], [1.0, 0.05]])
    # src0 (1,0): cos tgt0 = 1, tgt1 = 0.1/1.005 = 0.0995, tgt2 = 1/1.00125 = 0.99875 -> 0 (right)
    # src1 (0,1): cos tgt0 = 0, tgt1 = 1/1.005 = 0.995, tgt2 = 0.05/1.00125 = 0.0499 -> 1 (right)
    # src2 (1,1)/sqrt2: tgt0 = 0.7071, tgt1 = 1.1/(1.4142*1.00499) = 0.7739,
    #                   tgt2 = 1.05/(1.4142*1.00125) = 0.7415 -> 1 (wrong; dot product would pick tgt0)
    assert M.nearest_neighbours(src, tgt).tolist() == [0, 1, 1]
    assert M.retrieval_accuracy(src, tgt) == pytest.approx(2 / 3)
    assert M.retrieval_accuracy(src, tgt, chunk_size=1) == pytest.approx(2 / 3)


def test_nearest_neighbours_ties_and_errors():
    # two identical targets: the lower index wins, whatever the chunking
    src = np.array([[1.0, 0.0]])
    tgt = np.array([[0.0, 1.0], [3.0, 0.0], [1.0, 0.0]])
    assert M.nearest_neighbours(src, tgt).tolist() == [1]
    assert M.nearest_neighbours(src, tgt, chunk_size=1).tolist() == [1]
    with pytest.raises(ValueError, match="src_emb has 1 rows but tgt_emb has 3"):
        M.retrieval_accuracy(src, tgt)
    with pytest.raises(ValueError, match="dimension 2 but tgt_emb has 3"):
        M.nearest_neighbours(src, np.ones((2, 3)))


def test_chunked_knn_equals_full_matrix():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(23, 6))
    y = rng.normal(size=(17, 6))
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    yn = y / np.linalg.norm(y, axis=1, keepdims=True)
    full = xn @ yn.T  # reference: the whole similarity matrix
    ref_ind = np.argsort(-full, axis=1, kind="stable")[:, :4]
    for chunk in (1, 4, 5, 1000):
        sims, ind = M._knn(xn, yn, 4, chunk)
        assert ind.tolist() == ref_ind.tolist()
        np.testing.assert_allclose(sims, np.take_along_axis(full, ref_ind, axis=1), rtol=1e-12)
        assert M.nearest_neighbours(x, y, chunk_size=chunk).tolist() == full.argmax(axis=1).tolist()

    a = M.margin_scores(x, y, k=4, chunk_size=3)
    b = M.margin_scores(x, y, k=4, chunk_size=1024)
    assert a.fwd_ind.tolist() == b.fwd_ind.tolist() and a.bwd_ind.tolist() == b.bwd_ind.tolist()
    np.testing.assert_allclose(a.fwd_scores, b.fwd_scores, rtol=1e-12)
    np.testing.assert_allclose(a.bwd_scores, b.bwd_scores, rtol=1e-12)
    ids_s, ids_t = list(range(23)), list(range(17))
    mined_a = M.bucc_mine(x, y, ids_s, ids_t, k=4, chunk_size=3)
    mined_b = M.bucc_mine(x, y, ids_s, ids_t, k=4, chunk_size=1024)
    assert [(s, t) for s, t, _ in mined_a] == [(s, t) for s, t, _ in mined_b]

    # margin scores against a brute-force implementation of the formula on the full matrix
    k = 4
    fwd_mean = np.sort(full, axis=1)[:, -k:].mean(axis=1)
    bwd_mean = np.sort(full, axis=0)[-k:, :].mean(axis=0)
    margin = full / ((fwd_mean[:, None] + bwd_mean[None, :]) / 2)
    np.testing.assert_allclose(a.fwd_scores, np.take_along_axis(margin, a.fwd_ind, axis=1), rtol=1e-12)
    np.testing.assert_allclose(a.bwd_scores, np.take_along_axis(margin.T, a.bwd_ind, axis=1), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# BUCC mining and thresholds
# ---------------------------------------------------------------------------------------------

# Sources S0=(1,0) S1=(0,1) S2=(.6,.8); targets T0=(1,0) T1=(-.6,.8) T2=(.8,-.6); k = 2.
# cos:      T0    T1     T2
#   S0      1    -.6     .8
#   S1      0     .8    -.6
#   S2     .6     .28    0        (.6*-.6 + .8*.8 = .28;  .6*.8 - .8*.6 = 0)
# 2-NN means: fwd S0 (1+.8)/2 = .9, S1 (.8+0)/2 = .4, S2 (.6+.28)/2 = .44
#             bwd T0 (1+.6)/2 = .8, T1 (.8+.28)/2 = .54, T2 (.8+0)/2 = .4
# forward margins:  S0-T0 1/((.9+.8)/2) = 1/.85 = 1.17647   S0-T2 .8/((.9+.4)/2) = .8/.65 = 1.23077
#   -> S0's best is T2, not its cosine-nearest T0 (T0 is a hub)
#                   S1-T1 .8/((.4+.54)/2) = .8/.47 = 1.70213  S1-T0 0
#                   S2-T0 .6/((.44+.8)/2) = .6/.62 = 0.96774  S2-T1 .28/((.44+.54)/2) = .28/.49 = .57143
# backward margins: T0: S0 1/.85, S2 .6/.62 -> S0;  T1: S1 .8/.47, S2 .28/.49 -> S1;  T2: S0 .8/.65, S2 0 -> S0
# 'max': pooled scores sorted: (S1,T1) 1.70213 x2, (S0,T2) 1.23077 x2, (S0,T0) 1.17647, (S2,T0) .96774
#   greedy 1:1: keep (S1,T1), keep (S0,T2), skip (S0,T0) (S0 used), keep (S2,T0)
_S = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
_T = np.array([[1.0, 0.0], [-0.6, 0.8], [0.8, -0.6]])


def test_margin_scores_by_hand():
    m = M.margin_scores(_S, _T, k=2)
    assert m.fwd_ind.tolist() == [[0, 2], [1, 0], [0, 1]]
    assert m.bwd_ind.tolist() == [[0, 2], [1, 2], [0, 2]]
    np.testing.assert_allclose(m.fwd_mean, [0.9, 0.4, 0.44])
    np.testing.assert_allclose(m.bwd_mean, [0.8, 0.54, 0.4])
    # zero cosines come out as ~1e-17 in floating point, hence the atol
    np.testing.assert_allclose(
        m.fwd_scores, [[1 / 0.85, 0.8 / 0.65], [0.8 / 0.47, 0.0], [0.6 / 0.62, 0.28 / 0.49]], atol=1e-12
    )
    # backward: T2's 2-NN are S0 (.8) and S2 (0; S1 is -.6)
    np.testing.assert_allclose(
        m.bwd_scores, [[1 / 0.85, 0.6 / 0.62], [0.8 / 0.47, 0.28 / 0.49], [0.8 / 0.65, 0.0]], atol=1e-12
    )


def test_bucc_mine_max_by_hand():
    mined = M.bucc_mine(_S, _T, ["s0", "s1", "s2"], ["t0", "t1", "t2"], k=2)
    assert [(s, t) for s, t, _ in mined] == [("s1", "t1"), ("s0", "t2"), ("s2", "t0")]
    assert [score for _, _, score in mined] == pytest.approx([0.8 / 0.47, 0.8 / 0.65, 0.6 / 0.62])
    # intersect: fwd S0->T2, S1->T1, S2->T0; bwd T0->S0, T1->S1, T2->S0 -> mutual: (S0,T2), (S1,T1)
    inter = M.bucc_mine(_S, _T, ["s0", "s1", "s2"], ["t0", "t1", "t2"], k=2, retrieval="intersect")
    assert [(s, t) for s, t, _ in inter] == [("s0", "t2"), ("s1", "t1")]


def test_bucc_mine_greedy_one_to_one():
    # two sources, one target, k=2 -> forward uses min(2, 1) = 1 neighbour, backward 2
    # cos: a-x = 1, b-x = .8; fwd means a 1, b .8; bwd mean x (1 + .8)/2 = .9
    # a-x: 1/((1+.9)/2) = 1/.95 = 1.05263;  b-x: .8/((.8+.9)/2) = .8/.85 = 0.94118
    # 'max' keeps (a,x) and drops (b,x) because x is already used; 'fwd' keeps both
    src = np.array([[1.0, 0.0], [0.8, 0.6]])
    tgt = np.array([[1.0, 0.0]])
    mined = M.bucc_mine(src, tgt, ["a", "b"], ["x"], k=2)
    assert [(s, t) for s, t, _ in mined] == [("a", "x")]
    assert mined[0][2] == pytest.approx(1 / 0.95)
    fwd = M.bucc_mine(src, tgt, ["a", "b"], ["x"], k=2, retrieval="fwd")
    assert [(s, t, pytest.approx(v)) for s, t, v in fwd] == [("a", "x", 1 / 0.95), ("b", "x", 0.8 / 0.85)]
    with pytest.raises(ValueError, match="1 src_ids for 2 source embeddings"):
        M.bucc_mine(src, tgt, ["a"], ["x"])


def test_bucc_threshold_and_f1():
    cands = [("a", "x", 0.9), ("b", "y", 0.8), ("c", "z", 0.7), ("d", "w", 0.6)]
    gold = {("a", "x"), ("c", "z"), ("e", "v")}
    # walk down: 1) a-x correct: P 1, R 1/3, F1 = 2*(1/3)/(4/3) = .5 -> th = (.9+.8)/2 = .85
    #            2) b-y wrong:   P 1/2, R 1/3, F1 = .4
    #            3) c-z correct: P 2/3, R 2/3, F1 = 2/3 -> th = (.7+.6)/2 = .65
    #            4) d-w wrong:   P 1/2, R 2/3, F1 = 4/7 < 2/3
    th = M.bucc_best_threshold(cands, gold)
    assert th == pytest.approx(0.65)
    # at .65 the predictions are a-x, b-y, c-z: 2 correct of 3, 2 of 3 gold -> P = R = F1 = 2/3
    assert M.bucc_f1(cands, gold, th) == pytest.approx({"f1": 2 / 3, "precision": 2 / 3, "recall": 2 / 3})
    # threshold reused on another ("test") list: >= .65 keeps p-q (.7) only, wrong -> all 0
    assert M.bucc_f1([("p", "q", 0.7), ("a", "x", 0.6)], gold, th) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_bucc_threshold_edge_cases():
    # best F1 at the last candidate: threshold = last score (the official code would index past the end)
    cands = [("a", "x", 0.9), ("b", "y", 0.5)]
    gold = {("a", "x"), ("b", "y")}
    # 1) P 1, R 1/2, F1 2/3 -> th .7;  2) P 1, R 1, F1 1 -> th = .5
    assert M.bucc_best_threshold(cands, gold) == pytest.approx(0.5)
    assert M.bucc_f1(cands, gold, 0.5)["f1"] == pytest.approx(1.0)
    # nothing correct -> threshold 0
    assert M.bucc_best_threshold([("a", "y", 0.9)], gold) == 0.0
    # a duplicated pair keeps its max score (.7 >= .6 -> predicted, correct): P = 1, R = 1/2, F1 = 2/3
    dup = [("a", "x", 0.3), ("a", "x", 0.7)]
    assert M.bucc_f1(dup, gold, 0.6) == pytest.approx({"f1": 2 / 3, "precision": 1.0, "recall": 0.5})
    with pytest.raises(ValueError, match="gold_pairs is empty"):
        M.bucc_f1(dup, set(), 0.5)


# ---------------------------------------------------------------------------------------------
# XTREME aggregates, bootstrap
# ---------------------------------------------------------------------------------------------


def test_xtreme_score_arithmetic():
    scores = {
        "xnli": {"accuracy": 80.0},
        "udpos": {"f1": 70.0, "accuracy": 90.0},  # f1 counts, not accuracy
        "mlqa": {"exact_match": 50.0, "f1": 70.0},  # (50 + 70) / 2 = 60
        "bucc": {"f1": 60.0, "precision": 65.0, "recall": 55.0},
        "tatoeba": {"accuracy": 40.0},
    }
    # (80 + 70 + 60 + 60 + 40) / 5 = 310 / 5 = 62
    assert M.xtreme_score(scores) == pytest.approx(62.0)
    # an unknown task reporting EM and F1 counts as QA: (20 + 30) / 2 = 25
    assert M.xtreme_score({"myqa": {"exact_match": 20.0, "f1": 30.0}}) == pytest.approx(25.0)
    with pytest.raises(ValueError, match="task 'xnli' needs the metric 'accuracy'"):
        M.xtreme_score({"xnli": {"f1": 1.0}})
    with pytest.raises(ValueError, match="no tasks"):
        M.xtreme_score({})


def test_mean_over_languages():
    # English included: (90 + 80 + 70) / 3 = 80
    assert M.mean_over_languages({"en": 90.0, "de": 80.0, "fr": 70.0}) == pytest.approx(80.0)
    with pytest.raises(ValueError, match="no languages"):
        M.mean_over_languages({})


def test_bootstrap_ci():
    # a constant sample: every resample mean is 0.7 -> (0.7, 0.7)
    assert M.bootstrap_ci(np.full(10, 0.7)) == pytest.approx((0.7, 0.7))
    # [0, 1]: resample means are 0, .5, 1 with prob 1/4, 1/2, 1/4; the 30th and 70th
    # percentiles (confidence .4) fall inside the .5 mass
    assert M.bootstrap_ci(np.array([0.0, 1.0]), n_resamples=2000, confidence=0.4) == (0.5, 0.5)
    # 50 zeros and 50 ones: mean .5, s.e. = sqrt(.25/100) = .05 -> 95 % CI about .5 -+ 1.96*.05
    x = np.array([0.0, 1.0] * 50)
    low, high = M.bootstrap_ci(x, n_resamples=2000, seed=3)
    assert low == pytest.approx(0.402, abs=0.025) and high == pytest.approx(0.598, abs=0.025)
    assert M.bootstrap_ci(x, seed=3) == M.bootstrap_ci(x, seed=3)  # deterministic given the seed
    with pytest.raises(ValueError, match="empty"):
        M.bootstrap_ci(np.array([]))
    with pytest.raises(ValueError, match="confidence"):
        M.bootstrap_ci(x, confidence=1.5)


def test_module_does_not_import_torch():
    import ast

    tree = ast.parse(Path(M.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "torch" not in imported
    assert imported <= {"__future__", "re", "string", "sys", "unicodedata", "collections", "functools", "typing", "numpy"}
