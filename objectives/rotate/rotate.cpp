// rotate: BART's document rotation.
//
// Lewis et al. 2020, "BART: Denoising Sequence-to-Sequence Pre-training for
// Natural Language Generation, Translation, and Comprehension" (ACL), section
// 2.2: "A token is chosen uniformly at random, and the document is rotated so
// that it begins with that token. This task trains the model to identify the
// start of the document." (fairseq's add_rolling_noise.)
//
// With probability `rate`, a row of L >= 2 real units is rotated to start at
// the unit at a position drawn uniformly from 1 .. L-1 (position 0 would leave
// it as it is); other rows stay as they are.
//
//   input  = the row, rotated
//   target = the row itself; decoder_input shifted
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "cloze/corruption.h"
#include "cloze/error.h"
#include "cloze/params.h"
#include "cloze/plugin.h"
#include "cloze/sequence_batch.h"

namespace {

cloze::Schema schema() {
  return {{"rate", cloze::ParamType::real, 1.0, "probability that a row is rotated"}};
}

class Rotate final : public cloze::Corruption {
 public:
  explicit Rotate(const cloze::Params& params) : rate_(params.real("rate")) {
    params.require(rate_ >= 0.0 && rate_ <= 1.0, "rate", "must be in [0, 1]");
  }

  cloze::ReconstructionMode mode() const override { return cloze::ReconstructionMode::sequence; }

  std::string incompatibility(const cloze::UnitSpec& units) const override {
    return cloze::sequence_incompatibility("rotate", units);
  }

  void prepare(const cloze::UnitSpec& units) override {
    const std::string why = incompatibility(units);
    if (!why.empty()) throw cloze::Error(why);
    units_ = units;
    prepared_ = true;
  }

  cloze::Corrupted corrupt(const cloze::Batch& batch, uint64_t seed) const override {
    if (!prepared_) throw cloze::Error("rotate: corrupt() called before prepare(units)");
    return cloze::rewrite_rows(batch, seed, units_, "rotate",
                               [&](const std::vector<int64_t>& row, cloze::SampleRng& rng, std::vector<int64_t>& input,
                                   std::vector<int64_t>& target) {
                                 target = row;
                                 input = row;
                                 const auto length = static_cast<uint64_t>(row.size());
                                 // One draw decides, one more places the start: always two per row.
                                 const bool rotated = rng.uniform() < rate_;
                                 const uint64_t start = length >= 2 ? 1 + rng.below(length - 1) : 0;
                                 if (rotated) std::rotate(input.begin(), input.begin() + static_cast<int64_t>(start), input.end());
                               });
  }

 private:
  double rate_;
  bool prepared_ = false;
  cloze::UnitSpec units_;
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption("rotate", "BART document rotation: the row starts at a random unit, the decoder writes it in order",
                          schema(), [](const cloze::Params& params) { return std::make_shared<Rotate>(params); });
}
