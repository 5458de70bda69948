// Multi-head scaled dot-product attention for float32 on the CPU, forward and
// backward, one (batch, head) block at a time across the intra-op threads.
//
// LibTorch's own kernel (at::_scaled_dot_product_attention on 1.13) runs the
// math path: batched matmuls that loop over the B * heads small blocks one
// after another, copies to make each head contiguous, and in backward a
// concatenation of the q, k and v gradients. Here every block reads its head's
// columns straight out of the projection's output and writes its gradient
// straight into the projection's gradient, and the blocks run in parallel;
// each block's result does not depend on how blocks are shared among threads,
// so the output is the same with any thread count.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace cloze {

// Whether the kernel takes this projection output: a float32 CPU tensor
// [B, N, W] with contiguous rows, and no attention dropout.
bool cpu_attention_applies(const at::Tensor& projected, double dropout_p);

// Self-attention over qkv: [B, N, 3 * heads * head_dim], the fused projection's
// output, q, k and v side by side; head h of each owns columns
// [h * head_dim, (h + 1) * head_dim) of its third. key_mask: [B, 1, 1, N] or
// [B, N] bool, true = may be attended to (cloze::key_padding_mask), or
// undefined; causal: query i sees keys 0..i. Returns
// softmax(q k^T / sqrt(head_dim)) v as [B, N, heads * head_dim],
// differentiable in qkv.
at::Tensor cpu_self_attention(const at::Tensor& qkv, int64_t heads, const at::Tensor& key_mask, bool causal);

// Cross-attention: q [B, Nq, D] attends to kv [B, Nk, 2 * D], k and v side by
// side; key_mask as above over the Nk keys. Differentiable in q and kv.
at::Tensor cpu_cross_attention(const at::Tensor& q, const at::Tensor& kv, int64_t heads, const at::Tensor& key_mask);

}  // namespace cloze
