"""BUCC 2018 as XTREME scores it, reproduced step by step with files, against ``scoring.score.score_bucc``.

XTREME's pipeline (google-research/xtreme: scripts/download_data.sh cuts each BUCC file into a text
file and an id file; third_party/utils_retrieve.py mines and scores) is written out below in the
order it runs, from the files it reads and writes: the texts are de-duplicated on their raw lines
*before* mining (one embedding per distinct line), candidates are written as `score<TAB>src<TAB>trg`
lines, and mapped back to ids through the stripped texts that occur once.  Repeated lines, repeated
texts under other ids and whitespace variants of a text are the awkward cases: mining over every
line instead moves F1 by points.
"""

import random
import zlib
from pathlib import Path

import numpy as np
import pytest

from xstilts.scoring.score import score_bucc

# ----------------------------------------------------------------------------- the reference, with files


def _write_corpus(directory: Path, name: str, ids: list[str], sentences: list[str]) -> tuple[Path, Path]:
    """`cut -f2` and `cut -f1` of a BUCC `id<TAB>sentence` file: a text file and an id file."""
    text, idf = directory / f"{name}.txt", directory / f"{name}.id"
    text.write_text("".join(s + "\n" for s in sentences), encoding="utf-8")
    idf.write_text("".join(i + "\n" for i in ids), encoding="utf-8")
    return text, idf


def _distinct_lines(path: Path) -> tuple[list[int], list[str]]:
    """Each line's index among the distinct raw lines (newline included), and the distinct texts."""
    position: dict[str, int] = {}
    line_index, texts = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line not in position:
                position[line] = len(position)
                texts.append(line[:-1])
            line_index.append(position[line])
    return line_index, texts


def _one_row_per_distinct_line(emb: np.ndarray, line_index: list[int]) -> np.ndarray:
    last = {}
    for row, distinct in enumerate(line_index):
        last[distinct] = row  # the last line with that text gives its embedding
    return emb[[last[d] for d in range(len(last))]]


def _knn(query: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = (query @ base.T).astype(np.float32)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), order


def _mine_to_file(x: np.ndarray, y: np.ndarray, src_texts: list[str], trg_texts: list[str], out: Path, k: int = 4) -> None:
    """Ratio-margin mining, both directions, greedy 1:1 over the pooled best pairs, score > 0."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)
    x, y = x.astype(np.float32), y.astype(np.float32)
    fwd_sim, fwd_ind = _knn(x, y, min(k, len(y)))
    bwd_sim, bwd_ind = _knn(y, x, min(k, len(x)))
    fwd_mean, bwd_mean = fwd_sim.mean(axis=1), bwd_sim.mean(axis=1)

    def margin(a, b, mean_a, mean_b):
        return np.float32(a @ b) / ((mean_a + mean_b) / np.float32(2))

    fwd_scores = np.array([[margin(x[i], y[j], fwd_mean[i], bwd_mean[j]) for j in row] for i, row in enumerate(fwd_ind)], dtype=np.float64)
    bwd_scores = np.array([[margin(y[j], x[i], bwd_mean[j], fwd_mean[i]) for i in row] for j, row in enumerate(bwd_ind)], dtype=np.float64)
    fwd_best = fwd_ind[np.arange(len(x)), fwd_scores.argmax(axis=1)]
    bwd_best = bwd_ind[np.arange(len(y)), bwd_scores.argmax(axis=1)]
    pairs = [(i, int(j)) for i, j in enumerate(fwd_best)] + [(int(i), j) for j, i in enumerate(bwd_best)]
    scores = np.concatenate([fwd_scores.max(axis=1), bwd_scores.max(axis=1)])
    used_src, used_trg = set(), set()
    with open(out, "w", encoding="utf-8") as f:
        for p in np.argsort(-scores, kind="stable"):
            i, j = pairs[p]
            if i in used_src or j in used_trg:
                continue
            used_src.add(i)
            used_trg.add(j)
            if scores[p] > 0:
                f.write(f"{scores[p]}\t{src_texts[i]}\t{trg_texts[j]}\n")  # str(), as print() writes it


def _ids_of_texts(text: Path, idf: Path) -> dict[str, str]:
    """Stripped text -> id, for the stripped texts that occur once."""
    ids = [line.strip() for line in open(idf, encoding="utf-8")]
    texts = [line.strip() for line in open(text, encoding="utf-8")]
    seen, twice = {}, set()
    for i, t in zip(ids, texts):
        if t in seen:
            twice.add(t)
        else:
            seen[t] = i
    return {t: i for t, i in seen.items() if t not in twice}


def _candidates(path: Path, src_ids: dict, trg_ids: dict) -> dict:
    out = {}
    for line in open(path, encoding="utf-8"):
        score, src, trg = line.split("\t")
        src, trg, score = src.strip(), trg.strip(), float(score)
        if src in src_ids and trg in trg_ids:
            key = (src_ids[src], trg_ids[trg])
            out[key] = max(score, out.get(key, score))
    return out


def _best_threshold(cands: dict, gold: set) -> float:
    ranked = sorted(cands.items(), key=lambda kv: -kv[1])
    correct, best, threshold = 0, 0.0, 0.0
    for n, (pair, score) in enumerate(ranked, start=1):
        correct += pair in gold
        if correct:
            p, r = correct / n, correct / len(gold)
            f1 = 2 * p * r / (p + r)
            if f1 > best:
                best = f1
                # the official code reads ranked[n] here and fails past the end; the project keeps the last score
                threshold = (score + ranked[n][1]) / 2 if n < len(ranked) else score
    return threshold


def _prf(cands: dict, gold: set, threshold: float) -> dict:
    extracted = [pair for pair, score in cands.items() if score >= threshold]
    correct = len(gold.intersection(extracted))
    if not correct:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    p, r = correct / len(extracted), correct / len(gold)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r)}


def reference_bucc(tmp: Path, dev, test, embed) -> dict:
    """dev/test: (src_ids, src_sents, en_ids, en_sents, gold) as release_files.read_bucc gives them."""
    out = {}
    for split, (s_ids, s_sents, t_ids, t_sents, gold) in (("dev", dev), ("test", test)):
        d = tmp / split
        d.mkdir(parents=True, exist_ok=True)
        s_txt, s_id = _write_corpus(d, "src", s_ids, s_sents)
        t_txt, t_id = _write_corpus(d, "trg", t_ids, t_sents)
        s_index, s_texts = _distinct_lines(s_txt)
        t_index, t_texts = _distinct_lines(t_txt)
        x = _one_row_per_distinct_line(embed(s_sents), s_index)  # every line embedded, as XTREME does
        y = _one_row_per_distinct_line(embed(t_sents), t_index)
        _mine_to_file(x, y, s_texts, t_texts, d / "candidates.tsv")
        out[split] = (_candidates(d / "candidates.tsv", _ids_of_texts(s_txt, s_id), _ids_of_texts(t_txt, t_id)), set(map(tuple, gold)))
    threshold = _best_threshold(*out["dev"])
    return {**_prf(*out["test"], threshold), "threshold": threshold}


# ----------------------------------------------------------------------------- cases


def _embedder(dim: int = 16, noise: float = 0.35):
    """A text's vector: its meaning's vector (the text without a language tag and surrounding
    spaces) plus noise of its own; the same text always gets the same vector."""

    def vec(key: str, scale: float) -> np.ndarray:
        return np.random.default_rng(zlib.crc32(key.encode("utf-8"))).normal(size=dim) * scale  # not hash(): salted per process

    def embed(texts):
        return np.stack([vec(t.strip().split("|")[-1], 1.0) + vec(t, noise) for t in texts]).astype(np.float32)

    return embed


def _corpus(rng: random.Random, n_pairs: int, n_noise: int, *, repeats: int, variants: int):
    """A BUCC-like split: parallel pairs hidden among unrelated sentences, with repeated lines (the
    same text under several ids), and whitespace variants of a text."""
    meanings = [f"m{k}" for k in range(n_pairs)]
    src = [(f"de-{k:05d}", f"de|{m}") for k, m in enumerate(meanings)] + [(f"de-n{k:05d}", f"de|x{k}") for k in range(n_noise)]
    trg = [(f"en-{k:05d}", f"en|{m}") for k, m in enumerate(meanings)] + [(f"en-n{k:05d}", f"en|y{k}") for k in range(n_noise)]
    gold = [(f"de-{k:05d}", f"en-{k:05d}") for k in range(n_pairs)]
    for side, prefix in ((src, "de-r"), (trg, "en-r")):
        for k in range(repeats):  # a text repeated under another id (texts seen twice are dropped after mining)
            side.append((f"{prefix}{k:05d}", rng.choice(side)[1]))
        for k in range(variants):  # the same text with a trailing space: a distinct line, the same stripped text
            side.append((f"{prefix}v{k:05d}", rng.choice(side)[1] + " "))
    rng.shuffle(src)
    rng.shuffle(trg)
    return [i for i, _ in src], [s for _, s in src], [i for i, _ in trg], [s for _, s in trg], gold


@pytest.mark.parametrize("seed", range(12))
def test_bucc_matches_xtreme_with_repeated_lines(tmp_path, seed):
    rng = random.Random(seed)
    sizes = dict(n_pairs=rng.randint(5, 40), n_noise=rng.randint(0, 60), repeats=rng.randint(0, 15), variants=rng.randint(0, 5))
    dev, test = _corpus(rng, **sizes), _corpus(rng, **sizes)
    embed = _embedder(noise=rng.choice([0.2, 0.5, 0.9]))
    ours, _ = score_bucc(dev, test, embed, k=4)
    ref = reference_bucc(tmp_path, dev, test, embed)
    for key in ("f1", "precision", "recall", "threshold"):
        assert abs(ours[key] - ref[key]) <= 1e-6, (key, ours[key], ref[key], sizes)


def test_repeated_lines_change_the_score_when_mined_one_per_line(tmp_path):
    """The case the reference exists for: mining every line (the old code) moves F1 here."""
    from xstilts.scoring import metrics as M

    rng = random.Random(3)
    dev = _corpus(rng, n_pairs=30, n_noise=40, repeats=25, variants=3)
    test = _corpus(rng, n_pairs=30, n_noise=40, repeats=25, variants=3)
    embed = _embedder(noise=0.6)
    ref = reference_bucc(tmp_path, dev, test, embed)

    def per_line(split):
        s_ids, s, t_ids, t, gold = split
        mined = M.bucc_mine(embed(s), embed(t), range(len(s)), range(len(t)), k=4)
        keep_s = {x.strip() for x in s if [y.strip() for y in s].count(x.strip()) == 1}
        keep_t = {x.strip() for x in t if [y.strip() for y in t].count(x.strip()) == 1}
        return [(s_ids[i], t_ids[j], sc) for i, j, sc in mined if s[i].strip() in keep_s and t[j].strip() in keep_t], set(gold)

    dev_c, dev_g = per_line(dev)
    test_c, test_g = per_line(test)
    old = M.bucc_f1(test_c, test_g, M.bucc_best_threshold(dev_c, dev_g))["f1"]
    assert abs(old - ref["f1"]) > 1e-3  # so the parity test above would have caught the old code
