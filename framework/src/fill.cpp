#include "cloze/fill.h"

#include <ATen/Functions.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "cloze/error.h"

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

  std::vector<int64_t> counts(static_cast<std::size_t>(rows), 0);
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t i = row * width; i < (row + 1) * width; ++i)
      counts[static_cast<std::size_t>(row)] += !drop_data[i] && !pad_data[i];
  const int64_t most_kept = rows == 0 ? 0 : *std::max_element(counts.begin(), counts.end());

  // One pass per row over raw buffers: kept units first, in grid order, then
  // (as filler, when rows keep different counts) the row's other units in
  // grid order, so every slot holds a real position and a real unit.
  std::vector<int64_t> input_shape = units.sizes().vec();
  input_shape[1] = most_kept;
  at::Tensor input = at::empty(input_shape, units.options());
  at::Tensor positions = at::empty({rows, most_kept}, at::kLong);
  at::Tensor loss_mask = at::empty({rows, width}, at::kBool);
  const auto unit_bytes = static_cast<std::size_t>(units.numel() == 0 ? 0 : units.nbytes() / (rows * width));
  const auto* unit_data = static_cast<const char*>(units.data_ptr());
  auto* input_data = static_cast<char*>(input.data_ptr());
  int64_t* position_data = positions.data_ptr<int64_t>();
  bool* loss_data = loss_mask.data_ptr<bool>();
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t first = row * width;
    int64_t slot = row * most_kept;
    const int64_t end = slot + most_kept;
    auto place = [&](int64_t unit) {
      position_data[slot] = unit;
      std::memcpy(input_data + slot * unit_bytes, unit_data + (first + unit) * unit_bytes, unit_bytes);
      ++slot;
    };
    for (int64_t unit = 0; unit < width; ++unit) {
      const bool is_kept = !drop_data[first + unit] && !pad_data[first + unit];
      loss_data[first + unit] = drop_data[first + unit] && !pad_data[first + unit];
      if (is_kept) place(unit);
    }
    for (int64_t unit = 0; unit < width && slot < end; ++unit)
      if (drop_data[first + unit] || pad_data[first + unit]) place(unit);
  }

  Corrupted out;
  out.mode = ReconstructionMode::fill;
  out.input = input;
  out.input_positions = positions;
  const at::Tensor kept_counts = at::tensor(counts, at::kLong);
  out.input_padding = at::arange(most_kept, at::kLong).unsqueeze(0).ge(kept_counts.unsqueeze(1));  // [B, K]
  out.target = units;
  out.loss_mask = loss_mask;
  out.target_padding = batch.padding;
  return out;
}

}  // namespace cloze
