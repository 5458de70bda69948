#include "cloze/fill.h"

#include <ATen/Functions.h>

#include "cloze/error.h"

namespace cloze {

Corrupted fill_corrupted(const Batch& batch, const at::Tensor& dropped) {
  const at::Tensor& units = batch.units;
  if (units.dim() < 2 || dropped.sizes() != units.sizes().slice(0, 2) || dropped.scalar_type() != at::kBool ||
      batch.padding.sizes() != dropped.sizes())
    throw Error("fill_corrupted: needs [B, N] units (or [B, N, D]), and dropped and padding as [B, N] bool of the "
                "same B and N");
  const int64_t width = units.size(1);
  const at::Tensor kept = dropped.logical_not().logical_and(batch.padding.logical_not());  // [B, N]
  const at::Tensor counts = kept.sum(1);                                                   // [B]
  const int64_t most_kept = width == 0 ? 0 : counts.max().item<int64_t>();

  // Sort key: kept units first, each group in grid order, so the first
  // most_kept positions of a row are its kept units in order.
  const at::Tensor grid_order = at::arange(width, at::kLong).unsqueeze(0);  // [1, N]
  const at::Tensor key = kept.logical_not().to(at::kLong) * width + grid_order;
  const at::Tensor positions = std::get<1>(key.sort(1)).narrow(1, 0, most_kept).contiguous();  // [B, K]

  Corrupted out;
  out.mode = ReconstructionMode::fill;
  out.input = units.dim() == 3 ? units.gather(1, positions.unsqueeze(-1).expand({-1, -1, units.size(2)}))
                               : units.gather(1, positions);
  out.input_positions = positions;
  out.input_padding = at::arange(most_kept, at::kLong).unsqueeze(0).ge(counts.unsqueeze(1));  // [B, K]
  out.target = units;
  out.loss_mask = dropped.logical_and(batch.padding.logical_not());
  out.target_padding = batch.padding;
  return out;
}

}  // namespace cloze
