// Corruptions applied in order, each to what the one before it made, with the
// target staying the original (BART's sentence permutation then text
// infilling; Audio-MAE's time stripes then random patches). How two neighbours
// compose depends on their reconstruction modes:
//
//   sequence then sequence  the next rewrites the input sequence; the target
//                           and decoder input stay the first's
//   sequence then in_place  the next corrupts the input sequence where it stands
//   in_place then in_place  the next corrupts the corrupted units; loss_mask
//                           (and input_masked) are the union of both
//   fill then fill          the next drops units from those the first kept (it
//                           sees the first's dropped units as padding); the
//                           encoder sees what both kept
//
// Every other pairing, and any with a detect corruption, is refused with a
// sentence that names both corruptions, their modes and why. Stage k > 0 draws from derived_seed(seed, k), so two
// stages of one plugin do not make the same choices.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cloze/core/corruption.h"

namespace cloze {

class Chain : public Corruption {
 public:
  struct Stage {
    std::string name;  // the plugin's, for messages
    std::shared_ptr<Corruption> corruption;
  };

  // Throws cloze::Error with composition_problem()'s sentence. Named by its
  // stages: "sentence_permute+text_infill".
  explicit Chain(std::vector<Stage> stages);

  // Why `next` cannot follow a chain in `mode` whose last stage is `last`, or "".
  static std::string composition_problem(const std::string& last, ReconstructionMode mode, const Stage& next);

  ReconstructionMode mode() const override { return stages_.front().corruption->mode(); }
  std::string incompatibility(const UnitSpec& units) const override;
  int64_t raw_length(int64_t input_length) const override;
  Lengths max_lengths(int64_t raw_length) const override;
 private:
  void do_prepare(const UnitSpec& units) override;
  Corrupted do_corrupt(const Batch& batch, uint64_t seed) const override;

  std::vector<Stage> stages_;
};

}  // namespace cloze
