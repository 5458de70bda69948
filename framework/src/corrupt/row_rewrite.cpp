#include "cloze/corrupt/row_rewrite.h"

#include "cloze/corrupt/id_rows.h"
#include "cloze/corrupt/sequence_batch.h"

namespace cloze {

std::string RowRewrite::incompatibility(const UnitSpec& units) const {
  return sequence_incompatibility(name(), units);
}

Corrupted RowRewrite::do_corrupt(const Batch& batch, uint64_t seed) const {
  const IdRows rows(batch);
  std::vector<std::vector<int64_t>> inputs(static_cast<std::size_t>(rows.rows()));
  std::vector<std::vector<int64_t>> targets(static_cast<std::size_t>(rows.rows()));
  std::vector<int64_t> real;
  for (int64_t row = 0; row < rows.rows(); ++row) {
    rows.real_units(row, real);
    // Keyed by (seed, epoch, sample), as every corruption's draws.
    SampleRng rng(seed, RngStream::corruption, batch.epoch, rows.sample(row));
    rewrite(rows.sample(row), real, rng, inputs[static_cast<std::size_t>(row)],
            targets[static_cast<std::size_t>(row)]);
  }
  return sequence_corrupted(inputs, targets, units().pad_id, units().bos_id);
}

}  // namespace cloze
