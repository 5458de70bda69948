// Row-by-row access to discrete batches; see cloze/corrupt/id_rows.h.
#include "cloze/corrupt/id_rows.h"

namespace cloze {

std::vector<uint8_t> special_table(const UnitSpec& units) {
  std::vector<uint8_t> special(static_cast<std::size_t>(units.vocab_size), 0);
  for (int64_t id : units.special_ids)
    if (id >= 0 && id < units.vocab_size) special[static_cast<std::size_t>(id)] = 1;
  return special;
}

IdRows::IdRows(const Batch& batch)
    : rows_(batch.units.size(0)),
      width_(batch.units.size(1)),
      sample_ids_(batch.sample_ids),
      units_(batch.units.contiguous()),
      padding_tensor_(batch.padding.contiguous()),
      ids_(units_.data_ptr<int64_t>()),
      padding_(padding_tensor_.data_ptr<bool>()) {}

void IdRows::real_units(int64_t row, std::vector<int64_t>& out) const {
  out.clear();
  const int64_t* ids = this->ids(row);
  const bool* padding = this->padding(row);
  for (int64_t n = 0; n < width_; ++n)
    if (!padding[n]) out.push_back(ids[n]);
}

void candidate_positions(const std::vector<int64_t>& units, const std::vector<uint8_t>& special,
                         std::vector<int64_t>& out) {
  out.clear();
  for (std::size_t i = 0; i < units.size(); ++i)
    if (!special[static_cast<std::size_t>(units[i])]) out.push_back(static_cast<int64_t>(i));
}

}  // namespace cloze
