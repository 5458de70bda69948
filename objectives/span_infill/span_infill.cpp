// span_infill: T5's span corruption with unique sentinels.
//
// Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a
// Unified Text-to-Text Transformer" (JMLR), section 3.3.4; the code this
// reproduces is t5/data/preprocessors.py: random_spans_noise_mask,
// noise_span_to_unique_sentinel, nonnoise_span_to_unique_sentinel and
// random_spans_helper (compute_input_and_target_lengths).
//
// Per row of L real (non-padding) units, specials included as in T5, with
// L' = max(L, 2) and T5's float32 arithmetic and round-half-to-even:
//
//   num_noise    = min(max(round(L' * noise_density), 1), L' - 1)
//   num_spans    = max(1, round(num_noise / mean_noise_span_length))
//   num_nonnoise = L' - num_noise
//
// The noise and the non-noise tokens are each split into num_spans positive
// lengths uniformly at random (T5's _random_segmentation) and interleaved
// starting with a non-noise span, so the row always ends in noise; the mask is
// cut back to L (a row of one unit has no noise). Then
//
//   input  = each non-noise run, each noise run replaced by sentinel_ids[i], then eos
//   target = sentinel_ids[i] before each non-noise run's place, the noise runs, then eos
//
// e.g. "a b c d e f" -> input "a <0> d e <1> eos", target "<0> b c <1> f eos".
// As in T5's span_corruption the target ends with eos, not with a closing
// sentinel: the last span is always noise. One deviation, only for densities
// where T5 degenerates: num_spans is also capped at num_nonnoise, so no
// non-noise span is empty and no two noise spans merge.
//
// raw_length(n) is random_spans_helper's tokens_length: the longest raw row
// whose input, sentinels and eos included, fits n; for n = 512 at the defaults
// that is 568 raw units, 114 target units. Where the helper rounds the number
// of spans to 0 (short rows, long spans) it counts with the mask's one span
// instead, so that its rows fit; tests/fixtures/t5_span_lengths.csv holds the
// helper's own numbers.
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/core/params.h"
#include "cloze/core/plugin.h"
#include "cloze/core/rng.h"
#include "cloze/corrupt/row_rewrite.h"
#include "cloze/corrupt/sampling.h"

namespace {

using cloze::ParamType;

cloze::Schema schema() {
  return {
      cloze::ParamSpec{"noise_density", ParamType::real, 0.15, "share of each row's units hidden in noise spans"}
          .above(0)
          .below(1),
      cloze::ParamSpec{"mean_noise_span_length", ParamType::real, 3.0, "mean length of a noise span"}.at_least(1),
  };
}

struct SpanCounts {
  int64_t noise = 0;
  int64_t spans = 0;
};

class SpanInfill final : public cloze::RowRewrite {
 public:
  explicit SpanInfill(const cloze::Params& params)
      : density_(params.real("noise_density")), mean_span_(params.real("mean_noise_span_length")) {
  }

  std::string incompatibility(const cloze::UnitSpec& units) const override {
    std::string why = RowRewrite::incompatibility(units);
    if (!why.empty()) return why;
    if (units.sentinel_ids.empty())
      return "span_infill replaces each noise span with its own sentinel (T5's <extra_id_0>, <extra_id_1>, ...), "
             "but the tokenizer reserves no sentinel ids";
    if (units.eos_id < 0)
      return "span_infill ends inputs and targets with eos, but the vocabulary has no eos id";
    return "";
  }

  int64_t raw_length(int64_t input_length) const override {
    // random_spans_helper's search, with the counts the rows are then made
    // with: where the helper rounds the number of spans down to 0, the mask
    // makes one, whose sentinel would push the helper's rows one unit over.
    const auto input_of = [&](int64_t tokens) {
      const SpanCounts counts = span_counts(std::max<int64_t>(tokens, 2));
      return tokens - counts.noise + counts.spans + 1;
    };
    int64_t tokens = input_length - 1;
    while (input_of(tokens + 1) <= input_length) ++tokens;
    // T5's "minor hack" so that at density 0.5 the targets are not longer than the inputs.
    if (density_ == 0.5) {
      const SpanCounts counts = span_counts(std::max<int64_t>(tokens, 2));
      if (counts.noise + counts.spans + 1 > input_of(tokens)) --tokens;
    }
    return tokens;
  }

  Lengths max_lengths(int64_t raw_length) const override {
    // Rounding makes the lengths not quite monotone in the row's length, so
    // take the largest over every row length up to raw_length.
    Lengths most;
    for (int64_t length = 0; length <= raw_length; ++length) {
      Lengths here{length + 1, length + 1};
      if (length >= 2) {
        const SpanCounts counts = span_counts(length);
        here = {length - counts.noise + counts.spans + 1, counts.noise + counts.spans + 1};
      }
      most.input = std::max(most.input, here.input);
      most.target = std::max(most.target, here.target);
    }
    return most;
  }

 private:
  // random_spans_noise_mask, then noise_span_to_unique_sentinel (input) and
  // nonnoise_span_to_unique_sentinel (target) in one pass over the row.
  void rewrite(int64_t sample, const std::vector<int64_t>& row, cloze::SampleRng& rng, std::vector<int64_t>& input,
               std::vector<int64_t>& target) const override {
    const auto length = static_cast<int64_t>(row.size());
    const int64_t padded = std::max<int64_t>(length, 2);
    const SpanCounts counts = span_counts(padded);
    const std::vector<int64_t>& sentinels = units().sentinel_ids;
    if (counts.spans > static_cast<int64_t>(sentinels.size()))
      throw cloze::Error("span_infill: sample " + std::to_string(sample) + " has " + std::to_string(length) +
                         " units and so " + std::to_string(counts.spans) + " noise spans, but the tokenizer has only " +
                         std::to_string(sentinels.size()) +
                         " sentinel ids; use shorter rows or a tokenizer with more sentinels");

    // Non-noise span i, then noise span i; the mask is cut back to the row's length.
    std::vector<int64_t> noise_lengths, nonnoise_lengths;
    cloze::random_partition(counts.noise, counts.spans, rng, noise_lengths);
    cloze::random_partition(padded - counts.noise, counts.spans, rng, nonnoise_lengths);
    std::vector<uint8_t> noise;
    for (int64_t span = 0; span < counts.spans; ++span) {
      noise.insert(noise.end(), static_cast<std::size_t>(nonnoise_lengths[static_cast<std::size_t>(span)]), 0);
      noise.insert(noise.end(), static_cast<std::size_t>(noise_lengths[static_cast<std::size_t>(span)]), 1);
    }

    std::size_t input_sentinels = 0, target_sentinels = 0;
    bool previous_noise = false;
    for (int64_t n = 0; n < length; ++n) {
      const bool is_noise = noise[static_cast<std::size_t>(n)] != 0;
      if (is_noise) {
        if (!previous_noise) input.push_back(sentinels[input_sentinels++]);
        target.push_back(row[static_cast<std::size_t>(n)]);
      } else {
        if (n == 0 || previous_noise) target.push_back(sentinels[target_sentinels++]);
        input.push_back(row[static_cast<std::size_t>(n)]);
      }
      previous_noise = is_noise;
    }
    input.push_back(units().eos_id);
    target.push_back(units().eos_id);
  }

  // random_spans_noise_mask's counts for a row of `length` >= 2, in float32 as
  // T5 computes them (tf.round rounds half to even, as nearbyint does).
  SpanCounts span_counts(int64_t length) const {
    SpanCounts counts;
    counts.noise = static_cast<int64_t>(std::nearbyint(static_cast<float>(length) * static_cast<float>(density_)));
    counts.noise = std::min(std::max<int64_t>(counts.noise, 1), length - 1);
    counts.spans = static_cast<int64_t>(
        std::nearbyint(static_cast<float>(counts.noise) / static_cast<float>(mean_span_)));
    counts.spans = std::min(std::max<int64_t>(counts.spans, 1), length - counts.noise);
    return counts;
  }

  double density_;
  double mean_span_;
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption<SpanInfill>(
      "span_infill", "T5 span corruption: noise spans replaced by unique sentinels, the decoder writes them out",
      schema());
}
