// The shared pre-LN Transformer: multi-head self-attention with one fused qkv
// projection, a GELU MLP, and blocks of x + attn(LN(x)), x + MLP(LN(x)).
// Every modality's model runs the same blocks; only the stem and head differ.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace cloze {

// The attention mask for `padding` ([B, N] bool, true = filler): [B, 1, 1, N]
// bool, true = this key may be attended to, which is what both LibTorch 1.13's
// and 2.x's attention kernels read. A row that is all filler keeps its keys, so
// no softmax row is empty (an empty row would give NaN and poison the gradients).
at::Tensor key_padding_mask(const at::Tensor& padding);

class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(int64_t dim, int64_t heads, double dropout);

  // x: [B, N, dim]; mask: [B, 1, 1, N] bool from key_padding_mask, or undefined.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);  // [B, N, dim]

 private:
  int64_t heads_;
  double dropout_;
  torch::nn::Linear qkv_{nullptr};
  torch::nn::Linear proj_{nullptr};
};

TORCH_MODULE(SelfAttention);

class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(int64_t dim, int64_t heads, double mlp_ratio, double dropout);

  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);  // [B, N, dim]

 private:
  torch::nn::LayerNorm norm1_{nullptr};
  SelfAttention attn_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Linear fc2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};

TORCH_MODULE(TransformerBlock);

}  // namespace cloze
