#include "cloze/corrupt/fill.h"

#include <ATen/Functions.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "cloze/core/error.h"

namespace cloze {

Corrupted fill_corrupted(const Batch& batch, const at::Tensor& dropped) {
  if (batch.units.dim() < 2 || dropped.sizes() != batch.units.sizes().slice(0, 2) ||
      dropped.scalar_type() != at::kBool || batch.padding.sizes() != dropped.sizes() ||
      batch.padding.scalar_type() != at::kBool)
    throw Error("fill_corrupted: needs [B, N] units (or [B, N, D]), and dropped and padding as [B, N] bool of the "
                "same B and N");
  const at::Tensor units = batch.units.contiguous();
  const at::Tensor drop = dropped.contiguous(), padding = batch.padding.contiguous();
  const int64_t rows = units.size(0), width = units.size(1);
  const bool* drop_data = drop.data_ptr<bool>();
  const bool* pad_data = padding.data_ptr<bool>();

  std::vector<int64_t> counts(static_cast<std::size_t>(rows));
  at::Tensor loss_mask = at::empty({rows, width}, at::kBool);
  bool* loss_data = loss_mask.data_ptr<bool>();
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t first = row * width;
    int64_t kept = 0;
    for (int64_t unit = first; unit < first + width; ++unit) {
      kept += !(drop_data[unit] | pad_data[unit]);
      loss_data[unit] = drop_data[unit] & !pad_data[unit];
    }
    counts[static_cast<std::size_t>(row)] = kept;
  }
  const int64_t most_kept = rows == 0 ? 0 : *std::max_element(counts.begin(), counts.end());

  std::vector<int64_t> input_shape = units.sizes().vec();
  input_shape[1] = most_kept;
  at::Tensor input = at::empty(input_shape, units.options());
  at::Tensor positions = at::empty({rows, most_kept}, at::kLong);
  at::Tensor input_padding = at::empty({rows, most_kept}, at::kBool);
  const auto unit_bytes = static_cast<std::size_t>(units.numel() == 0 ? 0 : units.nbytes() / (rows * width));
  const auto* unit_data = static_cast<const char*>(units.data_ptr());
  auto* input_data = static_cast<char*>(input.data_ptr());
  int64_t* position_data = positions.data_ptr<int64_t>();
  bool* input_padding_data = input_padding.data_ptr<bool>();
  // A row's order: its kept units (neither dropped nor padding) in grid order,
  // then the others in grid order as filler when it keeps fewer than the most.
  // Every unit is stored in both lists and only its own list's end moves on:
  // no branch on the random mask, whose mispredictions would bound small grids.
  std::vector<int64_t> kept_units(static_cast<std::size_t>(width + 1)), other_units(static_cast<std::size_t>(width + 1));
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t first = row * width;
    int64_t kept = 0, others = 0;
    for (int64_t unit = 0; unit < width; ++unit) {
      const int64_t is_kept = !(drop_data[first + unit] | pad_data[first + unit]);
      kept_units[static_cast<std::size_t>(kept)] = unit;
      other_units[static_cast<std::size_t>(others)] = unit;
      kept += is_kept;
      others += 1 - is_kept;
    }
    for (int64_t slot = 0; slot < most_kept; ++slot) {
      const int64_t at = row * most_kept + slot;
      const int64_t unit = slot < kept ? kept_units[static_cast<std::size_t>(slot)]
                                       : other_units[static_cast<std::size_t>(slot - kept)];
      position_data[at] = unit;
      std::memcpy(input_data + at * unit_bytes, unit_data + (first + unit) * unit_bytes, unit_bytes);
      input_padding_data[at] = slot >= kept;
    }
  }

  Corrupted out;
  out.mode = ReconstructionMode::fill;
  out.input = input;
  out.input_positions = positions;
  out.input_padding = input_padding;
  out.target = units;
  out.loss_mask = loss_mask;
  out.target_padding = batch.padding;
  return out;
}

}  // namespace cloze
