// Reading a batch of discrete units row by row, for corruptions that work on
// raw id buffers: the shape checks, a special-id table, and each row's real
// (non-padding) units and the positions a corruption may touch.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cloze/core/batch.h"
#include "cloze/core/units.h"

namespace cloze {

// [vocab] 1 where the id is special (never corrupted, never drawn as a
// replacement): the look-up a corruption's inner loop makes per unit.
std::vector<uint8_t> special_table(const UnitSpec& units);

class IdRows {
 public:
  // Checks that batch.units is [B, N] int64, batch.padding [B, N] bool and
  // that there is one sample id per row; errors start with `who`.
  IdRows(const Batch& batch, std::string who, int64_t vocab_size);

  int64_t rows() const { return rows_; }
  int64_t width() const { return width_; }
  int64_t sample(int64_t row) const { return sample_ids_[static_cast<std::size_t>(row)]; }
  const int64_t* ids(int64_t row) const { return ids_ + row * width_; }        // [N]
  const bool* padding(int64_t row) const { return padding_ + row * width_; }  // [N]

  // The id at position n of the row; throws naming the sample and position
  // when it lies outside [0, vocab).
  int64_t id(int64_t row, int64_t n) const {
    const int64_t value = ids_[row * width_ + n];
    if (value < 0 || value >= vocab_size_) out_of_vocabulary(row, n);
    return value;
  }

  // The row's units that are not padding, in order, into `out`, checked as id().
  void real_units(int64_t row, std::vector<int64_t>& out) const;

 private:
  [[noreturn]] void out_of_vocabulary(int64_t row, int64_t n) const;

  std::string who_;
  int64_t vocab_size_;
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
