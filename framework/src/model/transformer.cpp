// The shared pre-LN Transformer blocks (encoder and decoder) and the attention
// they are built from.
#include "cloze/model/transformer.h"

#include <ATen/Functions.h>
#include <torch/version.h>

#include <tuple>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/model/cpu_attention.h"

namespace cloze {

namespace {

int64_t mlp_width(int64_t dim, double mlp_ratio) { return static_cast<int64_t>(static_cast<double>(dim) * mlp_ratio); }

at::Tensor mlp(const torch::nn::Linear& fc1, const torch::nn::Linear& fc2, const at::Tensor& x) {
  return linear(fc2, at::gelu(linear(fc1, x)));  // [B, N, dim]
}

torch::nn::LayerNorm layer_norm(int64_t dim) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})); }

}  // namespace

at::Tensor linear(const torch::nn::Linear& layer, const at::Tensor& x) {
  return at::linear(x, layer->weight, layer->bias);
}

at::Tensor key_padding_mask(const at::Tensor& padding) {
  // A sample that is filler from end to end would leave its queries nothing to
  // attend to; let it attend to its own filler instead, it is never scored.
  at::Tensor attend = padding.logical_not().logical_or_(padding.all(/*dim=*/1, /*keepdim=*/true));
  return attend.view({padding.size(0), 1, 1, padding.size(1)});
}

AttentionImpl::AttentionImpl(int64_t dim, int64_t heads, double dropout, AttentionKind kind)
    : heads_(heads), dropout_(dropout) {
  if (heads <= 0 || dim % heads != 0)
    throw Error("attention: dim " + std::to_string(dim) + " is not divisible by " + std::to_string(heads) + " heads");
  if (kind == AttentionKind::self) {
    qkv_ = register_module("qkv", torch::nn::Linear(dim, 3 * dim));
  } else {
    q_ = register_module("q", torch::nn::Linear(dim, dim));
    kv_ = register_module("kv", torch::nn::Linear(dim, 2 * dim));
  }
  proj_ = register_module("proj", torch::nn::Linear(dim, dim));
}

at::Tensor AttentionImpl::split_heads(const at::Tensor& x) const {
  return x.view({x.size(0), x.size(1), heads_, x.size(2) / heads_}).transpose(1, 2);
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask, bool causal) {
  if (!qkv_) throw Error("attention: a self-attention layer needs no memory; this one is cross-attention");
  // Both kernels refuse an explicit mask together with is_causal; nothing here
  // needs both, since decoder padding is never seen by a real position.
  if (causal && mask.defined()) throw Error("attention: a causal attention takes no padding mask");
  const at::Tensor qkv = linear(qkv_, x);  // [B, N, 3*dim]
  if (cpu_attention_applies(qkv, dropout_p())) return linear(proj_, cpu_self_attention(qkv, heads_, mask, causal));
  const std::vector<at::Tensor> q_k_v = qkv.split(x.size(2), /*dim=*/2);
  return linear(proj_, libtorch_attention(q_k_v[0], q_k_v[1], q_k_v[2], mask, causal));
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const at::Tensor& memory, const at::Tensor& memory_mask) {
  if (!q_) throw Error("attention: a self-attention layer attends to its own input, not to a memory");
  const at::Tensor q = linear(q_, x), kv = linear(kv_, memory);  // [B, N, dim], [B, S, 2*dim]
  if (cpu_attention_applies(q, dropout_p()) && cpu_attention_applies(kv, dropout_p()))
    return linear(proj_, cpu_cross_attention(q, kv, heads_, memory_mask));
  const std::vector<at::Tensor> k_v = kv.split(x.size(2), /*dim=*/2);
  return linear(proj_, libtorch_attention(q, k_v[0], k_v[1], memory_mask, /*causal=*/false));
}

double AttentionImpl::dropout_p() const { return is_training() ? dropout_ : 0.0; }

at::Tensor AttentionImpl::libtorch_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                             const at::Tensor& mask, bool causal) const {
  c10::optional<at::Tensor> attn_mask;
  if (mask.defined()) attn_mask = mask;
#if TORCH_VERSION_MAJOR >= 2
  at::Tensor out = at::scaled_dot_product_attention(split_heads(q), split_heads(k), split_heads(v), attn_mask,
                                                    dropout_p(), causal);
#else
  at::Tensor out = std::get<0>(at::_scaled_dot_product_attention(
      split_heads(q), split_heads(k), split_heads(v), attn_mask, dropout_p(), /*need_attn_weights=*/false, causal));
#endif
  return out.transpose(1, 2).reshape({q.size(0), q.size(1), -1});  // [B, heads, N, head_dim] -> [B, N, dim]
}

TransformerBlockImpl::TransformerBlockImpl(int64_t dim, int64_t heads, double mlp_ratio, double dropout) {
  norm1_ = register_module("norm1", layer_norm(dim));
  attn_ = register_module("attn", Attention(dim, heads, dropout, AttentionKind::self));
  norm2_ = register_module("norm2", layer_norm(dim));
  fc1_ = register_module("fc1", torch::nn::Linear(dim, mlp_width(dim, mlp_ratio)));
  fc2_ = register_module("fc2", torch::nn::Linear(mlp_width(dim, mlp_ratio), dim));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
}

at::Tensor TransformerBlockImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  at::Tensor h = x + dropout_->forward(attn_->forward(norm1_->forward(x), mask));
  return h + dropout_->forward(mlp(fc1_, fc2_, norm2_->forward(h)));
}

DecoderBlockImpl::DecoderBlockImpl(int64_t dim, int64_t heads, double mlp_ratio, double dropout) {
  norm1_ = register_module("norm1", layer_norm(dim));
  self_attn_ = register_module("self_attn", Attention(dim, heads, dropout, AttentionKind::self));
  norm2_ = register_module("norm2", layer_norm(dim));
  cross_attn_ = register_module("cross_attn", Attention(dim, heads, dropout, AttentionKind::cross));
  norm3_ = register_module("norm3", layer_norm(dim));
  fc1_ = register_module("fc1", torch::nn::Linear(dim, mlp_width(dim, mlp_ratio)));
  fc2_ = register_module("fc2", torch::nn::Linear(mlp_width(dim, mlp_ratio), dim));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
}

at::Tensor DecoderBlockImpl::forward(const at::Tensor& x, const at::Tensor& memory, const at::Tensor& memory_mask) {
  at::Tensor h = x + dropout_->forward(self_attn_->forward(norm1_->forward(x), at::Tensor(), /*causal=*/true));
  h = h + dropout_->forward(cross_attn_->forward(norm2_->forward(h), memory, memory_mask));
  return h + dropout_->forward(mlp(fc1_, fc2_, norm3_->forward(h)));
}

}  // namespace cloze
