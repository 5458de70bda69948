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
#include <vector>

#include "cloze/core/params.h"
#include "cloze/core/plugin.h"
#include "cloze/corrupt/row_rewrite.h"

namespace {

cloze::Schema schema() {
  return {cloze::ParamSpec{"rate", cloze::ParamType::real, 1.0, "probability that a row is rotated"}.within(0, 1)};
}

class Rotate final : public cloze::RowRewrite {
 public:
  explicit Rotate(const cloze::Params& params) : rate_(params.real("rate")) {
  }

 private:
  void rewrite(int64_t /*sample*/, const std::vector<int64_t>& row, cloze::SampleRng& rng,
               std::vector<int64_t>& input, std::vector<int64_t>& target) const override {
    target = row;
    input = row;
    const auto length = static_cast<uint64_t>(row.size());
    // One draw decides, one more places the start: always two per row.
    const bool rotated = rng.uniform() < rate_;
    const uint64_t start = length >= 2 ? 1 + rng.below(length - 1) : 0;
    if (rotated) std::rotate(input.begin(), input.begin() + static_cast<int64_t>(start), input.end());
  }

  double rate_;
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption<Rotate>(
      "rotate", "BART document rotation: the row starts at a random unit, the decoder writes it in order", schema());
}
