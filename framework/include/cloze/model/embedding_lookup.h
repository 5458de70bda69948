// Rows of an embedding table picked by index, with a backward pass that adds
// each index's gradient row with a plain loop.
//
// LibTorch 1.13's CPU embedding backward adds every index's row with its own
// pair of tensor ops (grad_weight[k].add_(grad[i])): a few microseconds per
// index, so a batch of 64 x 64 tokens spends milliseconds on dispatch alone,
// once for the token table and again for the position table. Here a thread
// owns a range of table rows and walks the indices once; each row's sum is
// taken in index order, so the result is the same with any thread count.
// Indices broadcast over their first dimension (stride 0) are looked up once.
#pragma once

#include <ATen/core/Tensor.h>

namespace cloze {

// weight: [V, D]; indices: int64 of any shape, each in [0, V). Returns
// weight[indices] ([..., D]), differentiable in weight. Float32 CPU tables take
// the loop above; any other table, LibTorch's at::embedding.
at::Tensor embedding_lookup(const at::Tensor& weight, const at::Tensor& indices);

}  // namespace cloze
