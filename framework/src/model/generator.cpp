#include "cloze/model/generator.h"

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include "cloze/core/error.h"
#include "cloze/core/shape_text.h"
#include "cloze/model/embedding_lookup.h"
#include "cloze/model/transformer.h"

namespace cloze {

GeneratorImpl::GeneratorImpl(const GeneratorShape& shape) {
  if (shape.width % shape.heads != 0)
    throw Error("model: the generator's width " + std::to_string(shape.width) + " does not split into " +
                std::to_string(shape.heads) + " heads");
  if (shape.width != shape.embedding_dim)
    embed_proj_ = register_module("embed_proj", torch::nn::Linear(shape.embedding_dim, shape.width));
  embed_dropout_ = register_module("embed_dropout", torch::nn::Dropout(shape.dropout));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < shape.layers; ++i)
    blocks_->push_back(TransformerBlock(shape.width, shape.heads, shape.mlp_ratio, shape.dropout));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({shape.width})));
  head_dense_ = register_module("head_dense", torch::nn::Linear(shape.width, shape.embedding_dim));
  head_norm_ = register_module("head_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({shape.embedding_dim})));
  head_bias_ = register_parameter("head_bias", at::zeros({shape.vocab_size}));
}

at::Tensor GeneratorImpl::forward(const Corrupted& corrupted, const at::Tensor& token_embedding,
                                  const at::Tensor& position_embedding) {
  if (!corrupted.input.defined() || corrupted.input.dim() != 2)
    throw Error("generator: input is " + shape_of(corrupted.input) + ", expected [B, N] ids");
  if (!corrupted.loss_mask.defined() || corrupted.loss_mask.sizes() != corrupted.input.sizes())
    throw Error("generator: loss_mask is " + shape_of(corrupted.loss_mask) + ", the input " +
                shape_of(corrupted.input) + "; the generator needs an in-place corruption");
  at::Tensor x = embedding_lookup(token_embedding, corrupted.input) +
                 embedding_lookup(position_embedding, corrupted.input_positions);  // [B, N, embedding_dim]
  if (embed_proj_) x = linear(embed_proj_, x);                                   // [B, N, width]
  x = embed_dropout_->forward(x);
  const at::Tensor mask = corrupted.input_padding.defined() ? key_padding_mask(corrupted.input_padding) : at::Tensor();
  for (const auto& block : *blocks_) x = block->as<TransformerBlock>()->forward(x, mask);
  x = norm_->forward(x);
  const at::Tensor rows = corrupted.loss_mask.reshape({-1}).nonzero().squeeze(1);  // [M]
  const at::Tensor hidden = x.reshape({-1, x.size(2)}).index_select(0, rows);
  const at::Tensor h = head_norm_->forward(at::gelu(linear(head_dense_, hidden)));  // [M, embedding_dim]
  return at::linear(h, token_embedding, head_bias_);                              // [M, V]
}

Corrupted with_generated_replacements(const Corrupted& masked, const at::Tensor& logits) {
  if (!masked.target.defined() || masked.target.sizes() != masked.input.sizes())
    throw Error("generator: the masked batch's target is " + shape_of(masked.target) +
                ", expected the original ids over the input's " + shape_of(masked.input));
  at::NoGradGuard no_grad;
  const at::Tensor rows = masked.loss_mask.reshape({-1}).nonzero().squeeze(1);  // [M]
  const at::Tensor sampled = at::multinomial(at::softmax(logits.detach().to(at::kFloat), 1), 1).squeeze(1);  // [M]
  const at::Tensor original = masked.target.reshape({-1}).index_select(0, rows);
  Corrupted detect = masked;
  detect.mode = ReconstructionMode::detect;
  detect.input = masked.target.reshape({-1}).index_copy(0, rows, sampled).view_as(masked.target);
  detect.target = at::zeros_like(masked.target).reshape({-1}).index_copy(0, rows, sampled.ne(original).to(at::kLong))
                      .view_as(masked.target);
  detect.loss_mask = masked.input_padding.defined() ? masked.input_padding.logical_not()
                                                    : at::ones_like(masked.loss_mask);
  detect.input_masked = at::Tensor();
  return detect;
}

}  // namespace cloze
