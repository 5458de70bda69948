// Reading a batch of discrete units row by row, for corruptions that work on
// raw id buffers: a special-id table, and each row's real (non-padding) units
// and the positions a corruption may touch. The batch has passed
// Corruption::corrupt()'s checks: [B, N] ids inside the vocabulary.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "cloze/core/batch.h"
#include "cloze/core/units.h"

namespace cloze {

// [vocab] 1 where the id is special (never corrupted, never drawn as a
// replacement): the look-up a corruption's inner loop makes per unit.
std::vector<uint8_t> special_table(const UnitSpec& units);

class IdRows {
 public:
  explicit IdRows(const Batch& batch);

  int64_t rows() const { return rows_; }
  int64_t width() const { return width_; }
  int64_t sample(int64_t row) const { return sample_ids_[static_cast<std::size_t>(row)]; }
  const int64_t* ids(int64_t row) const { return ids_ + row * width_; }        // [N]
  const bool* padding(int64_t row) const { return padding_ + row * width_; }  // [N]

  // The row's units that are not padding, in order, into `out`.
  void real_units(int64_t row, std::vector<int64_t>& out) const;

 private:
  int64_t rows_, width_;
  std::vector<int64_t> sample_ids_;
  at::Tensor units_, padding_tensor_;  // contiguous, kept alive for the pointers
  const int64_t* ids_;
  const bool* padding_;
};

// Indices i into `units` (one row's real units) where units[i] is not special:
// the candidates a corruption may change or delete.
void candidate_positions(const std::vector<int64_t>& units, const std::vector<uint8_t>& special,
                         std::vector<int64_t>& out);

}  // namespace cloze
