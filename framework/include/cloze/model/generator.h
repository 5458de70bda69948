// ELECTRA's generator (Clark et al. 2020): a small masked language model that
// proposes the replacements the discriminator then has to detect.
//
// As in ELECTRA, it has no embeddings of its own: it reads the
// discriminator's token and position tables (passed to forward(), so that
// each parameter is registered, optimised and checkpointed once), projects
// them to its narrower width, runs its own pre-LN blocks, and scores the
// vocabulary through the same token table (tied output, plus a bias). The
// objective that trains it is in objective.h.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

#include "cloze/core/corrupted.h"

namespace cloze {

struct GeneratorShape {
  int64_t embedding_dim;  // the discriminator's width: its token and position tables' columns
  int64_t width;          // the generator's own hidden size
  int64_t layers, heads;
  double mlp_ratio, dropout;
  int64_t vocab_size;
};

class GeneratorImpl : public torch::nn::Module {
 public:
  explicit GeneratorImpl(const GeneratorShape& shape);

  // Logits [M, V] at the units where corrupted.loss_mask is true, in its
  // row-major order, for the in-place corrupted ids corrupted.input [B, N].
  // token_embedding: [V, embedding_dim]; position_embedding: [P, embedding_dim].
  at::Tensor forward(const Corrupted& corrupted, const at::Tensor& token_embedding,
                     const at::Tensor& position_embedding);

 private:
  torch::nn::Linear embed_proj_{nullptr};  // embedding_dim -> width; absent when they are equal
  torch::nn::Dropout embed_dropout_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  // BERT's MLM head back to the embedding width, then the tied token table.
  torch::nn::Linear head_dense_{nullptr};
  torch::nn::LayerNorm head_norm_{nullptr};
  at::Tensor head_bias_;
};

TORCH_MODULE(Generator);

// The discriminator's batch: `masked` (an in-place corruption's, target [B, N]
// the original ids) with the units its loss_mask marks replaced by a sample
// from `logits` ([M, V], the generator's there, softmax at temperature 1,
// drawn from the default torch generator, which the trainer seeds at every
// step), and nothing else changed. Mode detect: target 1 where the input now differs from the
// original (a sample that equals the original counts as kept, as ELECTRA
// counts it), loss_mask every real unit. Draws without gradients.
Corrupted with_generated_replacements(const Corrupted& masked, const at::Tensor& logits);

}  // namespace cloze
