// Row-by-row access to discrete batches; see cloze/id_rows.h.
#include "cloze/corrupt/id_rows.h"

#include <c10/core/ScalarType.h>

#include <utility>

#include "cloze/core/error.h"

namespace cloze {

std::vector<uint8_t> special_table(const UnitSpec& units) {
  std::vector<uint8_t> special(static_cast<std::size_t>(units.vocab_size), 0);
  for (int64_t id : units.special_ids)
    if (id >= 0 && id < units.vocab_size) special[static_cast<std::size_t>(id)] = 1;
  return special;
}

IdRows::IdRows(const Batch& batch, std::string who, int64_t vocab_size)
    : who_(std::move(who)), vocab_size_(vocab_size), sample_ids_(batch.sample_ids) {
  if (batch.units.dim() != 2 || batch.units.scalar_type() != at::kLong)
    throw Error(who_ + ": expects [B, N] int64 unit ids, got a " + std::to_string(batch.units.dim()) + "-d " +
                std::string(c10::toString(batch.units.scalar_type())) + " tensor");
  if (batch.padding.sizes() != batch.units.sizes() || batch.padding.scalar_type() != at::kBool)
    throw Error(who_ + ": padding must be a [B, N] bool tensor shaped like the units");
  rows_ = batch.units.size(0);
  width_ = batch.units.size(1);
  if (static_cast<int64_t>(sample_ids_.size()) != rows_)
    throw Error(who_ + ": the batch has " + std::to_string(rows_) + " rows but " +
                std::to_string(sample_ids_.size()) + " sample ids");
  units_ = batch.units.contiguous();
  padding_tensor_ = batch.padding.contiguous();
  ids_ = units_.data_ptr<int64_t>();
  padding_ = padding_tensor_.data_ptr<bool>();
}

void IdRows::real_units(int64_t row, std::vector<int64_t>& out) const {
  out.clear();
  const bool* padding = this->padding(row);
  for (int64_t n = 0; n < width_; ++n)
    if (!padding[n]) out.push_back(id(row, n));
}

void IdRows::out_of_vocabulary(int64_t row, int64_t n) const {
  throw Error(who_ + ": sample " + std::to_string(sample(row)) + ", unit " + std::to_string(n) + " has id " +
              std::to_string(ids(row)[n]) + ", outside the vocabulary [0, " + std::to_string(vocab_size_) + ")");
}

void candidate_positions(const std::vector<int64_t>& units, const std::vector<uint8_t>& special,
                         std::vector<int64_t>& out) {
  out.clear();
  for (std::size_t i = 0; i < units.size(); ++i)
    if (!special[static_cast<std::size_t>(units[i])]) out.push_back(static_cast<int64_t>(i));
}

}  // namespace cloze
