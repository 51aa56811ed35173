"""Pretraining of the tiny multilingual encoder of the synthetic world (the `tiny` preset).

- ``train_tokenizer``: a BERT-style WordPiece tokenizer ([PAD] [UNK] [CLS] [SEP] [MASK], lower-case
  normalisation, whitespace + punctuation pre-tokenisation) trained with ``tokenizers`` on every
  language's corpus, saved so that ``AutoTokenizer.from_pretrained(dir)`` gives a fast tokenizer
  (offset mappings, ``is_split_into_words=True`` with ``word_ids()``).
- ``pretrain_mlm``: that tokenizer, then a ``BertForMaskedLM`` trained by masked-LM (15 % of the
  tokens, 80/10/10 [MASK]/random/kept) on sentences drawn from all languages' corpora; saves the
  ENCODER ONLY as a ``BertModel`` **without pooler** (``add_pooling_layer=False``: the MLM never
  trains one) plus the tokenizer.  Load it with
  ``AutoModel.from_pretrained(dir, add_pooling_layer=False)`` for a load with no missing or
  unexpected keys.  A plain ``AutoModel.from_pretrained(dir)`` works too and only reports the
  freshly initialised ``pooler.*``; ``AutoModelForTokenClassification`` / ``ForMaskedLM`` /
  ``ForQuestionAnswering`` have no pooler and load every encoder weight.
- ``random_init_like``: the same architecture freshly initialised, with the same tokenizer: the
  random-encoder control.

Defaults: hidden 128, 4 layers, 4 heads, FFN 512, vocabulary <= 4000, 500 steps of 128 sentences
(length-bucketed, languages mixed), AdamW lr 1e-3 (50 warm-up steps, linear decay), dropout 0.1.
On 2 CPU cores (2 torch threads) that is ~55-60 s of MLM training plus ~5 s of tokenizer training
and encoding on an idle machine (~13k tokens/s), ~80 s when another job shares the cores.
"""

from __future__ import annotations

import math
import os
import time

from xstilts.common.files import utf8_lines

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

DEFAULT_STEPS = 500
DEFAULT_BATCH = 128
DEFAULT_LR = 1e-3
DEFAULT_WARMUP = 50


def _read_lines(files):
    lines = []
    for path in files:
        lines.append([line.strip() for _, line in utf8_lines(path) if line.strip()])
    return lines


def train_tokenizer(corpus_files, out_dir, vocab_size: int = 4000):
    """Train a BERT-style WordPiece tokenizer on ``corpus_files`` and save it to ``out_dir``.

    Returns the ``PreTrainedTokenizerFast``; ``AutoTokenizer.from_pretrained(out_dir)`` loads the
    same tokenizer (fast: offsets and ``word_ids()`` work).
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    files = [str(f) for f in corpus_files]
    if not files:
        raise ValueError("train_tokenizer needs at least one corpus file")
    normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    # The trainer numbers continuing-subword pieces ("##x") in hash-map order, and merge ties are
    # broken by those numbers, so a plain run is not reproducible (huggingface/tokenizers#1794).
    # Registering every "##<char>" of the corpus up front fixes their ids: training becomes
    # deterministic.  They are ordinary vocabulary entries of the final tokenizer, not specials.
    alphabet = set()
    for path in files:
        for _, line in utf8_lines(path):
            alphabet.update(c for c in normalizer.normalize_str(line) if not c.isspace())
    pieces = [f"##{c}" for c in sorted(alphabet)]
    trainee = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="##", max_input_chars_per_word=100))
    trainee.normalizer = normalizer
    trainee.pre_tokenizer = pre_tokenizer
    trainer = trainers.WordPieceTrainer(
        vocab_size=int(vocab_size), min_frequency=2, special_tokens=SPECIAL_TOKENS + pieces,
        continuing_subword_prefix="##", show_progress=False,
    )  # fmt: skip
    trainee.train(files, trainer)
    vocab = trainee.get_vocab()
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", continuing_subword_prefix="##", max_input_chars_per_word=100))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.add_special_tokens(SPECIAL_TOKENS)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
        model_max_length=512, do_lower_case=True,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )  # fmt: skip
    os.makedirs(out_dir, exist_ok=True)
    fast.save_pretrained(str(out_dir))
    return fast


def _bert_config(vocab_size, hidden, layers, heads, intermediate, max_len, tokenizer):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=max_len,
        type_vocab_size=2,
        pad_token_id=tokenizer.pad_token_id,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )


def _save_encoder(bert_module, config, out_dir):
    """Save ``bert_module`` (a BertModel without pooler) as a standalone float32 BertModel."""
    import torch
    from transformers import BertModel

    config.architectures = ["BertModel"]
    encoder = BertModel(config, add_pooling_layer=False)
    missing, unexpected = encoder.load_state_dict(bert_module.state_dict(), strict=False)
    if missing or unexpected:
        raise RuntimeError(f"encoder weights do not match: missing {missing}, unexpected {unexpected}")
    encoder.to(torch.float32).save_pretrained(str(out_dir), safe_serialization=True)


def _length_batches(encoded, batch_size, rng):
    """Endless batches of ``batch_size`` sentences: each epoch a fresh random order, cut into
    pools of 32 batches whose sentences are sorted by length (little padding), the batches of
    all pools then shuffled.  Deterministic given ``rng``."""
    import numpy as np

    lengths = np.array([len(x) for x in encoded])
    pool = batch_size * 32
    while True:
        order = rng.permutation(len(encoded))
        batches = []
        for start in range(0, len(order) - batch_size + 1, pool):
            chunk = order[start : start + pool]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            batches += [chunk[i : i + batch_size] for i in range(0, len(chunk) - batch_size + 1, batch_size)]
        for j in rng.permutation(len(batches)):
            yield [encoded[i] for i in batches[j]]


def _mask_batch(ids_list, tokenizer, gen, special_ids, vocab_size, mlm_prob=0.15):
    """Pad a batch and apply BERT masking (80 % [MASK], 10 % random token, 10 % kept)."""
    import torch

    n, width = len(ids_list), max(len(x) for x in ids_list)
    input_ids = torch.full((n, width), tokenizer.pad_token_id, dtype=torch.long)
    attention = torch.zeros((n, width), dtype=torch.long)
    for i, ids in enumerate(ids_list):
        input_ids[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention[i, : len(ids)] = 1
    maskable = attention.bool() & ~torch.isin(input_ids, special_ids)
    chosen = (torch.rand((n, width), generator=gen) < mlm_prob) & maskable
    # every sentence predicts at least one token
    none = ~chosen.any(dim=1)
    if none.any():
        scores = torch.rand((n, width), generator=gen).masked_fill(~maskable, -1.0)
        first = scores.argmax(dim=1)
        rows = torch.nonzero(none & maskable.any(dim=1)).flatten()
        chosen[rows, first[rows]] = True
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    r = torch.rand((n, width), generator=gen)
    to_mask = chosen & (r < 0.8)
    to_random = chosen & (r >= 0.8) & (r < 0.9)
    input_ids = input_ids.masked_fill(to_mask, tokenizer.mask_token_id)
    random_ids = torch.randint(len(SPECIAL_TOKENS), vocab_size, (n, width), generator=gen)
    input_ids = torch.where(to_random, random_ids, input_ids)
    return input_ids, attention, labels


def pretrain_mlm(
    corpus_files,
    out_dir,
    *,
    vocab_size: int = 4000,
    hidden: int = 128,
    layers: int = 4,
    heads: int = 4,
    intermediate: int = 512,
    max_len: int = 64,
    steps: int = DEFAULT_STEPS,
    batch_size: int = DEFAULT_BATCH,
    lr: float = DEFAULT_LR,
    warmup: int = DEFAULT_WARMUP,
    seed: int = 0,
    threads: int = 2,
    log=print,
) -> dict:
    """Train the tokenizer, then a masked-LM BERT on all corpora; save encoder + tokenizer.

    Deterministic on CPU for a given seed and thread count.  Every step draws ``batch_size``
    sentences uniformly from the union of the corpora (so languages are mixed within a batch).
    Returns stats: final (last-10 %-of-steps mean) and last-step MLM loss, steps, seconds,
    tokens/s, parameter count, vocabulary size.
    """
    import numpy as np
    import torch
    from transformers import BertForMaskedLM

    t0 = time.time()
    torch.set_num_threads(int(threads))
    out_dir = str(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    corpus_files = [str(f) for f in corpus_files]
    tokenizer = train_tokenizer(corpus_files, out_dir, vocab_size=vocab_size)
    lines = [line for group in _read_lines(corpus_files) for line in group]
    if not lines:
        raise ValueError("the MLM corpus is empty")
    encoded = tokenizer(lines, add_special_tokens=True, truncation=True, max_length=max_len)["input_ids"]
    encoded = [ids for ids in encoded if len(ids) > 2]
    real_vocab = len(tokenizer)
    config = _bert_config(real_vocab, hidden, layers, heads, intermediate, max_len, tokenizer)

    torch.manual_seed(seed)
    model = BertForMaskedLM(config)
    model.train()
    n_params = sum(p.numel() for p in model.bert.parameters())
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "LayerNorm" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "LayerNorm" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, betas=(0.9, 0.98), eps=1e-6,
    )  # fmt: skip
    warmup = max(1, min(int(warmup), steps))

    def schedule(step):
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (steps - step) / max(1, steps - warmup))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    special_ids = torch.tensor(tokenizer.all_special_ids, dtype=torch.long)
    log(f"[pretrain] {len(encoded)} sentences from {len(corpus_files)} corpora, vocab {real_vocab}, "
        f"{n_params / 1e6:.2f}M encoder parameters, {steps} steps x {batch_size} sentences, {threads} threads")  # fmt: skip

    t_train = time.time()
    tokens, losses = 0, []
    every = max(1, steps // 10)
    loss_value = float("nan")
    batches = _length_batches(encoded, batch_size, rng)
    for step in range(steps):
        batch = next(batches)
        input_ids, attention, labels = _mask_batch(batch, tokenizer, gen, special_ids, real_vocab)
        hidden_states = model.bert(input_ids=input_ids, attention_mask=attention).last_hidden_state
        sel = labels != -100
        logits = model.cls(hidden_states[sel])  # the vocabulary projection only where it is scored
        loss = torch.nn.functional.cross_entropy(logits, labels[sel])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        loss_value = float(loss.detach())
        losses.append(loss_value)
        tokens += int(attention.sum())
        if (step + 1) % every == 0 or step + 1 == steps:
            el = time.time() - t_train
            recent = sum(losses[-every:]) / len(losses[-every:])
            log(f"[pretrain] step {step + 1}/{steps} ({100 * (step + 1) / steps:.0f}%) mlm loss {recent:.3f} "
                f"lr {sched.get_last_lr()[0]:.2e} {el:.1f}s {tokens / max(el, 1e-9):.0f} tok/s")  # fmt: skip
    train_seconds = time.time() - t_train
    model.eval()
    _save_encoder(model.bert, config, out_dir)
    tail = losses[-max(1, steps // 10) :]
    stats = {
        "final_mlm_loss": sum(tail) / len(tail),
        "last_step_loss": loss_value,
        "steps": steps,
        "batch_size": batch_size,
        "train_seconds": train_seconds,
        "seconds": time.time() - t0,
        "tokens_per_second": tokens / max(train_seconds, 1e-9),
        "tokens": tokens,
        "encoder_parameters": n_params,
        "vocab_size": real_vocab,
        "sentences": len(encoded),
        "pooler": False,
    }
    if not math.isfinite(stats["final_mlm_loss"]):
        raise RuntimeError(f"MLM pretraining diverged: {stats}")
    log(f"[pretrain] done: loss {stats['final_mlm_loss']:.3f}, {stats['seconds']:.1f}s total, "
        f"{stats['tokens_per_second']:.0f} tok/s; encoder (no pooler) + tokenizer in {out_dir}")  # fmt: skip
    return stats


def random_init_like(model_dir, out_dir, seed: int = 0) -> str:
    """Save, in ``out_dir``, a freshly initialised encoder with ``model_dir``'s architecture and
    tokenizer (no pooler, like ``pretrain_mlm``).  Returns ``out_dir``."""
    import torch
    from transformers import AutoConfig, BertModel

    from xstilts.modelling.models import load_tokenizer

    tokenizer = load_tokenizer(str(model_dir))
    config = AutoConfig.from_pretrained(str(model_dir))
    fork = torch.random.fork_rng(devices=[])
    with fork:
        torch.manual_seed(seed)
        config.architectures = ["BertModel"]
        model = BertModel(config, add_pooling_layer=False)
    os.makedirs(out_dir, exist_ok=True)
    model.to(torch.float32).save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
    return str(out_dir)


def layer_list(model):
    """The encoder's stack of transformer layers: the one ``nn.ModuleList`` as long as the config's
    ``num_hidden_layers`` (``encoder.layer`` of BERT/XLM-R, ``layers`` of decoder LLMs)."""
    from torch import nn

    n = model.config.num_hidden_layers
    found = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.ModuleList) and len(m) == n]
    if len(found) != 1:
        raise ValueError(f"cannot tell which module list holds the {n} layers of {type(model).__name__} "
                         f"(candidates: {[name for name, _ in found]}).")  # fmt: skip
    return found[0]


def truncate_like(model_dir, out_dir, layers: int) -> dict:
    """Save, in ``out_dir``, ``model_dir``'s encoder with its embeddings and only its first ``layers``
    transformer layers (a smaller model of the same family and tokenizer, for the scale question).
    Returns the parameter counts before and after."""
    import torch
    from torch import nn

    from xstilts.modelling.models import load_encoder, load_tokenizer

    tokenizer = load_tokenizer(str(model_dir))
    model = load_encoder(str(model_dir), dtype="float32")
    total = model.config.num_hidden_layers
    if not 1 <= layers < total:
        raise ValueError(f"cannot keep {layers} layers of '{model_dir}', which has {total}; expected 1 to {total - 1}.")
    from xstilts.modelling.sizes import safetensors_params

    if getattr(model, "pooler", None) is not None and not safetensors_params(str(model_dir), prefix="pooler."):
        model.pooler = None  # a pooler the checkpoint never had would be saved as random weights
    before = sum(p.numel() for p in model.parameters())
    name, stack = layer_list(model)
    parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
    setattr(parent, name.rsplit(".", 1)[-1], nn.ModuleList(list(stack)[:layers]))
    model.config.num_hidden_layers = layers
    for key in ("layer_types",):  # per-layer settings of newer configs must shrink with the stack
        if isinstance(getattr(model.config, key, None), list):
            setattr(model.config, key, getattr(model.config, key)[:layers])
    os.makedirs(out_dir, exist_ok=True)
    with torch.no_grad():
        model.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
    return {"layers": layers, "of": total, "params_before": before, "params": sum(p.numel() for p in model.parameters())}
