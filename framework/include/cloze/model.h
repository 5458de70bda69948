// The denoising model: the modality's stem, a shared pre-LN Transformer
// encoder, and the modality's head. The stem and head are chosen from the
// units: an embedding table and a vocabulary head for discrete units, a linear
// projection in and out for continuous ones.
#pragma once

#include <torch/nn/module.h>
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
  DenoisingModelImpl(const ModelOptions& options, const UnitSpec& units, const Grid& grid, ReconstructionMode mode);

  // Predictions at the positions where corrupted.loss_mask is true, in the
  // row-major order of loss_mask: [M, V] logits for discrete units, [M, D]
  // values for continuous ones. The head runs only on those M positions.
  at::Tensor forward(const Corrupted& corrupted);

  // The encoder's output for every input unit: [B, N_in, dim].
  at::Tensor encode(const Corrupted& corrupted);

  const ModelOptions& options() const { return options_; }

 private:
  ModelOptions options_;
  UnitSpec units_;
  // submodules are registered in the constructor
};

TORCH_MODULE(DenoisingModel);

}  // namespace cloze
