#include "cloze/in_place.h"

#include <ATen/Functions.h>

namespace cloze {

Corrupted in_place_corrupted(const Batch& batch, at::Tensor input, at::Tensor loss_mask) {
  const int64_t rows = batch.units.size(0), width = batch.units.size(1);
  Corrupted out;
  out.mode = ReconstructionMode::in_place;
  out.input = std::move(input);
  out.input_positions = at::arange(width, at::kLong).expand({rows, width}).contiguous();  // [B, N]
  out.input_padding = batch.padding;
  out.target = batch.units;
  out.loss_mask = std::move(loss_mask);
  return out;
}

}  // namespace cloze
