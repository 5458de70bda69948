#!/usr/bin/python3
"""Reference training step in plain PyTorch eager, for benchmarking cloze's.

The same denoising model and step as cloze's trainer (framework/src/model/model.cpp,
transformer.cpp, loss.cpp, positions.cpp, trainer.cpp), written the way a
PyTorch user would write it: Hugging Face's torch_mask_tokens for token_mask,
MAE's random_masking and light decoder for patch_mask in fill mode. Each timed
step corrupts the next raw batch, runs forward, the masked loss and backward,
clips the gradient norm and takes an AdamW step.

    /usr/bin/python3 train_step.py DATA --steps S --warmup W --threads T [--profile]

DATA is a safetensors file: `units` [K, B, N] int64 or [K, B, N, D] float32 and
`padding` [K, B, N] bool (K raw batches), metadata `config` (the resolved
experiment as TOML) and `units` (JSON: kind, vocab_size, pad_id, mask_id,
special_ids, unit_dim, normalize_targets, grid). Prints one JSON line.

tools/bench/train_step.cpp writes DATA (`cloze_bench_step CONFIG --save-data
DATA`) from the experiment's real data; tools/bench/run runs both.

Runs with Debian's Python (torch 1.13); standard library, torch and numpy only.
"""

import argparse
import json
import math
import statistics
import struct
import sys
import time
import tomllib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------- safetensors

_DTYPES = {"I64": np.int64, "F32": np.float32, "BOOL": np.bool_}


def load_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len])
    metadata = header.pop("__metadata__", {}) or {}
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if info["dtype"] not in _DTYPES:
            raise SystemExit(f"{path}: tensor {name} has dtype {info['dtype']}, expected one of {sorted(_DTYPES)}")
        begin, end = info["data_offsets"]
        array = np.frombuffer(blob, dtype=_DTYPES[info["dtype"]], count=(end - begin) // np.dtype(
            _DTYPES[info["dtype"]]).itemsize, offset=base + begin)
        tensors[name] = torch.from_numpy(array.reshape(info["shape"]).copy())
    return tensors, metadata


# ---------------------------------------------------------------- model


def sincos_positions(grid, dim):
    """cloze's positions.cpp (MAE's 2-d sin-cos): per grid axis, in row-major
    order, a sin band then a cos band of dim / rank / 2 frequencies each."""
    rank = len(grid)
    if dim % (2 * rank) != 0:
        raise SystemExit(f"sin-cos positions: dim {dim} must be a multiple of {2 * rank}")
    bands = dim // rank // 2
    frequencies = 1.0 / torch.pow(10000.0, torch.arange(bands, dtype=torch.float64) / bands)
    flat = torch.arange(math.prod(grid))
    parts, stride = [], math.prod(grid)
    for extent in grid:
        stride //= extent
        coordinate = torch.div(flat, stride, rounding_mode="floor").remainder(extent)
        angles = coordinate.double().unsqueeze(1) * frequencies.unsqueeze(0)
        parts += [angles.sin(), angles.cos()]
    return torch.cat(parts, 1).float()


def key_padding_mask(padding):
    """[B, N] bool, true = filler -> [B, 1, 1, N] bool, true = may be attended to.
    A row that is all filler attends to its own filler (cloze's rule: no empty
    softmax row)."""
    attend = ~padding | padding.all(1, keepdim=True)
    return attend.view(padding.size(0), 1, 1, padding.size(1))


if hasattr(F, "scaled_dot_product_attention"):  # torch >= 2.0
    def attention(q, k, v, mask, dropout_p):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
elif hasattr(F, "_scaled_dot_product_attention"):  # torch 1.13, the ATen op cloze calls
    def attention(q, k, v, mask, dropout_p):
        return F._scaled_dot_product_attention(q, k, v, mask, dropout_p, False, False)[0]
else:
    def attention(q, k, v, mask, dropout_p):
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return F.dropout(scores.softmax(-1), dropout_p) @ v


class Attention(nn.Module):
    def __init__(self, dim, heads, dropout):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask):
        B, N, C = x.shape
        q, k, v = self.qkv(x).view(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        out = attention(q, k, v, mask, self.dropout if self.training else 0.0)  # [B, heads, N, head_dim]
        return self.proj(out.transpose(1, 2).reshape(B, N, C))


class Block(nn.Module):
    """Pre-LN: x + attn(LN(x)), then x + fc2(gelu(fc1(LN(x))))."""

    def __init__(self, dim, heads, mlp_ratio, dropout):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask):
        x = x + self.dropout(self.attn(self.norm1(x), mask))
        return x + self.dropout(self.fc2(F.gelu(self.fc1(self.norm2(x)))))


class DenoisingModel(nn.Module):
    """cloze's DenoisingModel for in-place (discrete) and fill (continuous, MAE)
    reconstruction; parameter names match cloze's exported weights."""

    def __init__(self, model_cfg, units, mode):
        super().__init__()
        dim, heads, layers = model_cfg["dim"], model_cfg["heads"], model_cfg["layers"]
        mlp_ratio, dropout = model_cfg["mlp_ratio"], model_cfg["dropout"]
        grid = list(units["grid"])
        length = math.prod(grid)
        self.discrete = units["kind"] == "discrete"
        self.fill = mode == "fill"
        if self.discrete == self.fill:
            raise SystemExit("train_step.py mirrors discrete units in place (token_mask) and continuous units in "
                             f"fill mode (MAE) only, not {units['kind']} units in {mode} mode")
        positions = model_cfg.get("positions", "auto")
        fixed = positions == "sincos" or (positions == "auto" and len(grid) >= 2)

        def position_table(width):
            table = nn.Embedding(length, width)
            if fixed:
                with torch.no_grad():
                    table.weight.copy_(sincos_positions(grid, width))
                table.weight.requires_grad_(False)
            return table

        if self.discrete:
            self.token_embed = nn.Embedding(units["vocab_size"], dim)
        else:
            self.unit_proj = nn.Linear(units["unit_dim"], dim)
        self.pos_embed = position_table(dim)
        self.embed_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

        head_width = dim
        if self.fill:
            head_width = model_cfg.get("decoder_dim", 0) or dim
            decoder_heads = model_cfg.get("decoder_heads", 0) or heads
            decoder_layers = model_cfg.get("decoder_layers", 0) or layers
            self.decoder_embed = nn.Linear(dim, head_width)
            self.decoder_mask_embed = nn.Parameter(torch.empty(head_width).normal_(0.0, 0.02))
            self.decoder_pos_embed = position_table(head_width)
            self.decoder_blocks = nn.ModuleList(
                Block(head_width, decoder_heads, mlp_ratio, dropout) for _ in range(decoder_layers))
            self.decoder_norm = nn.LayerNorm(head_width)

        self.tied = self.discrete and model_cfg.get("tie_embeddings", True)
        if self.discrete:
            self.head_dense = nn.Linear(head_width, dim)
            self.head_norm = nn.LayerNorm(dim)
            if self.tied:
                self.head_bias = nn.Parameter(torch.zeros(units["vocab_size"]))
            else:
                self.head_out = nn.Linear(dim, units["vocab_size"])
        else:
            self.head_out = nn.Linear(head_width, units["unit_dim"])

        # BERT's initialisation, as cloze: LayerNorms keep ones and zeros,
        # fixed positions their sin-cos table.
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding) and module.weight.requires_grad:
                nn.init.normal_(module.weight, 0.0, 0.02)

    def head(self, hidden):  # [M, width] -> [M, V] or [M, D]
        if not self.discrete:
            return self.head_out(hidden)
        h = self.head_norm(F.gelu(self.head_dense(hidden)))
        return F.linear(h, self.token_embed.weight, self.head_bias) if self.tied else self.head_out(h)

    def forward_in_place(self, input_ids, padding, loss_mask):
        """input_ids [B, N], padding [B, N] (true = filler), loss_mask [B, N]
        -> logits [M, V] at the loss_mask positions, row-major."""
        N = input_ids.size(1)
        position_ids = torch.arange(N).unsqueeze(0)  # [1, N], broadcast over the batch (as HF BERT)
        x = self.embed_dropout(self.token_embed(input_ids) + self.pos_embed(position_ids))
        mask = key_padding_mask(padding)
        for block in self.blocks:
            x = block(x, mask)
        x = self.norm(x)
        rows = loss_mask.reshape(-1).nonzero().squeeze(1)
        return self.head(x.reshape(-1, x.size(-1)).index_select(0, rows))

    def forward_fill(self, kept, ids_keep, ids_restore, input_mask, target_mask, loss_mask):
        """MAE: kept [B, K, D] patches at grid positions ids_keep [B, K];
        ids_restore [B, N] unshuffles [kept; mask tokens] to the grid;
        input_mask / target_mask: attention masks or None (no padding)
        -> predictions [M, D] at the loss_mask positions, row-major."""
        x = self.embed_dropout(self.unit_proj(kept) + self.pos_embed(ids_keep))
        for block in self.blocks:
            x = block(x, input_mask)
        x = self.decoder_embed(self.norm(x))  # [B, K, decoder_dim]
        B, K, C = x.shape
        N = ids_restore.size(1)
        mask_tokens = self.decoder_mask_embed.expand(B, N - K, C)
        x = torch.cat([x, mask_tokens], 1)
        x = torch.gather(x, 1, ids_restore.unsqueeze(-1).expand(B, N, C))  # unshuffle
        x = self.embed_dropout(x + self.decoder_pos_embed.weight)
        for block in self.decoder_blocks:
            x = block(x, target_mask)
        x = self.decoder_norm(x)
        rows = loss_mask.reshape(-1).nonzero().squeeze(1)
        return self.head(x.reshape(-1, C).index_select(0, rows))


# ---------------------------------------------------------------- corruption


class TokenMask:
    """Hugging Face DataCollatorForLanguageModeling.torch_mask_tokens, with
    cloze's rate / mask / random and random ids drawn from the ordinary ids."""

    def __init__(self, corruption, units):
        self.rate, self.mask, self.random = corruption["rate"], corruption["mask"], corruption["random"]
        self.random_of_rest = self.random / (1.0 - self.mask) if self.mask < 1.0 else 0.0
        self.mask_id = units["mask_id"]
        self.special = torch.tensor(sorted(set(units["special_ids"])), dtype=torch.long)
        ordinary = torch.ones(units["vocab_size"], dtype=torch.bool)
        ordinary[self.special] = False
        self.ordinary = ordinary.nonzero().squeeze(1)

    def __call__(self, units, padding):
        probability = torch.full(units.shape, self.rate)
        special = torch.isin(units, self.special)
        probability.masked_fill_(special | padding, 0.0)
        masked = torch.bernoulli(probability).bool()
        inputs = units.clone()
        replaced = torch.bernoulli(torch.full(units.shape, self.mask)).bool() & masked
        inputs[replaced] = self.mask_id
        randomised = torch.bernoulli(torch.full(units.shape, self.random_of_rest)).bool() & masked & ~replaced
        random_words = self.ordinary[torch.randint(len(self.ordinary), units.shape)]
        inputs[randomised] = random_words[randomised]
        return inputs, masked


def random_masking(units, padding, ratio):
    """MAE's random_masking on the raw patches: keep round(N (1 - ratio)) (halves
    up, as cloze) per row at random. Returns the kept patches [B, K, D], their
    grid positions ids_keep [B, K], ids_restore [B, N] and the dropped mask [B, N]."""
    B, N, D = units.shape
    keep = int(math.floor(N * (1.0 - ratio) + 0.5))
    noise = torch.rand(B, N)
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ids_keep = ids_shuffle[:, :keep]
    kept = torch.gather(units, 1, ids_keep.unsqueeze(-1).expand(B, keep, D))
    dropped = torch.ones(B, N, dtype=torch.bool)
    dropped[:, :keep] = False
    dropped = torch.gather(dropped, 1, ids_restore)
    return kept, ids_keep, ids_restore, dropped


def normalize_units(values):  # MAE's norm_pix_loss target, cloze's normalize_units
    mean = values.mean(-1, keepdim=True)
    var = values.var(-1, unbiased=True, keepdim=True)
    return (values - mean) / (var + 1e-6).sqrt()


# ---------------------------------------------------------------- step


def make_step(model, optimizer, cfg, units, raw_units, raw_padding):
    corruption, train = cfg["corruption"], cfg["train"]
    grad_clip = train["grad_clip"]
    params = list(model.parameters())
    counter = [0]

    if not model.fill:
        token_mask = TokenMask(corruption, units)

        def loss_of(batch_units, padding):
            inputs, loss_mask = token_mask(batch_units, padding)
            logits = model.forward_in_place(inputs, padding, loss_mask)
            return F.cross_entropy(logits, batch_units[loss_mask])
    else:
        ratio, normalize = corruption["ratio"], units.get("normalize_targets", False)
        if corruption.get("pattern", "random") != "random":
            raise SystemExit(f"train_step.py mirrors patch_mask pattern 'random' only, not '{corruption['pattern']}'")

        def loss_of(batch_units, padding):
            kept, ids_keep, ids_restore, dropped = random_masking(batch_units, padding, ratio)
            has_padding = bool(padding.any())  # MAE's inputs have none; mask filler only when there is some
            input_mask = key_padding_mask(torch.gather(padding, 1, ids_keep)) if has_padding else None
            target_mask = key_padding_mask(padding) if has_padding else None
            loss_mask = dropped & ~padding
            predictions = model.forward_fill(kept, ids_keep, ids_restore, input_mask, target_mask, loss_mask)
            target = batch_units[loss_mask]  # [M, D], row-major as the predictions
            if normalize:
                target = normalize_units(target)
            return F.mse_loss(predictions, target)

    def step():
        k = counter[0] % raw_units.size(0)
        counter[0] += 1
        optimizer.zero_grad()
        loss = loss_of(raw_units[k], raw_padding[k])
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()
        return loss.detach()

    return step


def make_optimizer(model, train):
    decayed = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    not_decayed = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decayed, "weight_decay": train["weight_decay"]}, {"params": not_decayed, "weight_decay": 0.0}],
        lr=train["lr"], betas=(train["beta1"], train["beta2"]), eps=train["eps"])


# ---------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="safetensors file of raw batches (cloze_bench_step --save-data)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="after timing, print torch.profiler's table")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    tensors, metadata = load_safetensors(args.data)
    cfg = tomllib.loads(metadata["config"])
    units = json.loads(metadata["units"])
    raw_units, raw_padding = tensors["units"], tensors["padding"].bool()
    mode = cfg["corruption"].get("mode", "in_place")
    if cfg["corruption"]["name"] == "token_mask":
        mode = "in_place"
    elif cfg["corruption"]["name"] != "patch_mask":
        raise SystemExit(f"train_step.py mirrors token_mask and patch_mask, not {cfg['corruption']['name']}")

    model = DenoisingModel(cfg["model"], units, mode)
    model.train()
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"parameters: {total} total, {trainable} trainable", file=sys.stderr)
    optimizer = make_optimizer(model, cfg["train"])
    step = make_step(model, optimizer, cfg, units, raw_units, raw_padding)

    for _ in range(args.warmup):
        step()
    times, loss = [], None
    for _ in range(args.steps):
        start = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - start)

    # Units per step: the non-padding units of a raw batch, averaged over the K batches.
    K, B, N = raw_padding.shape
    units_per_step = (raw_padding.numel() - int(raw_padding.sum())) / K
    median = statistics.median(times) if times else float("nan")
    result = {
        "impl": "pytorch", "mode": mode, "params": total, "trainable": trainable, "threads": torch.get_num_threads(),
        "batch": B, "length": N,
        "units_per_step": int(units_per_step) if units_per_step == int(units_per_step) else units_per_step,
        "median_step_s": median, "min_step_s": min(times) if times else float("nan"),
        "units_per_s": units_per_step / median if times else float("nan"),
        "final_loss": float(loss) if loss is not None else float("nan"),
    }
    print(json.dumps(result), flush=True)

    if args.profile:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(max(args.steps, 1)):
                step()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))


if __name__ == "__main__":
    main()
