// The base of sequence-mode corruptions that rewrite each row on its own
// (rotate, prefix_lm, sentence_permute): it checks the units, keeps them, and
// hands each row's real units and the row's generator, keyed by (seed, epoch,
// sample), to rewrite(); the rows' inputs and targets become a sequence-mode
// batch (cloze/sequence_batch.h). A subclass gives its name and rewrite(); it
// may add to incompatibility() and prepare().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/rng.h"

namespace cloze {

class RowRewrite : public Corruption {
 public:
  explicit RowRewrite(std::string name) : name_(std::move(name)) {}

  ReconstructionMode mode() const override { return ReconstructionMode::sequence; }
  // Discrete units with pad and bos ids.
  std::string incompatibility(const UnitSpec& units) const override;
  // Throws cloze::Error with incompatibility()'s sentence; keeps the units.
  void prepare(const UnitSpec& units) override;
  Corrupted corrupt(const Batch& batch, uint64_t seed) const override;

 protected:
  // Fills the row's input and target (both empty when called) from its real
  // units, drawing only from `rng`.
  virtual void rewrite(const std::vector<int64_t>& row, SampleRng& rng, std::vector<int64_t>& input,
                       std::vector<int64_t>& target) const = 0;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool prepared_ = false;
  UnitSpec units_;
};

}  // namespace cloze
