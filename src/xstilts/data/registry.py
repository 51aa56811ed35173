"""The one registry of tasks: what each task is, how it is scored, which languages it covers.

A task has a *format* (one head per format), a label set where it has one, the languages it is
evaluated in, the split it is scored on, and, for a benchmark that is scored from a model trained
on another task's English data, that *train task* (XNLI is scored from an MNLI-trained model,
XQuAD and MLQA from a SQuAD-trained one).  Experiments can override any field or add new tasks in
their config (``tasks:``) without code: a format, a label set, languages, a metric and a source.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from xstilts.common.errors import ConfigError

FORMATS = ("classification", "multiple_choice", "span_qa", "tagging", "retrieval")

# metric name -> the format it applies to and the key of its main number in a metrics JSON
METRICS = {
    "accuracy": ("classification", "multiple_choice"),
    "seqeval": ("tagging",),  # span F1 as seqeval computes it, beside token accuracy
    "squad": ("span_qa",),  # SQuAD v1.1 EM / F1
    "squad_v2": ("span_qa",),
    "mlqa": ("span_qa",),  # MLQA's per-language normalisation
    "retrieval_accuracy": ("retrieval",),  # Tatoeba: cosine nearest neighbour
    "bucc_f1": ("retrieval",),  # BUCC: margin mining, F1 at the dev-optimal threshold
    "token_accuracy": ("tagging",),  # XGLUE POS: accuracy of the predicted tags (seqeval F1 beside it)
    "ndcg": ("classification",),  # XGLUE WPR: nDCG of each query's pages ranked by expected relevance
}
MAIN_METRIC = {
    "accuracy": "accuracy",
    "seqeval": "f1",
    "squad": "f1",
    "squad_v2": "f1",
    "mlqa": "f1",
    "retrieval_accuracy": "accuracy",
    "bucc_f1": "f1",
    "token_accuracy": "token_accuracy",
    "ndcg": "ndcg",
}

NLI_LABELS = ("entailment", "neutral", "contradiction")
PARAPHRASE_LABELS = ("different", "paraphrase")
UPOS = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
    "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
)  # fmt: skip
NER_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
# XGLUE NER (CoNLL-2002/2003) has a fourth entity type, MISC.
XGLUE_NER_TAGS = NER_TAGS + ("B-MISC", "I-MISC")
XGLUE_NC_LABELS = ("foodanddrink", "sports", "travel", "finance", "lifestyle", "news", "entertainment", "health", "video", "autos")
XGLUE_QADSM_LABELS = ("Bad", "Good")  # is the ad relevant to the query
XGLUE_QAM_LABELS = ("0", "1")  # is the passage an answer to the question
XGLUE_WPR_LABELS = ("0", "1", "2", "3", "4")  # relevance: bad, fair, good, excellent, perfect

# Languages as the XTREME paper (Hu et al. 2020, Table 1 and appendix) lists them.
XTREME_LANGUAGES = {
    "xnli": "en fr es de el bg ru tr ar vi th zh hi sw ur",
    "pawsx": "en de es fr ja ko zh",
    "udpos": "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo zh",
    "panx": "af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru sw ta te th tl tr ur vi yo zh",
    "xquad": "en es de el ru tr ar vi th zh hi",
    "mlqa": "en es de ar hi vi zh",
    "tydiqa": "en ar bn fi id ko ru sw te",
    "bucc": "de fr ru zh",
    "tatoeba": "af ar bg bn de el es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr nl pt ru sw ta te th tl tr ur vi zh",
}
# XTREME-R's XCOPA: the 11 XCOPA languages (English COPA is the training task, not a target language).
XCOPA_LANGUAGES = "et ht id it qu sw ta th tr vi zh"
# XGLUE's dev/test languages per understanding task (microsoft/XGLUE evaluation/xglue_evaluate.py
# task2lg); training data is English only.  POS has 18 languages (pt and th included).
XGLUE_LANGUAGES = {
    "ner": "en de es nl",
    "pos": "en ar bg de el es fr hi it nl pl pt ru th tr ur vi zh",
    "nc": "en de es fr ru",
    "mlqa": "en ar de es hi vi zh",
    "xnli": "en ar bg de el es fr hi ru sw th tr ur vi zh",
    "pawsx": "en de es fr",
    "qadsm": "en de fr",
    "wpr": "en de es fr it pt zh",
    "qam": "en de fr",
}


@dataclass(frozen=True)
class Task:
    """A task as the workflow uses it (registry entry merged with the config's overrides)."""

    name: str
    format: str
    metric: str
    languages: tuple[str, ...] = ("en",)
    labels: tuple[str, ...] | None = None
    eval_split: str = "test"  # the split the benchmark is scored on
    eval_split_overrides: dict = field(default_factory=dict, compare=False)  # language -> split, where it differs
    train_task: str | None = None  # the task whose English training data trains the target model
    train_first: tuple[str, ...] = ()  # tasks the target model is fine-tuned on first, in order (XTREME-R's XCOPA: siqa, then copa)
    category: str = "other"  # for the task-category analysis
    source: str = "hub"  # hub | local | synthetic | release
    root: str | None = None  # local/release data root
    pair: bool = False  # classification on sentence pairs
    description: str = ""
    hub: dict = field(default_factory=dict, compare=False)  # dataset id / revision overrides

    @property
    def main_metric(self) -> str:
        return MAIN_METRIC[self.metric]

    @property
    def trained(self) -> bool:
        """Retrieval tasks have no training: they are scored straight from an encoder."""
        return self.format != "retrieval"

    @property
    def trainer(self) -> str:
        return self.train_task or self.name


def _t(name, fmt, metric, languages="en", **kw) -> Task:
    return Task(name=name, format=fmt, metric=metric, languages=tuple(languages.split()), **kw)


_BUILTIN = [
    # English intermediate tasks of the paper (plus Social IQa, XTREME-R's recipe for XCOPA)
    _t("mnli", "classification", "accuracy", labels=NLI_LABELS, pair=True, category="nli", eval_split="validation", description="MultiNLI (GLUE)"),
    _t("anli_plus", "classification", "accuracy", labels=NLI_LABELS, pair=True, category="nli", eval_split="validation", description="ANLI+ : SNLI + MNLI + ANLI rounds 1-3, one NLI head"),
    _t("qqp", "classification", "accuracy", labels=PARAPHRASE_LABELS, pair=True, category="paraphrase", eval_split="validation", description="Quora Question Pairs (GLUE)"),
    _t("squad", "span_qa", "squad", category="extractive_qa", eval_split="validation", description="SQuAD v1.1"),
    _t("squad2", "span_qa", "squad_v2", category="extractive_qa", eval_split="validation", description="SQuAD v2.0, with unanswerable questions"),
    _t("hellaswag", "multiple_choice", "accuracy", category="commonsense_mc", eval_split="validation", description="HellaSwag"),
    _t("csqa", "multiple_choice", "accuracy", category="commonsense_mc", eval_split="validation", description="CommonsenseQA"),
    _t("cosmosqa", "multiple_choice", "accuracy", category="commonsense_mc", eval_split="validation", source="release", description="Cosmos QA (release files)"),
    _t("siqa", "multiple_choice", "accuracy", category="commonsense_mc", eval_split="validation", description="Social IQa"),
    _t("ccg", "tagging", "seqeval", category="syntactic_tagging", eval_split="validation", source="release", description="CCGbank supertagging (licensed, local path)"),
    # XTREME targets
    _t("xnli", "classification", "accuracy", XTREME_LANGUAGES["xnli"], labels=NLI_LABELS, pair=True, eval_split="validation", train_task="mnli", category="semantic", description="XNLI, scored from an MNLI-trained model"),
    _t("pawsx", "classification", "accuracy", XTREME_LANGUAGES["pawsx"], labels=PARAPHRASE_LABELS, pair=True, eval_split="validation", category="semantic", description="PAWS-X"),
    _t("udpos", "tagging", "seqeval", XTREME_LANGUAGES["udpos"], labels=UPOS, eval_split="validation", category="syntactic",
       eval_split_overrides={lang: "test" for lang in ("kk", "th", "tl", "yo")},  # no UD v2.5 dev set: test only
       description="UD-POS (UD v2.5, XTREME split); XTREME reports seqeval F1"),
    _t("panx", "tagging", "seqeval", XTREME_LANGUAGES["panx"], labels=NER_TAGS, eval_split="validation", category="syntactic", description="PAN-X / WikiANN NER"),
    _t("xquad", "span_qa", "squad", XTREME_LANGUAGES["xquad"], eval_split="test", train_task="squad", category="semantic", description="XQuAD (its only labelled split), from a SQuAD v1.1 model"),
    _t("mlqa", "span_qa", "mlqa", XTREME_LANGUAGES["mlqa"], eval_split="validation", train_task="squad", category="semantic", description="MLQA same-language pairs, from a SQuAD v1.1 model"),
    _t("tydiqa", "span_qa", "squad", XTREME_LANGUAGES["tydiqa"], eval_split="test", category="semantic", description="TyDiQA-GoldP: English train; its dev set is the test set"),
    _t("bucc", "retrieval", "bucc_f1", XTREME_LANGUAGES["bucc"], eval_split="test", category="semantic", source="release", description="BUCC 2018 bitext mining (release files)"),
    _t("tatoeba", "retrieval", "retrieval_accuracy", XTREME_LANGUAGES["tatoeba"], eval_split="test", category="semantic", description="Tatoeba sentence retrieval"),
    # XTREME-R's XCOPA recipe: Social IQa, then English COPA, then zero-shot XCOPA (its test set)
    _t("copa", "multiple_choice", "accuracy", category="commonsense_mc", eval_split="validation", description="COPA (SuperGLUE), English training data of XCOPA"),
    _t("xcopa", "multiple_choice", "accuracy", XCOPA_LANGUAGES, eval_split="test", train_task="copa", train_first=("siqa",), category="semantic",
       description="XCOPA (11 languages, no English), from a model trained on Social IQa then COPA (XTREME-R)"),
    # XGLUE understanding tasks, read from the XGLUE release (xstilts.data.xglue): English train, scored on
    # each language's dev set (the test labels of NC, QADSM, WPR and QAM are held out)
    *(_t(f"xglue_{name}", fmt, metric, XGLUE_LANGUAGES[name], eval_split="validation", source="release",
         category="syntactic" if name in ("ner", "pos") else "semantic", description=f"XGLUE {label} (release files)", **kw)
      for name, fmt, metric, label, kw in (
          ("ner", "tagging", "seqeval", "NER, span F1", dict(labels=XGLUE_NER_TAGS)),
          ("pos", "tagging", "token_accuracy", "POS, tag accuracy", dict(labels=UPOS)),
          ("nc", "classification", "accuracy", "news classification", dict(labels=XGLUE_NC_LABELS, pair=True)),
          ("mlqa", "span_qa", "mlqa", "MLQA, trained on its SQuAD v1.1", {}),
          ("xnli", "classification", "accuracy", "XNLI, trained on its MultiNLI", dict(labels=NLI_LABELS, pair=True)),
          ("pawsx", "classification", "accuracy", "PAWS-X", dict(labels=PARAPHRASE_LABELS, pair=True)),
          ("qadsm", "classification", "accuracy", "query-ad matching", dict(labels=XGLUE_QADSM_LABELS, pair=True)),
          ("wpr", "classification", "ndcg", "web page ranking, nDCG per query", dict(labels=XGLUE_WPR_LABELS, pair=True)),
          ("qam", "classification", "accuracy", "QA matching", dict(labels=XGLUE_QAM_LABELS, pair=True)),
      )),  # fmt: skip
]

BUILTIN_TASKS: dict[str, Task] = {t.name: t for t in _BUILTIN}


def default_metric(fmt: str) -> str:
    """The metric a task of this format is scored with unless it names one."""
    return {
        "classification": "accuracy",
        "multiple_choice": "accuracy",
        "span_qa": "squad",
        "tagging": "seqeval",
        "retrieval": "retrieval_accuracy",
    }[fmt]


_FIELDS = {f.name for f in fields(Task)}


# Tasks that data sources define and register (the synthetic world: xstilts.data.synthetic, imported
# by the xstilts.data package), after the built-in ones.
SOURCE_TASKS: dict[str, Task] = {}


def register(tasks: dict[str, Task]) -> None:
    """Add the tasks a data source defines to the registry; a name may be registered once."""
    for name, task in tasks.items():
        if name in BUILTIN_TASKS or (name in SOURCE_TASKS and SOURCE_TASKS[name] != task):
            raise ConfigError(f"task '{name}' is registered twice; task names must be unique across data sources.")
        SOURCE_TASKS[name] = task


def build_registry(overrides: dict | None) -> dict[str, Task]:
    """Built-in and registered (synthetic) tasks, updated or extended by the config's ``tasks:`` section."""
    registry = dict(BUILTIN_TASKS)
    registry.update(SOURCE_TASKS)
    for name, spec in (overrides or {}).items():
        spec = dict(spec or {})
        unknown = set(spec) - _FIELDS
        if unknown:
            raise ConfigError(
                f"config key 'tasks.{name}.{sorted(unknown)[0]}' is unknown; a task takes {sorted(_FIELDS - {'name'})}."
            )
        for key in ("languages", "labels", "train_first"):
            if spec.get(key) is not None:
                spec[key] = tuple(spec[key])
        if name in registry:
            task = replace(registry[name], **spec)
        else:
            missing = [k for k in ("format", "languages") if k not in spec]
            if missing:
                raise ConfigError(
                    f"task '{name}' is not built in, so 'tasks.{name}' must define {missing[0]!r} "
                    f"(a new task needs format, languages, and labels for classification/tagging)."
                )
            spec.setdefault("metric", default_metric(spec["format"]))
            spec.setdefault("source", "local")
            task = Task(name=name, **spec)
        _check_task(task)
        registry[name] = task
    return registry


def _check_task(task: Task) -> None:
    where = f"task '{task.name}'"
    if task.format not in FORMATS:
        raise ConfigError(f"{where} has format {task.format!r}; expected one of {list(FORMATS)}.")
    if task.metric not in METRICS:
        raise ConfigError(f"{where} has metric {task.metric!r}; expected one of {list(METRICS)}.")
    if task.format not in METRICS[task.metric]:
        raise ConfigError(f"{where}: metric {task.metric!r} does not apply to format {task.format!r}.")
    if task.format == "classification" and not task.labels:
        raise ConfigError(f"{where} is a classification task and needs 'labels'.")
    # a tagging task without labels takes its tag set from its training data (CCG supertags)
    if task.source not in ("hub", "local", "synthetic", "release"):
        raise ConfigError(f"{where} has source {task.source!r}; expected hub, local, synthetic or release.")
    if task.source == "local" and not task.root:
        raise ConfigError(f"{where} reads source 'local' and needs 'root' (the data directory).")


def task_to_dict(task: Task, *, training: bool = False) -> dict:
    """The fields of a task a job depends on (its params).  For training jobs, not where or in which
    languages the task is evaluated (adding an evaluation language must not retrain anything)."""
    d = asdict(task)
    drop = ["hub", "description", "category", "source", "root", "eval_split_overrides"]
    if training:
        drop += ["languages", "eval_split", "train_task"]
    for key in drop:
        d.pop(key, None)
    return d


def task_from_dict(d: dict) -> Task:
    """The task a job's params describe (the inverse of :func:`task_to_dict`)."""
    d = dict(d)
    for key in ("languages", "labels"):
        if d.get(key) is not None:
            d[key] = tuple(d[key])
    d.pop("eval_split_overrides", None)  # jobs get each language's split explicitly
    return Task(**d)
