// The shared pre-LN Transformer: multi-head attention (self-attention with one
// fused qkv projection, or cross-attention with separate q and kv projections),
// a GELU MLP, and the blocks built from them: the encoder's
// x + attn(LN(x)), x + MLP(LN(x)), and the decoder's, which adds causal
// self-attention and cross-attention over the encoder's output.
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

// `layer` applied to x ([..., in] -> [..., out]) through ATen's linear, which
// folds a contiguous [B, N, in] input into one GEMM with the bias added in
// it (addmm). The C++ frontend's Linear::forward runs matmul and then adds the
// bias in a second pass over the output, and once more in backward.
at::Tensor linear(const torch::nn::Linear& layer, const at::Tensor& x);

// The attention mask for `padding` ([B, N] bool, true = filler): [B, 1, 1, N]
// bool, true = this key may be attended to, which is what both LibTorch 1.13's
// and 2.x's attention kernels read. A row that is all filler keeps its keys, so
// no softmax row is empty (an empty row would give NaN and poison the gradients).
at::Tensor key_padding_mask(const at::Tensor& padding);

enum class AttentionKind {
  self,   // queries, keys and values from the same sequence: one fused qkv projection
  cross,  // queries from one sequence, keys and values from another (the encoder's output)
};

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t dim, int64_t heads, double dropout, AttentionKind kind);

  // Self-attention. x: [B, N, dim]; mask: [B, 1, 1, N] bool from
  // key_padding_mask, or undefined; causal: position i sees keys 0..i only.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask, bool causal = false);  // [B, N, dim]

  // Cross-attention. x: [B, N, dim] queries; memory: [B, S, dim] keys and
  // values; memory_mask: [B, 1, 1, S] bool from key_padding_mask, or undefined.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& memory, const at::Tensor& memory_mask);  // [B, N, dim]

 private:
  // Float32 on the CPU without attention dropout runs cloze's own kernel
  // (cpu_attention.h), everything else this: q [B, N, dim], k and v
  // [B, S, dim], heads side by side -> [B, N, dim].
  at::Tensor libtorch_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                                bool causal) const;
  double dropout_p() const;  // attention dropout now: 0 in eval
  // [B, N, heads * head_dim] -> [B, heads, N, head_dim], a view
  at::Tensor split_heads(const at::Tensor& x) const;

  int64_t heads_;
  double dropout_;
  torch::nn::Linear qkv_{nullptr};  // self
  torch::nn::Linear q_{nullptr};    // cross
  torch::nn::Linear kv_{nullptr};   // cross
  torch::nn::Linear proj_{nullptr};
};

TORCH_MODULE(Attention);

// The encoder's block.
class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(int64_t dim, int64_t heads, double mlp_ratio, double dropout);

  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);  // [B, N, dim]

 private:
  torch::nn::LayerNorm norm1_{nullptr};
  Attention attn_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Linear fc2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};

TORCH_MODULE(TransformerBlock);

// The decoder's block: x + self_attn(LN(x)) causal, then
// x + cross_attn(LN(x), memory), then x + MLP(LN(x)).
class DecoderBlockImpl : public torch::nn::Module {
 public:
  DecoderBlockImpl(int64_t dim, int64_t heads, double mlp_ratio, double dropout);

  // x: [B, N_t, dim] decoder states; memory: [B, N_in, dim] the encoder's
  // output; memory_mask: [B, 1, 1, N_in] from key_padding_mask, or undefined.
  // The decoder's own padding needs no mask: it sits only at the end of a row,
  // where causal attention keeps every real position from seeing it.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& memory, const at::Tensor& memory_mask);  // [B, N_t, dim]

 private:
  torch::nn::LayerNorm norm1_{nullptr};
  Attention self_attn_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  Attention cross_attn_{nullptr};
  torch::nn::LayerNorm norm3_{nullptr};
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Linear fc2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};

TORCH_MODULE(DecoderBlock);

}  // namespace cloze
