#!/usr/bin/env python3
"""Hugging Face reference for cloze's GPU benchmarks (tools/bench/gpu): the same
models, shapes and training step as configs/bench/NAME.toml, written the way a
transformers user writes them.

    python3 tools/bench/reference/hf_gpu.py BENCH [BENCH ...] [--steps 20] [--warmup 5] [--seed 0]

BENCH is one of bert_base_mlm_128, bert_base_mlm_512, vit_mae_base, t5_base_span.
Each prints one JSON line on stdout and a readable line on stderr; a bench that
fails prints its traceback, the others still run, and the exit status is 1.

  bert_base_mlm_128 / _512  BertForMaskedLM(BertConfig()) without dropout, SDPA
      attention; batch 64 x 128 / 32 x 512 of random ids, masked in the step by
      DataCollatorForLanguageModeling (0.15) with a BertTokenizerFast read from a
      generated vocab.txt. Units: tokens.
  vit_mae_base  ViTMAEForPreTraining(ViTMAEConfig()) (224 px, patch 16, mask
      ratio 0.75, decoder 512 x 8); batch 128 of normal noise. Units: patches
      (batch x 196).
  t5_base_span  T5ForConditionalGeneration at t5-base sizes without dropout;
      batch 32; T5 span corruption (noise 0.15, mean span 3) in numpy in the
      step, 568 raw tokens -> 512 input and 114 target tokens. Units: raw
      tokens consumed (batch x 568), as cloze counts them.

The step: autocast to bf16 over float32 weights, backward, clip the gradient
norm to 1, fused AdamW (lr 1e-4), zero the gradients. Raw batches come from a
pool made up front (the data set); whatever the recipe corrupts on the CPU is
corrupted inside the step, and batches reach the GPU through pinned memory
without blocking, as a DataLoader with pin_memory=True hands them over. Steps
are timed with CUDA events and synchronised once, at the end.

Needs torch with CUDA, transformers and numpy; downloads nothing (every model
and tokenizer is built from a config here).
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing to fetch: never wait on a network that is not there

import argparse
import gc
import itertools
import json
import random
import statistics
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import transformers
from torch.utils.flop_counter import FlopCounterMode
from transformers import (BertConfig, BertForMaskedLM, DataCollatorForLanguageModeling, T5Config,
                          T5ForConditionalGeneration, ViTMAEConfig, ViTMAEForPreTraining)

try:
    from transformers import BertTokenizerFast
except ImportError:  # transformers 5 folded the fast tokenizer into BertTokenizer, backed by tokenizers
    from transformers import BertTokenizer as BertTokenizerFast

POOL = 4  # raw batches made up front and cycled through, as cloze_bench_step's --batches
LR, GRAD_CLIP = 1e-4, 1.0


@dataclass
class Bench:
    model: torch.nn.Module
    next_batch: Callable[[], dict]  # the next step's inputs, on the GPU
    batch: int
    length: int  # tokens or patches per row of the encoder input
    units_per_step: int
    weight_decay: float
    betas: tuple
    extra: dict = field(default_factory=dict)  # bench-specific facts for the JSON line


def to_gpu(batch):
    """CPU tensors to the GPU the way a DataLoader with pin_memory=True does it: page-locked, then an
    asynchronous copy that does not hold the Python thread."""
    return {key: value.pin_memory().to("cuda", non_blocking=True) for key, value in batch.items()}


def build(model_class, config_class, **settings):
    """The model from a config, with PyTorch's fused attention (SDPA) where transformers offers it for
    this architecture, else its eager attention. Returns the model and the attention it got."""
    try:
        model = model_class(config_class(attn_implementation="sdpa", **settings))
    except (ValueError, ImportError) as error:
        print(f"hf_gpu: {model_class.__name__} has no SDPA attention ({error}); using eager", file=sys.stderr)
        model = model_class(config_class(attn_implementation="eager", **settings))
    return model, model.config._attn_implementation


# ---------------------------------------------------------------- BERT


SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def bert_tokenizer(vocab_size, directory):
    """A BertTokenizerFast read from a vocab.txt written here: the five special tokens, then filler words."""
    words = SPECIALS + [f"tok{i}" for i in range(len(SPECIALS), vocab_size)]
    (Path(directory) / "vocab.txt").write_text("\n".join(words) + "\n")
    tokenizer = BertTokenizerFast.from_pretrained(directory)
    if len(tokenizer) != vocab_size or tokenizer.mask_token_id != SPECIALS.index("[MASK]"):
        raise RuntimeError(f"the tokenizer read from {directory}/vocab.txt has {len(tokenizer)} tokens and "
                           f"[MASK] = {tokenizer.mask_token_id}, not {vocab_size} and {SPECIALS.index('[MASK]')}")
    return tokenizer


def bert_mlm(batch, length, scratch, generator):
    model, attention = build(BertForMaskedLM, BertConfig, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    vocab = model.config.vocab_size
    collator = DataCollatorForLanguageModeling(tokenizer=bert_tokenizer(vocab, scratch), mlm_probability=0.15)
    # Ordinary ids only: no [CLS], [SEP] or [PAD] in the rows, so every position may be masked.
    pool = [torch.randint(len(SPECIALS), vocab, (batch, length), generator=generator) for _ in range(POOL)]
    turn = itertools.count()

    def next_batch():
        rows = pool[next(turn) % POOL]
        # A DataLoader hands the collator a list of examples; it stacks them into a new tensor, which it
        # then masks in place, so the pool stays raw.
        return to_gpu(collator(list(rows)))

    return Bench(model, next_batch, batch, length, batch * length, weight_decay=0.01, betas=(0.9, 0.999),
                 extra={"attention": attention, "mlm_probability": 0.15})


# ---------------------------------------------------------------- ViT-MAE


def vit_mae(scratch, generator):
    model, attention = build(ViTMAEForPreTraining, ViTMAEConfig)
    config = model.config
    batch, patches = 128, (config.image_size // config.patch_size) ** 2
    # Made once and kept page-locked: drawing 77 MB of normal noise per step would time the CPU's random
    # number generator, which a DataLoader's workers would hide. MAE masks on the GPU, inside the model.
    pool = [torch.randn(batch, config.num_channels, config.image_size, config.image_size, generator=generator)
            .pin_memory() for _ in range(POOL)]
    turn = itertools.count()

    def next_batch():
        return {"pixel_values": pool[next(turn) % POOL].to("cuda", non_blocking=True)}

    return Bench(model, next_batch, batch, patches, batch * patches, weight_decay=0.05, betas=(0.9, 0.95),
                 extra={"attention": attention, "mask_ratio": config.mask_ratio})


# ---------------------------------------------------------------- T5


def span_corruption_lengths(input_length, noise_density, mean_span):
    """T5's span-corruption arithmetic: the longest raw row whose corrupted input (kept tokens, one sentinel
    per noise span, eos) fits in input_length. Returns raw length, input length, target length (noise tokens,
    one sentinel per span, eos), noise tokens and noise spans."""
    def lengths(raw):
        noise = int(round(raw * noise_density))
        spans = max(1, int(round(noise / mean_span)))
        return raw - noise + spans + 1, noise + spans + 1, noise, spans

    raw = input_length
    while lengths(raw + 1)[0] <= input_length:
        raw += 1
    return (raw, *lengths(raw))


def random_run_lengths(rng, rows, total, runs):
    """Per row, `total` items cut into `runs` non-empty runs at random ([rows, runs]): runs - 1 distinct cut
    points among the total - 1 gaps."""
    cuts = np.sort(rng.random((rows, total - 1)).argsort(axis=1)[:, :runs - 1] + 1, axis=1)
    edges = np.concatenate([np.zeros((rows, 1), np.int64), cuts, np.full((rows, 1), total)], axis=1)
    return np.diff(edges, axis=1)


def span_corrupt(ids, rng, noise, spans, vocab_size, eos_id=1):
    """T5 span corruption of every row of ids [rows, raw]: `noise` tokens in `spans` spans become one sentinel
    each in the input; the target lists each span after its sentinel. Sentinels count down from
    vocab_size - 1 (T5's extra ids); both end with eos. Returns inputs [rows, I] and targets [rows, T]."""
    rows, raw = ids.shape
    kept_runs = random_run_lengths(rng, rows, raw - noise, spans)
    noise_runs = random_run_lengths(rng, rows, noise, spans)
    # Runs alternate kept, noise, kept, noise, ... (T5 starts with kept tokens): run r of a row is noise when
    # r is odd. Mark where each run after the first starts, and count the marks.
    starts = np.cumsum(np.stack([kept_runs, noise_runs], axis=2).reshape(rows, 2 * spans), axis=1)[:, :-1]
    run = np.zeros((rows, raw), np.int64)
    np.put_along_axis(run, starts, 1, axis=1)
    run = np.cumsum(run, axis=1)
    is_noise = run % 2 == 1
    first = np.ones((rows, raw), bool)
    first[:, 1:] = run[:, 1:] != run[:, :-1]
    # Noise run 2k - 1 and the kept run 2k - 2 before it both get sentinel k (1-based).
    sentinel = vocab_size - (run // 2 + 1)
    eos = np.full((rows, 1), eos_id, np.int64)

    def keep(drop):  # every row drops the same number of tokens, so the kept ones reshape to a matrix
        kept = np.where(first & drop, sentinel, ids)[~drop | first]
        return np.concatenate([kept.reshape(rows, -1), eos], axis=1)

    return keep(is_noise), keep(~is_noise)


def t5_span(scratch, generator, input_length=512, noise_density=0.15, mean_span=3.0):
    # t5-base: d_model 768, d_ff 3072, 12 + 12 layers, 12 heads of 64, ReLU feed-forward, vocabulary 32128.
    model, attention = build(T5ForConditionalGeneration, T5Config, vocab_size=32128, d_model=768, d_kv=64,
                             d_ff=3072, num_layers=12, num_decoder_layers=12, num_heads=12, dropout_rate=0.0,
                             feed_forward_proj="relu")
    vocab = model.config.vocab_size
    batch = 32
    raw, inputs, targets, noise, spans = span_corruption_lengths(input_length, noise_density, mean_span)
    if inputs != input_length:
        raise RuntimeError(f"span corruption of {raw} tokens gives {inputs} input tokens, not {input_length}")
    rng = np.random.default_rng(int(torch.randint(2**31, (1,), generator=generator)))
    # Ordinary ids: after pad (0), eos (1) and unk (2), below the sentinels.
    pool = [rng.integers(3, vocab - spans, (batch, raw), dtype=np.int64) for _ in range(POOL)]
    turn = itertools.count()

    def next_batch():
        source, target = span_corrupt(pool[next(turn) % POOL], rng, noise, spans, vocab)
        # The decoder reads the target shifted right behind T5's start token (pad, 0); made here as the
        # span-corruption collator of transformers' T5 pretraining example does.
        decoder = np.concatenate([np.zeros((batch, 1), np.int64), target[:, :-1]], axis=1)
        return to_gpu({"input_ids": torch.from_numpy(source), "decoder_input_ids": torch.from_numpy(decoder),
                       "labels": torch.from_numpy(target)})

    return Bench(model, next_batch, batch, input_length, batch * raw, weight_decay=0.01,
                 betas=(0.9, 0.999), extra={"attention": attention, "raw_length": raw, "target_length": targets,
                                            "noise_tokens": noise, "noise_spans": spans})


BENCHES = {
    "bert_base_mlm_128": lambda scratch, generator: bert_mlm(64, 128, scratch, generator),
    "bert_base_mlm_512": lambda scratch, generator: bert_mlm(32, 512, scratch, generator),
    "vit_mae_base": vit_mae,
    "t5_base_span": t5_span,
}


# ---------------------------------------------------------------- step


def make_optimizer(params, weight_decay, betas):
    """Fused AdamW; biases and norm weights (the 1-d parameters) without weight decay, as the Hugging Face
    Trainer and cloze's trainer leave them."""
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=LR, betas=betas, fused=True)


def training_flops(model, batch):
    """FLOPs of one forward and backward (matrix products and attention, as torch counts them)."""
    with FlopCounterMode(display=False) as counter:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(**batch).loss
        loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def run_bench(name, args, scratch):
    torch.manual_seed(args.seed)  # CPU and every GPU
    random.seed(args.seed)
    np.random.seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    bench = BENCHES[name](scratch, generator)
    model = bench.model.to("cuda").train()  # float32 weights; autocast runs the matrix products in bf16
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, bench.weight_decay, bench.betas)

    def step():
        batch = bench.next_batch()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    flops = training_flops(model, bench.next_batch())
    for _ in range(args.warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(args.steps)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(args.steps)]
    for start, end in zip(starts, ends):
        # Events mark the GPU's timeline: the host may run steps ahead, and a step whose host work (masking,
        # copies, launches) falls behind shows as the GPU waiting between its events.
        start.record()
        loss = step()
        end.record()
    torch.cuda.synchronize()
    seconds = [start.elapsed_time(end) / 1e3 for start, end in zip(starts, ends)]
    median = statistics.median(seconds)
    return {
        "impl": "huggingface", "bench": name, "batch": bench.batch, "length": bench.length,
        "units_per_step": bench.units_per_step, "median_step_s": median, "min_step_s": min(seconds),
        "units_per_s": bench.units_per_step / median, "flops_per_step": flops,
        "peak_memory_bytes": torch.cuda.max_memory_allocated(),
        "params": sum(p.numel() for p in model.parameters()), "trainable": sum(p.numel() for p in params),
        "final_loss": float(loss), **bench.extra,
        "steps": args.steps, "warmup": args.warmup, "device": torch.cuda.get_device_name(),
        "torch": torch.__version__, "transformers": transformers.__version__,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("benches", nargs="+", choices=list(BENCHES), metavar="BENCH",
                        help="one or more of: " + ", ".join(BENCHES))
    parser.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be at least 1 and --warmup at least 0")
    if not torch.cuda.is_available():
        sys.exit("hf_gpu: torch sees no CUDA device")

    failed = []
    with tempfile.TemporaryDirectory(prefix="hf-gpu-") as scratch:
        for name in args.benches:
            try:
                result = run_bench(name, args, scratch)
            except Exception:  # one bench's failure (out of memory, an API change) must not stop the others
                traceback.print_exc()
                print(f"hf_gpu: {name}: failed", file=sys.stderr, flush=True)
                failed.append(name)
            else:
                print(json.dumps(result), flush=True)
                print(f"hf_gpu: {name}: batch {result['batch']} x {result['length']}, "
                      f"{1e3 * result['median_step_s']:.1f} ms median ({1e3 * result['min_step_s']:.1f} min), "
                      f"{result['units_per_s'] / 1e3:.1f} k units/s, "
                      f"{result['flops_per_step'] / result['median_step_s'] / 1e12:.0f} TFLOP/s, "
                      f"peak {result['peak_memory_bytes'] / 2**30:.2f} GiB, {result['params'] / 1e6:.1f} M params, "
                      f"loss {result['final_loss']:.3f}, {result['attention']} attention",
                      file=sys.stderr, flush=True)
            # Free this bench's model, optimizer state and cached blocks before the next one.
            gc.collect()
            torch.cuda.empty_cache()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
