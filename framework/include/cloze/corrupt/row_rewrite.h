// The base of sequence-mode corruptions that rewrite each row on its own
// (rotate, prefix_lm, sentence_permute, text_infill, span_infill,
// token_deletion): it hands each row's real units and the row's generator,
// keyed by (seed, epoch, sample), to rewrite(); the rows' inputs and targets
// become a sequence-mode batch (cloze/corrupt/sequence_batch.h). A subclass
// gives rewrite(); it may add to incompatibility() and do_prepare().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/rng.h"

namespace cloze {

class RowRewrite : public Corruption {
 public:
  ReconstructionMode mode() const override { return ReconstructionMode::sequence; }
  // Discrete units with pad and bos ids.
  std::string incompatibility(const UnitSpec& units) const override;

 protected:
  Corrupted do_corrupt(const Batch& batch, uint64_t seed) const override;

  // Fills the input and target (both empty when called) of the row of sample
  // `sample` from its real units, drawing only from `rng`.
  virtual void rewrite(int64_t sample, const std::vector<int64_t>& row, SampleRng& rng,
                       std::vector<int64_t>& input, std::vector<int64_t>& target) const = 0;
};

}  // namespace cloze
