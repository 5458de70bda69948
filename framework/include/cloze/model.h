// The denoising model: the modality's stem, a shared pre-LN Transformer
// encoder, and the modality's head. The stem and head are chosen from the
// units: an embedding table and a vocabulary head for discrete units, a linear
// projection in and out for continuous ones.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "cloze/corrupted.h"
#include "cloze/grid.h"
#include "cloze/params.h"
#include "cloze/units.h"

namespace cloze {

// [model] section.
Schema model_schema();

struct ModelOptions {
  int64_t dim;
  int64_t layers;
  int64_t heads;
  double mlp_ratio;
  double dropout;
  static ModelOptions from(const Params& params);  // validates, naming the key
};

class DenoisingModelImpl : public torch::nn::Module {
 public:
  // Throws cloze::Error for units or a grid the model cannot be built for, and
  // for a reconstruction mode that is not implemented yet (only in_place is).
  DenoisingModelImpl(const ModelOptions& options, const UnitSpec& units, const Grid& grid, ReconstructionMode mode);

  // Predictions at the positions where corrupted.loss_mask is true, in the
  // row-major order of loss_mask: [M, V] logits for discrete units, [M, D]
  // values for continuous ones. The head runs only on those M positions.
  at::Tensor forward(const Corrupted& corrupted);

  // The encoder's output for every input unit: [B, N_in, dim].
  at::Tensor encode(const Corrupted& corrupted);

  const ModelOptions& options() const { return options_; }

 private:
  at::Tensor head(const at::Tensor& hidden);  // [M, dim] -> [M, V] or [M, D]

  ModelOptions options_;
  UnitSpec units_;

  // stem: one of token_embed_ (discrete) or unit_proj_ (continuous)
  torch::nn::Embedding token_embed_{nullptr};
  torch::nn::Linear unit_proj_{nullptr};
  torch::nn::Embedding pos_embed_{nullptr};
  torch::nn::Dropout embed_dropout_{nullptr};

  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};

  // head: discrete units as BERT's MLM head, dense + GELU + LayerNorm, then the
  // token embedding reused as the decoder plus head_bias_; continuous units a
  // linear map back to the unit's values (head_out_)
  torch::nn::Linear head_dense_{nullptr};
  torch::nn::LayerNorm head_norm_{nullptr};
  at::Tensor head_bias_;
  torch::nn::Linear head_out_{nullptr};
};

TORCH_MODULE(DenoisingModel);

}  // namespace cloze
