// The shared pre-LN Transformer block and its self-attention.
#include "cloze/transformer.h"

#include <ATen/Functions.h>
#include <torch/version.h>

#include <tuple>

#include "cloze/error.h"

namespace cloze {

at::Tensor key_padding_mask(const at::Tensor& padding) {
  // A sample that is filler from end to end would leave its queries nothing to
  // attend to; let it attend to its own filler instead, it is never scored.
  at::Tensor attend = padding.logical_not().logical_or_(padding.all(/*dim=*/1, /*keepdim=*/true));
  return attend.view({padding.size(0), 1, 1, padding.size(1)});
}

SelfAttentionImpl::SelfAttentionImpl(int64_t dim, int64_t heads, double dropout) : heads_(heads), dropout_(dropout) {
  if (heads <= 0 || dim % heads != 0)
    throw Error("self-attention: dim " + std::to_string(dim) + " is not divisible by " + std::to_string(heads) +
                " heads");
  qkv_ = register_module("qkv", torch::nn::Linear(dim, 3 * dim));
  proj_ = register_module("proj", torch::nn::Linear(dim, dim));
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  const int64_t batch = x.size(0), length = x.size(1), dim = x.size(2);
  // [B, N, 3*dim] -> [3, B, heads, N, head_dim]: views only, no copy.
  at::Tensor qkv = qkv_->forward(x).view({batch, length, 3, heads_, dim / heads_}).permute({2, 0, 3, 1, 4});
  at::Tensor q = qkv[0], k = qkv[1], v = qkv[2];
  const double dropout_p = is_training() ? dropout_ : 0.0;
  c10::optional<at::Tensor> attn_mask;
  if (mask.defined()) attn_mask = mask;
#if TORCH_VERSION_MAJOR >= 2
  at::Tensor out = at::scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, /*is_causal=*/false);
#else
  at::Tensor out = std::get<0>(at::_scaled_dot_product_attention(q, k, v, attn_mask, dropout_p,
                                                                 /*need_attn_weights=*/false, /*is_causal=*/false));
#endif
  // [B, heads, N, head_dim] -> [B, N, dim]
  return proj_->forward(out.transpose(1, 2).reshape({batch, length, dim}));
}

TransformerBlockImpl::TransformerBlockImpl(int64_t dim, int64_t heads, double mlp_ratio, double dropout) {
  const auto hidden = static_cast<int64_t>(static_cast<double>(dim) * mlp_ratio);
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  attn_ = register_module("attn", SelfAttention(dim, heads, dropout));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  fc1_ = register_module("fc1", torch::nn::Linear(dim, hidden));
  fc2_ = register_module("fc2", torch::nn::Linear(hidden, dim));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
}

at::Tensor TransformerBlockImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  at::Tensor h = x + dropout_->forward(attn_->forward(norm1_->forward(x), mask));
  return h + dropout_->forward(fc2_->forward(at::gelu(fc1_->forward(norm2_->forward(h)))));
}

}  // namespace cloze
