"""A deterministic synthetic multilingual world: the offline miniature of the X-STILTs experiment.

``generate_world(out_root, seed=...)`` writes, with pure Python + numpy (no torch):

- an English-like language ``en`` produced by a small probabilistic grammar over a lexicon with
  parts of speech, five topic domains (food, farm, school, travel, workshop) and noun types
  (person / animal / thing / place), verbs with selectional restrictions, adjectives, determiners,
  prepositions, pronouns, adverbs, auxiliaries, question words and conjunctions: declaratives,
  negation, three tenses, copular clauses, PPs, subordinate and coordinate clauses, wh-questions;
  sentences of ~5-20 words;
- four pseudo-languages ``xa xb xc xd``: every English lemma and function word is rewritten into a
  pseudo-word from the language's own syllable inventory (different per language); inflection is
  re-expressed with the language's own suffixes (plural, past, future; no do-support, no
  agreement); each language has its own word order (see ``LANGUAGES``).  What survives unchanged
  (the *anchors*) is small and realistic: punctuation, digits, personal names and ~4 loanword nouns
  per domain (pizza, tractor, laptop, taxi, robot, ...) that keep their stem but take the host's
  plural suffix.  In the MLM corpus, a quarter of each pseudo-language's sentences are
  code-switched (~40 % of their content words left in English: English stem, host suffix);
- an MLM corpus per language (independent, not parallel, sentences) and the tasks of ``TASKS``
  in ``{out_root}/{task}/{split}/{lang}.jsonl`` (formats of ``xstilts.data.rows``), plus
  ``{out_root}/corpus/{lang}.txt`` and the manifest ``{out_root}/world.json``.

Rows that are translations of each other carry the same id in every language.  The meaning-
dependent evaluation data (``syn_topic`` validation/test and ``syn_tatoeba``) is *anchor-free*: it
uses no word shared with English, so an encoder can only transfer it through what pretraining
aligned; ``syn_topic`` sentence lengths are balanced across labels.

Same arguments -> byte-identical files (numpy ``default_rng`` streams keyed by seed, task, split).
"""

from __future__ import annotations

import json
import os
import tempfile
import zlib

import numpy as np

from xstilts.data.registry import Task, default_metric, register

WORLD_VERSION = 1
CODE_SWITCH = 0.25  # share of a pseudo-language's corpus sentences that are code-switched
TOPIC_TRAIN_ANCHORS = True  # training rows of syn_topic may use anchor words
_CS_WORD = 0.4  # share of the content words of a code-switched sentence left in English

LANGUAGES = {
    "en": "English-like source: SVO, adjective-noun, prepositions, auxiliaries will/do/be, plural -s",
    "xa": "pseudo-language A: English word order, own words, tense/plural suffixes, no do-support",
    "xb": "pseudo-language B: noun-adjective order, negation after the verb, own words and suffixes",
    "xc": "pseudo-language C: verb-final (SOV), postpositions, wh-in-situ with a question particle",
    "xd": "pseudo-language D: noun-adjective-determiner order, postpositions, SVO, wh-in-situ",
}

POS_TAGS = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "NOUN", "NUM",
    "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "VERB",
)  # fmt: skip
DOMAINS = ("food", "farm", "school", "travel", "workshop")  # the lexicon's topic domains
# syn_topic: what the sentence says about its subject (predicate type): a state or property
# ("the soup was hot"), an action on an object ("the cook sliced the onion") or an event or
# activity without one ("the soup boiled").  Expressed by language-specific copulas, verbs and
# argument structure; sentence lengths are balanced across labels so length gives nothing away.
TOPIC_LABELS = ("state", "action", "event")
_TOPIC_KIND = {"state": "cop", "action": "trans", "event": "intr"}
GRAM_LABELS = ("grammatical", "scrambled")

TASKS = {
    "syn_pos": {
        "format": "tagging",
        "labels": list(POS_TAGS),
        "splits": ["train", "validation", "test"],
        "multilingual": True,
        "category": "syntactic",
        "description": "synthetic world: universal-POS-like tag of every word",
    },
    "syn_topic": {
        "format": "classification",
        "labels": list(TOPIC_LABELS),
        "splits": ["train", "validation", "test"],
        "multilingual": True,
        "category": "semantic",
        "description": "synthetic world: what the sentence predicates of its subject: a state, an action on an object, or an event without one (anchor-free, length-balanced)",
    },
    "syn_qa": {
        "format": "span_qa",
        "splits": ["train", "validation", "test"],
        "multilingual": True,
        "category": "semantic",
        "description": "synthetic world: what/who/where questions answered by a noun phrase of a 2-4 sentence context",
    },
    "syn_tatoeba": {
        "format": "retrieval",
        "splits": ["test"],
        "multilingual": True,
        "category": "semantic",
        "description": "synthetic world: anchor-free translation retrieval, pseudo-language -> English",
    },
    "syn_choice": {
        "format": "multiple_choice",
        "splits": ["train", "validation"],
        "multilingual": False,
        "category": "commonsense_mc",
        "description": "synthetic world (English intermediate task): pick the continuation about the same entity and on the same topic as the context",
    },
    "syn_siqa": {
        "format": "multiple_choice",
        "splits": ["train", "validation"],
        "multilingual": False,
        "category": "commonsense_mc",
        "description": "synthetic world, Social IQa's shape (English): a context, a question, three continuations, one on topic",
    },
    "syn_copa": {
        "format": "multiple_choice",
        "splits": ["train", "validation"],
        "multilingual": False,
        "category": "commonsense_mc",
        "description": "synthetic world, COPA's shape (English): a premise, 'What was the cause?' or 'What happened as a result?', two alternatives",
    },
    "syn_xcopa": {
        "format": "multiple_choice",
        "splits": ["validation", "test"],
        "multilingual": True,
        "english": False,
        "train_task": "syn_copa",
        "train_first": ["syn_siqa"],
        "category": "semantic",
        "description": "synthetic world, XCOPA's shape: syn_copa's rows in the pseudo-languages only, scored zero-shot "
                       "after syn_siqa then syn_copa (XTREME-R's recipe for XCOPA)",
    },
    "syn_gram": {
        "format": "classification",
        "labels": list(GRAM_LABELS),
        "splits": ["train", "validation"],
        "multilingual": False,
        "category": "syntactic",
        "description": "synthetic world (English intermediate task): well-formed sentence vs. one with a local order violation",
    },
}

# --------------------------------------------------------------------------------------- lexicon
# Topic domains.  Nouns by type (person / animal / thing / place), "lemma[:plural]", a trailing
# "*" marks a loanword anchor (kept unchanged in every language, with the host's plural suffix).
# Transitive verbs "lemma[:past]" -> "subject types>object types"; intransitive -> subject types;
# adjectives by the noun type they describe.  A sentence takes its content words from one domain.
_DOMAINS = {
    "food": dict(
        person="cook baker waiter butcher chef*",
        thing="apple cake bread soup egg onion pie pan spoon pizza* banana* chocolate*",
        place="kitchen bakery restaurant cafe*",
        trans={"bake": "person>thing", "eat:ate": "person>thing", "taste": "person>thing",
               "serve": "person>thing", "slice": "person>thing", "wash": "person>thing"},
        intr={"dine": "person", "boil": "thing", "burn": "thing", "melt": "thing"},
        adjs={"thing": "sweet fresh hot delicious", "person": "hungry"},
    ),
    "farm": dict(
        person="farmer shepherd milkmaid cowboy*",
        animal="cow goat horse pig sheep:sheep duck llama*",
        thing="haystack fence bucket saddle plow seed tractor*",
        place="field barn stable meadow ranch*",
        trans={"feed:fed": "person>animal", "milk": "person>animal", "ride:rode": "person>animal",
               "chase": "animal>animal person", "plant": "person>thing", "pull": "animal>thing"},
        intr={"graze": "animal", "sleep:slept": "animal person", "run:ran": "animal", "harvest": "person"},
        adjs={"animal": "wild lazy brown muddy", "thing": "muddy", "person": "tired"},
    ),
    "school": dict(
        person="teacher student pupil child:children principal professor*",
        thing="book pen lesson desk map letter story:stories laptop*",
        place="classroom library:libraries playground museum*",
        trans={"read:read": "person>thing", "write:wrote": "person>thing", "teach:taught": "person>thing person",
               "learn": "person>thing", "study:studied": "person>thing", "explain": "person>thing"},
        intr={"listen": "person", "think:thought": "person", "laugh": "person"},
        adjs={"person": "clever curious", "thing": "difficult interesting", "place": "quiet"},
    ),
    "travel": dict(
        person="driver sailor traveler guide passenger pilot* tourist*",
        thing="train ship ticket suitcase car bus:buses taxi*",
        place="station city:cities river bridge harbor airport hotel*",
        trans={"drive:drove": "person>thing", "visit": "person>place", "cross": "person thing>place",
               "sail": "person>thing", "board": "person>thing", "miss": "person>thing"},
        intr={"travel:traveled": "person", "arrive": "person thing", "depart": "person thing", "wait": "person"},
        adjs={"thing": "fast late", "place": "busy crowded", "person": "lost"},
    ),
    "workshop": dict(
        person="carpenter builder mechanic plumber engineer*",
        thing="hammer saw nail rope ladder plank wheel robot* radio*",
        place="workshop garage shed factory*",
        trans={"fix": "person>thing", "build:built": "person>thing", "repair": "person>thing",
               "paint": "person>thing", "sharpen": "person>thing", "cut:cut": "person thing>thing"},
        intr={"rust": "thing", "break:broke": "thing", "squeak": "thing", "work": "person"},
        adjs={"thing": "sharp rusty broken wooden", "person": "skilled"},
    ),
}
NOUN_TYPES = ("person", "animal", "thing", "place")
GENERIC_ADJS = ("big", "small", "old", "new", "red", "green", "black", "white", "strange", "dirty", "clean", "pretty")
NAMES = ("anna", "tom", "maria", "omar", "lucas", "emma", "yuki", "ivan", "sara", "leo")  # PROPN, anchors
DIGITS = ("2", "3", "4", "5", "6", "7", "8", "9")  # NUM determiners of plural NPs, anchors
_DET_SG = ("the", "a", "this", "that", "every", "my", "his", "her", "our", "their")
_DET_PL = ("the", "these", "those", "some", "many", "my", "his", "her", "our", "their")
_PREPS_NP = ("near", "with", "from", "behind", "beside")  # noun modifiers
_PREPS_ADJ = ("in", "near", "under", "behind", "at", "on", "beside")  # clause adjuncts (where?)
_PRONOUNS = {  # subject pronoun -> (3rd person singular?, noun types it can stand for)
    "he": (True, ("person",)), "she": (True, ("person",)),
    "it": (True, ("animal", "thing", "place")),
    "they": (False, NOUN_TYPES), "we": (False, ("person",)), "you": (False, ("person",)),
}
_ADVS = {  # adverb -> tenses it goes with
    "quickly": "past pres fut", "slowly": "past pres fut", "often": "pres", "again": "past fut",
    "quietly": "past pres fut", "happily": "past pres fut", "yesterday": "past",
    "tomorrow": "fut", "now": "pres", "today": "past pres fut",
}
_TIME_ADVS = ("again", "yesterday", "tomorrow", "now", "today")  # the ones a copular clause takes
_CCONJ = ("and", "but")
_SCONJ = ("because", "while", "when", "after", "before", "although")
_WH = {"what": "PRON", "who": "PRON", "where": "ADV"}
_AUX_EN = ("will", "did", "does", "do", "is", "are", "was", "were", "be")
# function words with a pseudo-word in every language (key -> tag)
_FUNCTION = {
    **{d: "DET" for d in sorted(set(_DET_SG + _DET_PL))},
    **{p: "ADP" for p in sorted(set(_PREPS_NP + _PREPS_ADJ))},
    **{p: "PRON" for p in _PRONOUNS},
    **{c: "CCONJ" for c in _CCONJ},
    **{c: "SCONJ" for c in _SCONJ},
    **_WH,
    "not": "PART",
    "COP": "AUX",  # the copula stem (takes the tense suffixes)
    "QPART": "PART",  # question particle of wh-in-situ languages (unused in others)
}

# Pseudo-languages: phonology (consonants, vowels, codas), suffixes, word order.
_LANG_RULES = {
    "xa": dict(C="bdgklmnprstvz", V="aeiou", coda="nrs", p_coda=0.25,
               suf={"PL": "en", "PAST": "ti", "FUT": "ra"},
               adj_after=False, det_after=False, postp=False, verb_final=False,
               neg_after=False, wh_in_situ=False),
    "xb": dict(C="ptkshmnlrwj", V="aiou", coda="mn", p_coda=0.3,
               suf={"PL": "ak", "PAST": "mu", "FUT": "shi"},
               adj_after=True, det_after=False, postp=False, verb_final=False,
               neg_after=True, wh_in_situ=False),
    "xc": dict(C="kgsztdnmhrby", V="aeiou", coda="", p_coda=0.0,
               suf={"PL": "tachi", "PAST": "ka", "FUT": "mase"},
               adj_after=False, det_after=False, postp=True, verb_final=True,
               neg_after=True, wh_in_situ=True),
    "xd": dict(C="zxqvwlrthkf", V="aeyo", coda="lrx", p_coda=0.35,
               suf={"PL": "oy", "PAST": "ex", "FUT": "vo"},
               adj_after=True, det_after=True, postp=True, verb_final=False,
               neg_after=False, wh_in_situ=True),
}
_EN_RULES = dict(adj_after=False, det_after=False, postp=False, verb_final=False, neg_after=False, wh_in_situ=False)


def _split_forms(spec: str):
    out = []
    for item in spec.split():
        base, _, irregular = item.partition(":")
        out.append((base, irregular or None))
    return out


def _plural(noun: str) -> str:
    if noun.endswith(("s", "sh", "ch", "x", "z")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _third(verb: str) -> str:
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _past(verb: str) -> str:
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ied"
    return verb + "ed"


def _stream(seed: int, *keys) -> np.random.Generator:
    """An independent, reproducible random stream per (seed, keys)."""
    return np.random.default_rng([int(seed)] + [zlib.crc32(str(k).encode()) for k in keys])


class _Lexicon:
    """English forms, semantic classes and the pseudo-word of every lemma in every language."""

    def __init__(self, seed: int):
        self.nouns = {}  # lemma -> dict(domain, type, pl, anchor)
        self.pool = {}  # (domain, type, with anchors?) -> [lemmas]
        self.verbs = {}  # lemma -> dict(domain, past, third, subj (types), obj (types, or None))
        self.trans = {d: [] for d in DOMAINS}
        self.intr = {d: [] for d in DOMAINS}
        self.adjs = {}  # (domain, type) -> domain-specific adjectives
        for dom in DOMAINS:
            spec = _DOMAINS[dom]
            for typ in NOUN_TYPES:
                plain, anchored = [], []
                for item in spec.get(typ, "").split():
                    anchor = item.endswith("*")
                    ((sg, pl),) = _split_forms(item.rstrip("*"))
                    if sg in self.nouns:  # pragma: no cover - a lexicon bug
                        raise ValueError(f"noun {sg!r} listed twice")
                    self.nouns[sg] = dict(domain=dom, type=typ, pl=pl or _plural(sg), anchor=anchor)
                    (anchored if anchor else plain).append(sg)
                self.pool[(dom, typ, False)] = plain
                self.pool[(dom, typ, True)] = plain + anchored
            for item, roles in spec["trans"].items():
                ((base, past),) = _split_forms(item)
                subj, _, obj = roles.partition(">")
                self._add_verb(base, past, dom, subj.split(), obj.split())
                self.trans[dom].append(base)
            for item, subj in spec["intr"].items():
                ((base, past),) = _split_forms(item)
                self._add_verb(base, past, dom, subj.split(), None)
                self.intr[dom].append(base)
            for typ, words in spec["adjs"].items():
                self.adjs[(dom, typ)] = words.split()
        self.all_adjs = list(GENERIC_ADJS) + [a for v in self.adjs.values() for a in v if a not in GENERIC_ADJS]
        self.all_adjs = list(dict.fromkeys(self.all_adjs))

        english = set()
        for sg, n in self.nouns.items():
            english.update((sg, n["pl"]))
        for v, d in self.verbs.items():
            english.update((v, d["past"], d["third"]))
        english.update(self.all_adjs)
        english.update(k for k in _FUNCTION if k.islower())
        english.update(_ADVS)
        english.update(_AUX_EN)
        english.update(("an", "am", "happened", "next"))
        english.update(NAMES)
        self.english_words = frozenset(english)

        # pseudo-words: keys in a fixed order, one stream per language
        keys = [("F", k) for k in _FUNCTION] + [("R", a) for a in _ADVS]
        keys += [("A", a) for a in self.all_adjs] + [("V", v) for v in self.verbs]
        keys += [("N", n) for n in self.nouns if not self.nouns[n]["anchor"]]
        self.pseudo = {}
        used = set(english)
        for lang, rules in _LANG_RULES.items():
            rng = _stream(seed, "lexicon", lang)
            suf = rules["suf"]
            table = {}
            for kind, key in keys:
                for _attempt in range(1000):
                    function = kind in ("F",)
                    n_syl = (1 if rng.random() < 0.55 else 2) if function else (2 if rng.random() < 0.6 else 3)
                    stem = "".join(self._syllable(rng, rules) for _ in range(n_syl))
                    forms = {stem}
                    if kind == "N":
                        forms.add(stem + suf["PL"])
                    if kind == "V" or key == "COP":
                        forms.update((stem + suf["PAST"], stem + suf["FUT"]))
                    if len(stem) >= 2 and not (forms & used):
                        break
                else:  # pragma: no cover - the inventories are far from exhausted
                    raise RuntimeError(f"could not make a pseudo-word for {key!r} in {lang}")
                used.update(forms)
                table[(kind, key)] = stem
            # anchored loanword nouns keep their stem but take the language's plural suffix
            for n, d in self.nouns.items():
                if d["anchor"]:
                    table[("N", n)] = n
                    if n + suf["PL"] in used:  # pragma: no cover
                        raise RuntimeError(f"plural of anchor {n!r} collides in {lang}")
                    used.add(n + suf["PL"])
            self.pseudo[lang] = table

    def _add_verb(self, base, past, dom, subj, obj):
        if base in self.verbs:  # pragma: no cover - a lexicon bug
            raise ValueError(f"verb {base!r} listed twice")
        self.verbs[base] = dict(domain=dom, past=past or _past(base), third=_third(base), subj=tuple(subj),
                                obj=tuple(obj) if obj is not None else None)

    def types(self, dom, anchors=False):
        return [t for t in NOUN_TYPES if self.pool[(dom, t, anchors)]]

    @staticmethod
    def _syllable(rng, rules) -> str:
        c = rules["C"][int(rng.integers(len(rules["C"])))]
        v = rules["V"][int(rng.integers(len(rules["V"])))]
        coda = ""
        if rules["coda"] and rng.random() < rules["p_coda"]:
            coda = rules["coda"][int(rng.integers(len(rules["coda"])))]
        return c + v + coda

    # ---- surface forms
    def noun(self, lang, lemma, num):
        if lang == "en":
            return self.nouns[lemma]["pl"] if num == "pl" else lemma
        stem = self.pseudo[lang][("N", lemma)]
        return stem + _LANG_RULES[lang]["suf"]["PL"] if num == "pl" else stem

    def switched(self, lang, kind, lemma, feat):
        """The code-switched form of a noun or verb: the English stem with the host's suffix."""
        if lang == "en":
            return None
        suf = _LANG_RULES[lang]["suf"]
        if kind == "N":
            return lemma + suf["PL"] if feat == "pl" else lemma
        return lemma + {"past": suf["PAST"], "fut": suf["FUT"], "pres": ""}[feat]

    def verb_x(self, lang, lemma, tense):
        stem = self.pseudo[lang][("F", "COP") if lemma == "COP" else ("V", lemma)]
        return stem + {"past": _LANG_RULES[lang]["suf"]["PAST"], "fut": _LANG_RULES[lang]["suf"]["FUT"], "pres": ""}[tense]

    def word(self, lang, kind, key):
        """A non-inflected word: function word (F), adverb (R), adjective (A)."""
        if lang == "en" or key in NAMES or key in DIGITS:
            return key
        return self.pseudo[lang][(kind, key)]


# ----------------------------------------------------------------------------------- the grammar
def _pick(rng, seq):
    return seq[min(int(rng.random() * len(seq)), len(seq) - 1)]


class _Grammar:
    """Samples abstract sentence trees (dicts) and linearises them in any language."""

    def __init__(self, lex: _Lexicon):
        self.lex = lex

    # ------------------------------------------------------------------ sampling
    def np(self, rng, dom, typ, *, anchors, p_pp=0.1, num=None, exclude=(), det=None, p_adj=(0.55, 0.35, 0.10)):
        """A noun phrase about a ``typ`` noun of domain ``dom`` (adjectives: domain or generic)."""
        pool = [n for n in self.lex.pool[(dom, typ, anchors)] if n not in exclude] or self.lex.pool[(dom, typ, anchors)]
        noun = _pick(rng, pool)
        num = num or ("pl" if rng.random() < 0.3 else "sg")
        if det is None:
            if num == "pl" and anchors and rng.random() < 0.12:
                det = _pick(rng, DIGITS)
            else:
                det = _pick(rng, _DET_PL if num == "pl" else _DET_SG)
        r = rng.random()
        n_adj = 0 if r < p_adj[0] else (1 if r < p_adj[0] + p_adj[1] else 2)
        adjs = []
        for _ in range(n_adj):
            own = self.lex.adjs.get((dom, typ), [])
            a = _pick(rng, own) if own and rng.random() < 0.6 else _pick(rng, GENERIC_ADJS)
            if a not in adjs:
                adjs.append(a)
        pp = None
        if p_pp and rng.random() < p_pp:
            ptyp = "place" if rng.random() < 0.6 else _pick(rng, self.lex.types(dom))
            pp = dict(prep=_pick(rng, _PREPS_NP), np=self.np(rng, dom, ptyp, anchors=anchors, p_pp=0, exclude=(noun,)))
        return dict(noun=noun, dom=dom, type=typ, num=num, det=det, adjs=adjs, pp=pp)

    def subject(self, rng, dom, typ, *, anchors, pronouns, p_pp=0.1):
        r = rng.random()
        if pronouns and r < 0.15:
            p = _pick(rng, [p for p, (_, types) in _PRONOUNS.items() if typ in types])
            return dict(pron=p, dom=dom, type=typ, num="sg" if _PRONOUNS[p][0] else "pl")
        if anchors and typ == "person" and r < 0.3:
            return dict(name=_pick(rng, NAMES), dom=dom, type=typ, num="sg")
        return self.np(rng, dom, typ, anchors=anchors, p_pp=p_pp)

    def clause(self, rng, *, dom=None, anchors=True, pronouns=True, p_sub=0.2, p_cop=0.12,
               p_trans=0.6, tense=None, neg=None, kind=None, p_subj_pp=0.1, p_pp=0.3, p_adv=0.25, subj=None):
        """A clause whose content words come from topic domain ``dom``.  ``subj`` (an NP) forces
        the subject; the verb is then one that takes a subject of its type."""
        lex = self.lex
        dom = dom or _pick(rng, DOMAINS)
        tense = tense or _pick(rng, ("past", "pres", "fut"))
        neg = (rng.random() < 0.15) if neg is None else neg
        if kind is None:
            r = rng.random()
            kind = "cop" if r < p_cop else ("trans" if r < p_cop + (1 - p_cop) * p_trans else "intr")
        c = dict(dom=dom, tense=tense, neg=neg, kind=kind, obj=None, pp=None, adv=None, sub=None, verb=None, adj=None)
        if kind == "cop":
            typ = subj["type"] if subj else _pick(rng, lex.types(dom))
            own = lex.adjs.get((dom, typ), [])
            c["adj"] = _pick(rng, own) if own and rng.random() < 0.6 else _pick(rng, GENERIC_ADJS)
        else:
            pool = lex.trans[dom] if kind == "trans" else lex.intr[dom]
            if subj is not None:
                pool = [v for v in pool if subj["type"] in lex.verbs[v]["subj"]] or pool
            c["verb"] = _pick(rng, pool)
            typ = subj["type"] if subj else _pick(rng, lex.verbs[c["verb"]]["subj"])
        c["subj"] = subj or self.subject(rng, dom, typ, anchors=anchors, pronouns=pronouns, p_pp=p_subj_pp)
        if kind != "cop":
            if kind == "trans":
                otyp = _pick(rng, lex.verbs[c["verb"]]["obj"])
                c["obj"] = self.np(rng, dom, otyp, anchors=anchors, p_pp=0.12, exclude=(c["subj"].get("noun"),))
        if p_pp and rng.random() < p_pp:
            ptyp = "place" if rng.random() < 0.8 else _pick(rng, lex.types(dom))
            exclude = (c["subj"].get("noun"), (c["obj"] or {}).get("noun"))
            c["pp"] = dict(prep=_pick(rng, _PREPS_ADJ), np=self.np(rng, dom, ptyp, anchors=anchors, p_pp=0, exclude=exclude))
        if p_adv and rng.random() < p_adv:
            options = [a for a, t in _ADVS.items() if tense in t.split() and (kind != "cop" or a in _TIME_ADVS)]
            c["adv"] = _pick(rng, options)
        if p_sub and rng.random() < p_sub:
            conj = _pick(rng, _CCONJ + _SCONJ)
            sub_dom = dom if rng.random() < 0.7 else None  # a subordinate clause mostly stays on topic
            c["sub"] = (conj, self.clause(rng, dom=sub_dom, anchors=anchors, pronouns=pronouns, p_sub=0, p_cop=p_cop,
                                          p_trans=p_trans, p_subj_pp=0, p_pp=p_pp * 0.5, p_adv=p_adv * 0.5))
        return c

    # ------------------------------------------------------------------ linearisation
    # A leaf is [word, tag, mark]; marks let QA find its answer span.
    def np_leaves(self, lang, np_):
        lex = self.lex
        mark = np_.get("mark")
        if "pron" in np_:
            return [[lex.word(lang, "F", np_["pron"]), "PRON", mark]]
        if "name" in np_:
            return [[np_["name"], "PROPN", mark]]
        rules = _EN_RULES if lang == "en" else _LANG_RULES[lang]
        det = []
        if np_["det"] is not None:
            d = np_["det"]
            det = [[d if d in DIGITS else lex.word(lang, "F", d), "NUM" if d in DIGITS else "DET", mark]]
        # the 4th element of a content leaf is its code-switched form (English stem, host suffix)
        adjs = [[lex.word(lang, "A", a), "ADJ", mark, a] for a in np_["adjs"]]
        noun = [[lex.noun(lang, np_["noun"], np_["num"]), "NOUN", mark, lex.switched(lang, "N", np_["noun"], np_["num"])]]
        core = noun + adjs if rules["adj_after"] else adjs + noun
        core = core + det if rules["det_after"] else det + core
        return core + (self.pp_leaves(lang, np_["pp"]) if np_.get("pp") else [])

    def pp_leaves(self, lang, pp):
        rules = _EN_RULES if lang == "en" else _LANG_RULES[lang]
        p = [[self.lex.word(lang, "F", pp["prep"]), "ADP", None]]
        inner = self.np_leaves(lang, pp["np"])
        return inner + p if rules["postp"] else p + inner

    @staticmethod
    def _third_sg(subj):
        if "pron" in subj:
            return _PRONOUNS[subj["pron"]][0]
        return subj["num"] == "sg"

    def clause_leaves(self, lang, c, gap=None):
        """Leaves of a clause; ``gap`` in (None, 'subj', 'obj', 'pp') is replaced by a WH leaf
        (questions).  English questions get do-support and wh-fronting here too."""
        return self._clause_en(c, gap) if lang == "en" else self._clause_x(lang, c, gap)

    def _clause_en(self, c, gap):
        lex = self.lex
        L = lambda w, t: [w, t, None]  # noqa: E731
        subj = [L(gap_word(gap, c), _WH[gap_word(gap, c)])] if gap == "subj" else self.np_leaves("en", c["subj"])
        third = True if gap == "subj" else self._third_sg(c["subj"])
        t, neg = c["tense"], c["neg"]
        question = gap in ("obj", "pp")  # subject questions need no inversion
        if c["kind"] == "cop":
            notp = [L("not", "PART")] if neg else []
            if t == "fut":
                lead, rest = [L("will", "AUX")], notp + [L("be", "AUX")]
            else:
                be = {("pres", True): "is", ("pres", False): "are", ("past", True): "was", ("past", False): "were"}[(t, third)]
                lead, rest = [L(be, "AUX")], notp
            rest = rest + [L(c["adj"], "ADJ")]
        else:
            d = lex.verbs[c["verb"]]
            if t == "fut":
                lead, verb = [L("will", "AUX")], L(c["verb"], "VERB")
            elif neg or question:
                do = "did" if t == "past" else ("does" if third else "do")
                lead, verb = [L(do, "AUX")], L(c["verb"], "VERB")
            else:
                lead, verb = [], L({"past": d["past"], "pres": d["third"] if third else c["verb"]}[t], "VERB")
            rest = ([L("not", "PART")] if neg else []) + [verb]
            if c["obj"] is not None and gap != "obj":
                rest += self.np_leaves("en", c["obj"])
        if c["pp"] is not None and gap != "pp":
            rest += self.pp_leaves("en", c["pp"])
        if c["adv"]:
            rest += [L(c["adv"], "ADV")]
        if question:
            out = [L(gap_word(gap, c), _WH[gap_word(gap, c)])] + lead + subj + rest
        else:
            out = subj + lead + rest
        if c["sub"]:
            conj, sub = c["sub"]
            out += [L(conj, "CCONJ" if conj in _CCONJ else "SCONJ")] + self._clause_en(sub, None)
        return out

    def _clause_x(self, lang, c, gap):
        lex, rules = self.lex, _LANG_RULES[lang]
        L = lambda w, t: [w, t, None]  # noqa: E731
        wh = [L(lex.word(lang, "F", gap_word(gap, c)), _WH[gap_word(gap, c)])] if gap else []
        subj = wh if gap == "subj" else self.np_leaves(lang, c["subj"])
        neg = [L(lex.word(lang, "F", "not"), "PART")] if c["neg"] else []
        if c["kind"] == "cop":
            v = [L(lex.verb_x(lang, "COP", c["tense"]), "AUX")]
            obj = [L(lex.word(lang, "A", c["adj"]), "ADJ")]
        else:
            v = [[lex.verb_x(lang, c["verb"], c["tense"]), "VERB", None, lex.switched(lang, "V", c["verb"], c["tense"])]]
            obj = []
            if c["obj"] is not None:
                obj = wh if gap == "obj" else self.np_leaves(lang, c["obj"])
        vgroup = v + neg if rules["neg_after"] else neg + v
        pp = []
        if c["pp"] is not None:
            pp = wh if gap == "pp" else self.pp_leaves(lang, c["pp"])
        adv = [[lex.word(lang, "R", c["adv"]), "ADV", None, c["adv"]]] if c["adv"] else []
        if rules["verb_final"]:
            out = subj + adv + pp + obj + vgroup
        else:
            out = subj + vgroup + obj + pp + adv
        if gap and not rules["wh_in_situ"] and gap != "subj":
            out = wh + [leaf for leaf in out if leaf is not wh[0]]
        if c["sub"]:
            conj, sub = c["sub"]
            out += [L(lex.word(lang, "F", conj), "CCONJ" if conj in _CCONJ else "SCONJ")] + self._clause_x(lang, sub, None)
        return out

    def sentence(self, lang, c, gap=None):
        """Leaves of a full sentence with final punctuation (and English a/an)."""
        leaves = [list(leaf) for leaf in self.clause_leaves(lang, c, gap)]
        if gap:
            if lang != "en" and _LANG_RULES[lang]["wh_in_situ"]:
                leaves.append([self.lex.word(lang, "F", "QPART"), "PART", None])
            leaves.append(["?", "PUNCT", None])
        else:
            leaves.append([".", "PUNCT", None])
        if lang == "en":
            for i in range(len(leaves) - 1):
                if leaves[i][0] == "a" and leaves[i][1] == "DET" and leaves[i + 1][0][0] in "aeiou":
                    leaves[i][0] = "an"
        return leaves


def gap_word(gap, c=None):
    """The question word for a gap: who / what (a non-person subject) / what / where."""
    if gap == "subj" and c is not None and c["subj"].get("type") not in ("person", None):
        return "what"
    return {"subj": "who", "obj": "what", "pp": "where"}[gap]


def _words(leaves):
    return [leaf[0] for leaf in leaves]


def _text(leaves):
    return " ".join(_words(leaves))


# ------------------------------------------------------------------------------------- the tasks
class _World:
    def __init__(self, seed: int, code_switch: float | None = None):
        self.seed = seed
        self.code_switch = CODE_SWITCH if code_switch is None else code_switch
        self.lex = _Lexicon(seed)
        self.g = _Grammar(self.lex)
        self.langs = list(LANGUAGES)

    # each builder returns {lang: [rows]} for the languages it covers
    def pos(self, split, n):
        rng = _stream(self.seed, "syn_pos", split)
        rows = {lang: [] for lang in self.langs}
        for i in range(n):
            c = self._sized(rng, lambda: self.g.clause(rng))
            question = rng.random() < 0.1 and c["kind"] == "trans" and not c["neg"]
            gap = _pick(rng, ("subj", "obj")) if question else None
            if gap:
                c["sub"] = None
            for lang in self.langs:
                leaves = self.g.sentence(lang, c, gap)
                rows[lang].append({"id": f"syn_pos-{split}-{i}", "tokens": _words(leaves), "tags": [x[1] for x in leaves]})
        return rows

    def _sized(self, rng, make, lo=5, hi=20):
        for _ in range(1000):
            c = make()
            n = len(self.g.sentence("en", c))
            if lo <= n <= hi:
                return c
        raise RuntimeError("grammar cannot produce a sentence of the requested length")  # pragma: no cover

    def topic(self, split, n):
        rng = _stream(self.seed, "syn_topic", split)
        anchors = split == "train" and TOPIC_TRAIN_ANCHORS  # evaluation rows are always anchor-free
        rows = {lang: [] for lang in self.langs}
        for i in range(n):
            label = _pick(rng, TOPIC_LABELS)
            length = int(rng.integers(5, 13))  # English words incl. the full stop, same for every label
            for _ in range(100000):
                c = self.g.clause(rng, kind=_TOPIC_KIND[label], anchors=anchors, pronouns=True, p_sub=0,
                                  p_subj_pp=0.25, p_pp=0.5, p_adv=0.4)
                if len(self.g.sentence("en", c)) == length:
                    break
            else:  # pragma: no cover
                raise RuntimeError(f"no {label} sentence of {length} words")
            for lang in self.langs:
                rows[lang].append({"id": f"syn_topic-{split}-{i}", "text_a": _text(self.g.sentence(lang, c)), "text_b": None, "label": label})
        return rows

    def qa(self, split, n):
        rng = _stream(self.seed, "syn_qa", split)
        rows = {lang: [] for lang in self.langs}
        for i in range(n):
            n_sent = int(rng.integers(2, 5))
            used_nouns, clauses = set(), []
            for _s in range(n_sent):
                dom = _pick(rng, DOMAINS)
                for _ in range(100):
                    c = self.g.clause(rng, dom=dom, anchors=True, pronouns=False, p_sub=0, p_cop=0, p_trans=1.0,
                                      tense="past", neg=False, kind="trans", p_subj_pp=0, p_pp=0.5, p_adv=0.2)
                    nouns = {c["subj"].get("noun") or c["subj"].get("name"), c["obj"]["noun"]}
                    if c["pp"]:
                        nouns.add(c["pp"]["np"]["noun"])
                    if not (nouns & used_nouns) and len(nouns) == (3 if c["pp"] else 2):
                        break
                used_nouns |= nouns
                clauses.append(c)
            k = int(rng.integers(n_sent))
            target = clauses[k]
            gaps = ["subj", "obj"] + (["pp"] if target["pp"] else [])
            gap = _pick(rng, gaps)
            answer_np = {"subj": target["subj"], "obj": target["obj"], "pp": (target["pp"] or {}).get("np")}[gap]
            # questions drop the PP modifier of the answer NP and are asked without adverbs
            answer_np["pp"] = None
            answer_np["mark"] = "ans"
            q = dict(target, adv=None)
            for lang in self.langs:
                leaves = []
                for c in clauses:
                    leaves += self.g.sentence(lang, c)
                words = _words(leaves)
                idx = [j for j, leaf in enumerate(leaves) if leaf[2] == "ans"]
                assert idx == list(range(idx[0], idx[-1] + 1)), "answer span must be contiguous"
                start = sum(len(w) + 1 for w in words[: idx[0]])
                answer = " ".join(words[idx[0] : idx[-1] + 1])
                context = " ".join(words)
                assert context[start : start + len(answer)] == answer
                question = _text(self.g.sentence(lang, q, gap))
                rows[lang].append({"id": f"syn_qa-{split}-{i}", "context": context, "question": question,
                                   "answers": {"text": [answer], "answer_start": [start]}})
            answer_np.pop("mark")
        return rows

    def tatoeba(self, n):
        rng = _stream(self.seed, "syn_tatoeba", "test")
        pairs, seen = [], set()
        while len(pairs) < n:
            c = self._sized(rng, lambda: self.g.clause(rng, anchors=False, pronouns=True, p_sub=0.25), lo=6)
            en = _text(self.g.sentence("en", c))
            if en in seen:
                continue
            seen.add(en)
            pairs.append((c, en))
        rows = {}
        for lang in self.langs:
            if lang == "en":
                continue
            rows[lang] = [{"id": f"syn_tatoeba-test-{i}", "source": _text(self.g.sentence(lang, c)), "target": en}
                          for i, (c, en) in enumerate(pairs)]
        return rows

    def _alternatives(self, rng, n_choices):
        """One multiple-choice example: a past-tense premise about an entity and ``n_choices``
        continuations -- the same entity doing something of the premise's topic (the answer), the
        same entity off topic, then other entities off topic -- shuffled.  Returns the premise clause,
        the continuation clauses in the order shown and the answer's index."""
        g = self.g
        dom = _pick(rng, DOMAINS)
        typ = "animal" if dom == "farm" and rng.random() < 0.4 else "person"
        subj = g.np(rng, dom, typ, anchors=True, p_pp=0)
        premise = g.clause(rng, dom=dom, subj=subj, anchors=True, pronouns=False, p_sub=0, p_cop=0, tense="past",
                           neg=False, p_pp=0.3)
        the = dict(subj, adjs=[], pp=None, det="the", num=subj["num"])
        others = [d for d in DOMAINS if d != dom]
        rng.shuffle(others)

        def continuation(subject, d):
            kind = "trans" if rng.random() < 0.6 else "intr"
            return g.clause(rng, dom=d, subj=subject, anchors=True, pronouns=False, p_sub=0, p_cop=0, tense="past",
                            neg=False, kind=kind, p_pp=0.2, p_adv=0.2)

        clauses = [continuation(the, dom), continuation(the, others[0])]
        clauses += [continuation(g.np(rng, o, "person", anchors=True, p_pp=0, det="the", p_adj=(1, 0, 0)), o)
                    for o in others[1 : n_choices - 1]]  # fmt: skip
        order = rng.permutation(len(clauses))
        return premise, [clauses[j] for j in order], int(np.where(order == 0)[0][0])

    def choice(self, split, n):
        rng = _stream(self.seed, "syn_choice", split)
        rows = []
        for i in range(n):
            premise, clauses, label = self._alternatives(rng, 4)
            rows.append({"id": f"syn_choice-{split}-{i}", "context": _text(self.g.sentence("en", premise)),
                         "question": "what happened next ?", "choices": [_text(self.g.sentence("en", c)) for c in clauses],
                         "label": label})  # fmt: skip
        return {"en": rows}

    def copa(self, task, split, n, n_choices, langs):
        """COPA-shaped rows (``_alternatives`` with ``n_choices`` choices) under a cause/effect
        question -- the sentences of our COPA/XCOPA conversion, in English for every language as for
        XCOPA -- in every language of ``langs``, one row per example with the same id and label in each."""
        from xstilts.data.hub_sources import COPA_QUESTIONS

        rng = _stream(self.seed, task, split)
        rows = {lang: [] for lang in langs}
        for i in range(n):
            premise, clauses, label = self._alternatives(rng, n_choices)
            question = COPA_QUESTIONS[_pick(rng, ("cause", "effect"))]
            for lang in langs:
                rows[lang].append({"id": f"{task}-{split}-{i}", "context": _text(self.g.sentence(lang, premise)), "question": question,
                                   "choices": [_text(self.g.sentence(lang, c)) for c in clauses], "label": label})  # fmt: skip
        return rows

    def gram(self, split, n):
        rng = _stream(self.seed, "syn_gram", split)
        rows = []
        for i in range(n):
            label = GRAM_LABELS[int(rng.integers(2))]
            while True:
                c = self._sized(rng, lambda: self.g.clause(rng), lo=6)
                leaves = self.g.sentence("en", c)
                words, tags = _words(leaves), [x[1] for x in leaves]
                # local order violations: swap two adjacent words of different kinds (never the
                # final punctuation; adverbs excluded since they move freely in English)
                cand = [j for j in range(len(words) - 2)
                        if tags[j] != tags[j + 1] and "ADV" not in (tags[j], tags[j + 1]) and words[j] != words[j + 1]]
                if cand:
                    break
            if label == "scrambled":  # two or three such swaps at separate places
                for _ in range(2 if len(words) < 10 else 3):
                    if not cand:
                        break
                    j = _pick(rng, cand)
                    words[j], words[j + 1] = words[j + 1], words[j]
                    cand = [k for k in cand if abs(k - j) > 1]
            rows.append({"id": f"syn_gram-{split}-{i}", "text_a": " ".join(words), "text_b": None, "label": label})
        return {"en": rows}

    def corpus(self, lang, n):
        rng = _stream(self.seed, "corpus", lang)
        lines = []
        for _ in range(n):
            c = self._sized(rng, lambda: self.g.clause(rng), lo=4, hi=22)
            gap = None
            if rng.random() < 0.1 and c["kind"] == "trans" and not c["neg"]:
                gap = _pick(rng, ("subj", "obj", "pp") if c["pp"] else ("subj", "obj"))
                c["sub"] = None
            leaves = self.g.sentence(lang, c, gap)
            if lang != "en" and rng.random() < self.code_switch:
                # a code-switched sentence: some content words left in English (English stem,
                # host-language suffix), as in loanword-heavy or code-switched web text
                leaves = [[leaf[3]] + leaf[1:] if len(leaf) > 3 and leaf[3] and rng.random() < _CS_WORD else leaf
                          for leaf in leaves]
            lines.append(_text(leaves))
        return lines


# ------------------------------------------------------------------------------------- writing
def _write_atomic(path: str, text: str) -> None:
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _jsonl(rows) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def generate_world(
    out_root,
    *,
    seed: int = 0,
    n_corpus: int = 12000,
    n_train: int = 2000,
    n_validation: int = 200,
    n_test: int = 300,
    languages=None,
) -> dict:
    """Write the synthetic world under ``out_root`` and return its manifest (also ``world.json``).

    ``n_corpus`` sentences of MLM corpus per language; ``n_train`` / ``n_validation`` / ``n_test``
    rows per task split (``syn_tatoeba`` has ``n_test`` pairs per language).  ``languages`` picks a
    subset of ``LANGUAGES`` to write (English is always written: every task needs it); a language's
    words and rows do not depend on which others are written.
    """
    langs = list(LANGUAGES) if languages is None else [lang for lang in LANGUAGES if lang in set(languages) | {"en"}]
    unknown = set(languages or ()) - set(LANGUAGES)
    if unknown:
        raise ValueError(f"unknown synthetic language(s) {sorted(unknown)}; known: {list(LANGUAGES)}")
    for name, value in (("n_corpus", n_corpus), ("n_train", n_train), ("n_validation", n_validation), ("n_test", n_test)):
        if int(value) < 1:
            raise ValueError(f"{name} must be >= 1, got {value!r}")
    out_root = str(out_root)
    spec = dict(version=WORLD_VERSION, seed=int(seed), n_corpus=int(n_corpus), n_train=int(n_train),
                n_validation=int(n_validation), n_test=int(n_test), languages=langs, code_switch=CODE_SWITCH)
    world = _World(int(seed))
    sizes = {"train": int(n_train), "validation": int(n_validation), "test": int(n_test)}
    manifest = {"languages": langs, "tasks": {}, "spec": spec}

    def emit(task, split, per_lang):
        counts = {}
        for lang in langs:
            if lang not in per_lang:
                continue
            _write_atomic(f"{out_root}/{task}/{split}/{lang}.jsonl", _jsonl(per_lang[lang]))
            counts[lang] = len(per_lang[lang])
        entry = manifest["tasks"].setdefault(task, {"format": TASKS[task]["format"]})
        if "labels" in TASKS[task]:
            entry["labels"] = list(TASKS[task]["labels"])
        entry.setdefault("splits", {})[split] = counts

    for split in ("train", "validation", "test"):
        emit("syn_pos", split, world.pos(split, sizes[split]))
        emit("syn_topic", split, world.topic(split, sizes[split]))
        emit("syn_qa", split, world.qa(split, sizes[split]))
    emit("syn_tatoeba", "test", world.tatoeba(sizes["test"]))
    for split in ("train", "validation"):
        emit("syn_choice", split, world.choice(split, sizes[split]))
        emit("syn_gram", split, world.gram(split, sizes[split]))
        emit("syn_siqa", split, world.copa("syn_siqa", split, sizes[split], 3, ["en"]))
        emit("syn_copa", split, world.copa("syn_copa", split, sizes[split], 2, ["en"]))
    for split in ("validation", "test"):
        emit("syn_xcopa", split, world.copa("syn_xcopa", split, sizes[split], 2, [lang for lang in langs if lang != "en"]))
    for lang in langs:
        _write_atomic(f"{out_root}/corpus/{lang}.txt", "".join(line + "\n" for line in world.corpus(lang, int(n_corpus))))
    _write_atomic(f"{out_root}/world.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return manifest


def main(argv=None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="Write the synthetic X-STILTs world.")
    p.add_argument("out_root")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-corpus", type=int, default=12000)
    p.add_argument("--n-train", type=int, default=2000)
    p.add_argument("--n-validation", type=int, default=200)
    p.add_argument("--n-test", type=int, default=300)
    p.add_argument("--languages", nargs="*", default=None)
    a = p.parse_args(argv)
    m = generate_world(a.out_root, seed=a.seed, n_corpus=a.n_corpus, n_train=a.n_train,
                       n_validation=a.n_validation, n_test=a.n_test, languages=a.languages)
    print(json.dumps({t: e["splits"] for t, e in m["tasks"].items()}))


def synthetic_tasks() -> dict[str, Task]:
    """The tasks of the synthetic world, as registry entries (registered below)."""
    langs = tuple(LANGUAGES)
    out = {}
    for name, spec in TASKS.items():
        fmt = spec["format"]
        multilingual = spec.get("multilingual", fmt != "multiple_choice" and name != "syn_gram")
        if fmt == "retrieval" or spec.get("english", True) is False:
            languages = tuple(lang for lang in langs if lang != "en")
        else:
            languages = langs if multilingual else ("en",)
        out[name] = Task(
            name=name,
            format=fmt,
            metric=spec.get("metric", default_metric(fmt)),
            languages=languages,
            labels=tuple(spec["labels"]) if spec.get("labels") else None,
            eval_split="test" if multilingual or fmt == "retrieval" else "validation",
            category=spec.get("category", "synthetic"),
            source="synthetic",
            pair=bool(spec.get("pair", False)),
            description=spec.get("description", "synthetic world"),
            train_task=spec.get("train_task"),
            train_first=tuple(spec.get("train_first", ())),
        )
    return out


register(synthetic_tasks())


if __name__ == "__main__":
    main()
