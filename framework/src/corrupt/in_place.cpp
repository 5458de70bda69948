#include "cloze/corrupt/in_place.h"

#include <ATen/Functions.h>

#include "cloze/core/error.h"

namespace cloze {

Corrupted in_place_corrupted(const Batch& batch, at::Tensor input, at::Tensor loss_mask) {
  const int64_t rows = batch.units.size(0), width = batch.units.size(1);
  Corrupted out;
  out.mode = ReconstructionMode::in_place;
  out.input = std::move(input);
  // One row of positions shared by every row (stride 0): embedded once (embedding_lookup.h).
  out.input_positions = at::arange(width, at::kLong).expand({rows, width});  // [B, N]
  out.input_padding = batch.padding;
  out.target = batch.units;
  out.loss_mask = std::move(loss_mask);
  return out;
}

Corrupted detection_corrupted(const Batch& batch, at::Tensor input, const at::Tensor& replaced) {
  if (replaced.sizes() != batch.units.sizes().slice(0, 2) || replaced.scalar_type() != at::kBool)
    throw Error("detection_corrupted: needs a [B, N] bool mask of the batch's B and N");
  Corrupted out = in_place_corrupted(batch, std::move(input), batch.padding.logical_not());
  out.mode = ReconstructionMode::detect;
  out.target = replaced.to(at::kLong);
  return out;
}

Corrupted masked_in_place(const Batch& batch, const at::Tensor& masked) {
  if (batch.units.dim() != 3 || masked.sizes() != batch.units.sizes().slice(0, 2) ||
      masked.scalar_type() != at::kBool)
    throw Error("masked_in_place: needs [B, N, D] continuous units and a [B, N] bool mask of the same B and N");
  // Zeroed, so nothing of a hidden unit reaches the model even if it ignored input_masked.
  Corrupted out = in_place_corrupted(batch, batch.units.masked_fill(masked.unsqueeze(-1), 0.0), masked);
  out.input_masked = masked;
  return out;
}

}  // namespace cloze
