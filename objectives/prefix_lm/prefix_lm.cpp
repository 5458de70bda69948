// prefix_lm: UL2's S-denoiser, prefix language modelling.
//
// Tay et al. 2022, "UL2: Unifying Language Learning Paradigms" (arXiv
// 2205.05131), section 3.1.2: the sequence is split into a context the
// encoder sees and a continuation the decoder writes, so that the target never
// depends on what follows it. The split follows T5's random_prefix_noise_mask,
// which UL2's S-denoiser uses: for a row of L >= 2 real units the prefix holds
// k units, k uniform in
//
//   [min(hi, max(1, round(min_prefix * L))), hi],  hi = min(L - 1, floor(max_prefix * L))
//
// so both parts are non-empty. With the defaults (0.5, 1.0) the prefix is half
// to all but one unit: on average a quarter of the row is predicted, UL2's S
// setting (noise density 0.25). A row of one unit is all target.
//
//   input  = the first k units
//   target = the other L - k; decoder_input shifted
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "cloze/core/params.h"
#include "cloze/core/plugin.h"
#include "cloze/corrupt/row_rewrite.h"

namespace {

cloze::Schema schema() {
  return {
      cloze::ParamSpec{"min_prefix", cloze::ParamType::real, 0.5, "shortest prefix, as a share of the row"}.within(0,
                                                                                                                   1),
      cloze::ParamSpec{"max_prefix", cloze::ParamType::real, 1.0,
                       "longest prefix, as a share of the row (at least one unit stays target)"}
          .within(0, 1),
  };
}

class PrefixLm final : public cloze::RowRewrite {
 public:
  explicit PrefixLm(const cloze::Params& params)
      : min_prefix_(params.real("min_prefix")), max_prefix_(params.real("max_prefix")) {
    params.require(max_prefix_ >= min_prefix_ && max_prefix_ <= 1.0, "max_prefix", "must be in [min_prefix, 1]");
  }

  Lengths max_lengths(int64_t raw_length) const override { return {std::max<int64_t>(raw_length - 1, 0), raw_length}; }

 private:
  void rewrite(int64_t /*sample*/, const std::vector<int64_t>& row, cloze::SampleRng& rng,
               std::vector<int64_t>& input, std::vector<int64_t>& target) const override {
    const int64_t prefix = prefix_length(static_cast<int64_t>(row.size()), rng);
    input.assign(row.begin(), row.begin() + prefix);
    target.assign(row.begin() + prefix, row.end());
  }

  int64_t prefix_length(int64_t length, cloze::SampleRng& rng) const {
    if (length < 2) return 0;
    const int64_t high =
        std::min<int64_t>(length - 1, static_cast<int64_t>(std::floor(max_prefix_ * static_cast<double>(length))));
    const int64_t low =
        std::min<int64_t>(high, std::max<int64_t>(1, std::llround(min_prefix_ * static_cast<double>(length))));
    return low + static_cast<int64_t>(rng.below(static_cast<uint64_t>(high - low + 1)));
  }

  double min_prefix_, max_prefix_;
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption<PrefixLm>(
      "prefix_lm", "UL2 S-denoiser: the encoder sees a prefix of the row, the decoder writes the rest", schema());
}
