#include "cloze/corrupt/row_rewrite.h"

#include "cloze/core/error.h"
#include "cloze/corrupt/id_rows.h"
#include "cloze/corrupt/sequence_batch.h"

namespace cloze {

std::string RowRewrite::incompatibility(const UnitSpec& units) const {
  return sequence_incompatibility(name_, units);
}

void RowRewrite::prepare(const UnitSpec& units) {
  require_compatible(*this, units);
  units_ = units;
  prepared_ = true;
}

Corrupted RowRewrite::corrupt(const Batch& batch, uint64_t seed) const {
  if (!prepared_) throw Error(name_ + ": corrupt() called before prepare(units)");
  const IdRows rows(batch, name_, units_.vocab_size);
  std::vector<std::vector<int64_t>> inputs(static_cast<std::size_t>(rows.rows()));
  std::vector<std::vector<int64_t>> targets(static_cast<std::size_t>(rows.rows()));
  std::vector<int64_t> real;
  for (int64_t row = 0; row < rows.rows(); ++row) {
    rows.real_units(row, real);
    // Keyed by (seed, epoch, sample), as every corruption's draws.
    SampleRng rng(seed, RngStream::corruption, batch.epoch, rows.sample(row));
    rewrite(real, rng, inputs[static_cast<std::size_t>(row)], targets[static_cast<std::size_t>(row)]);
  }
  return sequence_corrupted(inputs, targets, units_.pad_id, units_.bos_id);
}

}  // namespace cloze
