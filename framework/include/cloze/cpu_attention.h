// Multi-head scaled dot-product attention for float32 on the CPU, forward and
// backward, one (batch, head) block at a time across the intra-op threads.
//
// LibTorch's own kernel (at::_scaled_dot_product_attention on 1.13) runs the
// math path: batched matmuls that loop over the B * heads small blocks one
// after another on one core, plus copies to make each head contiguous. Here
// every block reads its head's columns straight out of the projection's
// output (no copy), keeps its scores in a buffer that stays in cache, and the
// blocks run in parallel; each block's result does not depend on how blocks
// are shared among threads, so the output is the same with any thread count.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace cloze {

// Whether cpu_attention() takes these inputs: float32 CPU tensors whose last
// dimension is contiguous, and no attention dropout.
bool cpu_attention_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double dropout_p);

// q: [B, Nq, heads * head_dim], k and v: [B, Nk, heads * head_dim] (views into
// a wider projection are fine); head h owns columns [h * head_dim, (h + 1) *
// head_dim). key_mask: [B, 1, 1, Nk] or [B, Nk] bool, true = may be attended
// to (cloze::key_padding_mask), or undefined; causal: query i sees keys 0..i.
// Returns softmax(q k^T / sqrt(head_dim)) v as [B, Nq, heads * head_dim],
// differentiable in q, k and v.
at::Tensor cpu_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads,
                         const at::Tensor& key_mask, bool causal);

}  // namespace cloze
