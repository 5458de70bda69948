"""The Python implementations cloze's corruptions reproduce, timed the way
tools/bench/corrupt_throughput.cpp times cloze's: same shapes, one thread,
warm-up, then the median over --repeats calls, each with its own seed.

  token_mask   Hugging Face transformers, DataCollatorForLanguageModeling.torch_mask_tokens
               (the special-token mask computed with torch.isin, cheaper than the
               tokenizer's per-row get_special_tokens_mask the collator calls)
  span_infill  Hugging Face examples/flax/language-modeling/run_t5_mlm_flax.py,
               DataCollatorForT5MLM: random_spans_noise_mask per row (numpy),
               create_sentinel_ids, filter_input_ids, shift_tokens_right
  patch_mask   facebookresearch/mae models_mae.py, MaskedAutoencoderViT.random_masking

One JSON line per objective, as the C++ bench prints, with "impl": "python".
Run with Debian's Python, which has torch 1.13:

  /usr/bin/python3 tools/bench/reference/corrupt.py [--repeats 20] [--batch 64] [--length 512] [--grid 14] [--patch-values 768] [--only NAME]
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch

VOCAB = 32000
PAD, EOS, BOS, MASK = 0, 1, 2, 3
SENTINELS = 100  # <extra_id_0> = VOCAB - 1, counting down, as T5
SPECIAL = torch.tensor([PAD, EOS, BOS, MASK] + [VOCAB - 1 - i for i in range(SENTINELS)])
ORDINARY = (4, VOCAB - SENTINELS)  # [low, high): the ids that are not special
WARMUP = 3


# --- token_mask: BERT masking, transformers' torch_mask_tokens ---------------

def bert_mask(inputs, rate=0.15):
    # inputs: [B, N] int64; returns the corrupted inputs and labels (-100 = not predicted)
    inputs = inputs.clone()  # the collator builds a fresh tensor per batch
    labels = inputs.clone()
    probability = torch.full(labels.shape, rate)
    probability.masked_fill_(torch.isin(labels, SPECIAL), value=0.0)
    chosen = torch.bernoulli(probability).bool()
    labels[~chosen] = -100
    replaced = torch.bernoulli(torch.full(labels.shape, 0.8)).bool() & chosen
    inputs[replaced] = MASK
    randomised = torch.bernoulli(torch.full(labels.shape, 0.5)).bool() & chosen & ~replaced
    random_ids = torch.randint(VOCAB, labels.shape, dtype=torch.long)
    inputs[randomised] = random_ids[randomised]
    return inputs, labels


# --- span_infill: T5 span corruption, DataCollatorForT5MLM ---------------------

def t5_raw_length(input_length, density=0.15, mean_span=3.0):
    """compute_input_and_target_lengths: raw tokens whose corrupted input fills input_length."""
    def lengths(tokens):
        noise = int(round(tokens * density))
        spans = int(round(noise / mean_span))
        return tokens - noise + spans + 1, noise + spans + 1

    tokens = input_length
    while lengths(tokens + 1)[0] <= input_length:
        tokens += 1
    if density == 0.5 and lengths(tokens)[1] > lengths(tokens)[0]:
        tokens -= 1
    return tokens


def segment_lengths(items, segments):
    """Splits `items` into `segments` positive lengths, uniformly at random."""
    starts = np.arange(items - 1) < (segments - 1)
    np.random.shuffle(starts)
    segment_of = np.cumsum(np.pad(starts, [[1, 0]]))
    return np.unique(segment_of, return_counts=True)[1]


def noise_mask(length, density=0.15, mean_span=3.0):
    """random_spans_noise_mask: [length] bool, non-noise and noise spans alternating."""
    noise = min(max(int(np.round(length * density)), 1), length - 1)
    spans = max(int(np.round(noise / mean_span)), 1)
    interleaved = np.stack([segment_lengths(length - noise, spans), segment_lengths(noise, spans)], axis=1)
    starts = np.cumsum(interleaved.reshape(spans * 2))[:-1]
    is_start = np.zeros((length,), dtype=np.int8)
    is_start[starts] = True
    return np.equal(np.cumsum(is_start) % 2, 1)


def sentinel_ids(mask):
    """create_sentinel_ids: the span's sentinel at its first unit, -1 on the rest, 0 elsewhere."""
    starts = mask - np.roll(mask, 1, axis=-1) * mask
    starts[:, 0] = mask[:, 0]
    sentinels = np.where(starts != 0, np.cumsum(starts, axis=-1), starts)
    sentinels = np.where(sentinels != 0, VOCAB - sentinels, 0)
    sentinels -= mask - starts
    return sentinels


def filter_ids(ids, sentinels):
    """filter_input_ids: spans collapsed to their sentinel, eos appended."""
    rows = ids.shape[0]
    full = np.where(sentinels != 0, sentinels, ids)
    kept = full[full >= 0].reshape((rows, -1))
    return np.concatenate([kept, np.full((rows, 1), EOS, dtype=kept.dtype)], axis=-1)


def t5_span_corrupt(ids):
    # ids: [B, raw] int64 numpy; returns inputs, labels, decoder inputs
    noise = np.asarray([noise_mask(ids.shape[1]) for _ in range(ids.shape[0])])
    inputs = filter_ids(ids, sentinel_ids(noise.astype(np.int8)))
    labels = filter_ids(ids, sentinel_ids((~noise).astype(np.int8)))
    decoder_inputs = np.zeros_like(labels)  # shift_tokens_right
    decoder_inputs[:, 1:] = labels[:, :-1]
    decoder_inputs[:, 0] = BOS
    return inputs, labels, np.where(decoder_inputs == -100, PAD, decoder_inputs)


# --- patch_mask: MAE random masking -------------------------------------------

def mae_random_masking(x, ratio=0.75):
    # x: [N, L, D]; returns kept patches [N, len_keep, D], mask [N, L] (0 keep, 1 remove), ids_restore [N, L]
    n, length, dim = x.shape
    keep = int(length * (1 - ratio))
    noise = torch.rand(n, length)
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ids_keep = ids_shuffle[:, :keep]
    x_masked = torch.gather(x, dim=1, index=ids_keep.unsqueeze(-1).repeat(1, 1, dim))
    mask = torch.ones([n, length])
    mask[:, :keep] = 0
    mask = torch.gather(mask, dim=1, index=ids_restore)
    return x_masked, mask, ids_restore


# --- timing --------------------------------------------------------------------

def median_seconds(corrupt, batch, repeats):
    seed = 1
    for _ in range(WARMUP):
        torch.manual_seed(seed)
        np.random.seed(seed)
        corrupt(batch)
        seed += 1
    seconds = []
    for _ in range(repeats):
        torch.manual_seed(seed)
        np.random.seed(seed)
        start = time.perf_counter()
        corrupt(batch)
        seconds.append(time.perf_counter() - start)
        seed += 1
    return statistics.median_high(seconds)  # the upper middle, as the C++ bench


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per objective, after warm-up")
    parser.add_argument("--batch", type=int, default=64, help="rows per batch")
    parser.add_argument("--length", type=int, default=512, help="text: units per row of the corrupted input")
    parser.add_argument("--grid", type=int, default=14, help="patches: patches per side of the square grid")
    parser.add_argument("--patch-values", type=int, default=768, help="patches: values per patch")
    parser.add_argument("--only", choices=["token_mask", "span_infill", "patch_mask"], help="run one objective")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    objectives = {
        "token_mask": lambda: (bert_mask, torch.randint(*ORDINARY, (args.batch, args.length))),
        "span_infill": lambda: (t5_span_corrupt,
                                torch.randint(*ORDINARY, (args.batch, t5_raw_length(args.length))).numpy()),
        "patch_mask": lambda: (mae_random_masking, torch.randn(args.batch, args.grid ** 2, args.patch_values)),
    }
    for name, build in objectives.items():
        if args.only and args.only != name:
            continue
        corrupt, batch = build()
        length = batch.shape[1]
        seconds = median_seconds(corrupt, batch, args.repeats)
        print(json.dumps({"objective": name, "impl": "python", "batch": args.batch, "length": length,
                          "units_per_s": args.batch * length / seconds, "median_s": seconds}), flush=True)


if __name__ == "__main__":
    main()
