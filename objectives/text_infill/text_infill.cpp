// text_infill: BART's text infilling.
//
// Lewis et al. 2020, "BART: Denoising Sequence-to-Sequence Pre-training for
// Natural Language Generation, Translation, and Comprehension" (ACL), section
// 2.2; the code this follows is fairseq's data/denoising_dataset.py,
// add_whole_word_mask with mask_length = "span-poisson" and replace_length = 1,
// at token level: every candidate (a unit that is neither padding nor
// special) starts a "word".
//
// Per row of L real units with n candidates:
//
//   budget = ceil(rate * n)                         (fairseq's num_to_mask)
//   lengths ~ Poisson(poisson_lambda), drawn until their sum reaches budget,
//             the last one trimmed so that the sum is exactly budget
//
// and one start per span is drawn uniformly without replacement among the
// candidates (at most n spans; further ones are dropped). A span of length
// k > 0 keeps its start as one [MASK] and deletes the next k - 1 units; it
// stops early at a special unit or the row's end, so specials are never
// touched. Spans may overlap, as in fairseq: a unit any span deletes is
// deleted even where another span starts, so overlapping spans merge under
// one [MASK]. A span of length 0 inserts one [MASK] before its start (fairseq
// inserts these at random places of the result in add_insertion_noise; the
// count is the same). Each [MASK], spans and insertions alike, is an
// independent uniformly drawn ordinary id instead with probability `random`
// (fairseq draws from the whole vocabulary).
//
//   input  = the row so rewritten: L - deleted + inserted units
//   target = the row itself, its own bos/eos included; decoder_input shifted
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
#include "cloze/corrupt/id_rows.h"
#include "cloze/corrupt/row_rewrite.h"
#include "cloze/corrupt/sampling.h"

namespace {

using cloze::ParamType;

// poisson_lambda is bounded below: SampleRng::poisson is Knuth's product
// sampler, exact, but a draw is 0 with probability exp(-lambda), so covering a
// row's budget takes about budget / lambda draws: at lambda = 1e-300 corrupt()
// never returned (found by tests/fuzz/fuzz_text_infill).
cloze::Schema schema() {
  return {
      cloze::ParamSpec{"rate", ParamType::real, 0.3, "share of candidate units hidden in spans, ceil(rate * n) per row"}
          .within(0, 1),
      cloze::ParamSpec{"poisson_lambda", ParamType::real, 3.0, "mean of the Poisson span length"}.within(0.01, 30),
      cloze::ParamSpec{"random", ParamType::real, 0.0,
                       "probability that a span's [MASK] is a uniformly drawn ordinary id instead"}
          .within(0, 1),
  };
}

class TextInfill final : public cloze::RowRewrite {
 public:
  explicit TextInfill(const cloze::Params& params)
      : rate_(params.real("rate")), lambda_(params.real("poisson_lambda")), random_(params.real("random")) {}

  std::string incompatibility(const cloze::UnitSpec& units) const override {
    std::string why = RowRewrite::incompatibility(units);
    if (!why.empty()) return why;
    if (random_ < 1.0 && units.mask_id < 0)
      return "text_infill replaces each span with [MASK], but the vocabulary has no [MASK] id; use a tokenizer "
             "with a [MASK] token";
    if (random_ > 0.0 && units.ordinary_ids().empty())
      return "text_infill.random = " + cloze::to_toml(random_) +
             " draws random ordinary ids, but every id of the vocabulary is special";
    return "";
  }

  Lengths max_lengths(int64_t raw_length) const override {
    // At worst every span has length 0 and inserts a [MASK].
    return {raw_length + static_cast<int64_t>(std::ceil(rate_ * static_cast<double>(raw_length))), raw_length};
  }

 private:
  void do_prepare(const cloze::UnitSpec& units) override {
    special_ = cloze::special_table(units);
    ordinary_ = units.ordinary_ids();
  }

  void rewrite(int64_t /*sample*/, const std::vector<int64_t>& row, cloze::SampleRng& rng,
               std::vector<int64_t>& input, std::vector<int64_t>& target) const override {
    target = row;
    std::vector<int64_t> candidates;
    cloze::candidate_positions(row, special_, candidates);
    const auto length = static_cast<int64_t>(row.size());
    const auto count = static_cast<int64_t>(candidates.size());
    const auto budget = static_cast<int64_t>(std::ceil(rate_ * static_cast<double>(count)));
    if (budget == 0) {
      input = row;
      return;
    }

    std::vector<int64_t> lengths;
    cloze::poisson_span_lengths(budget, lambda_, rng, lengths);
    const int64_t spans = std::min(static_cast<int64_t>(lengths.size()), count);
    cloze::choose_without_replacement(candidates, spans, rng);
    // What becomes of each unit of the row.
    struct Edit {
      int64_t inserted = -1;  // the id inserted before it (a span of length 0), -1 for none
      int64_t replaced = -1;  // the id it becomes (a span's start), -1 for none
      bool deleted = false;   // inside a span, after its start
    };
    std::vector<Edit> edits(static_cast<std::size_t>(length));
    for (int64_t span = 0; span < spans; ++span) {
      const int64_t start = candidates[static_cast<std::size_t>(span)];
      const int64_t span_length = lengths[static_cast<std::size_t>(span)];
      Edit& first = edits[static_cast<std::size_t>(start)];
      (span_length == 0 ? first.inserted : first.replaced) = replacement(rng);
      for (int64_t n = start + 1; n < std::min(start + span_length, length); ++n) {
        if (special_[static_cast<std::size_t>(row[static_cast<std::size_t>(n)])]) break;
        edits[static_cast<std::size_t>(n)].deleted = true;
      }
    }

    for (std::size_t n = 0; n < row.size(); ++n) {
      const Edit& edit = edits[n];
      if (edit.inserted >= 0) input.push_back(edit.inserted);
      if (!edit.deleted) input.push_back(edit.replaced >= 0 ? edit.replaced : row[n]);
    }
  }

  // What one span's [MASK] becomes: [MASK], or with probability `random` an ordinary id.
  int64_t replacement(cloze::SampleRng& rng) const {
    if (random_ > 0.0 && rng.uniform() < random_) return ordinary_[rng.below(ordinary_.size())];
    return units().mask_id;
  }

  double rate_;
  double lambda_;
  double random_;

  // Built once by do_prepare() from the modality's units.
  std::vector<uint8_t> special_;   // [vocab] 1 where the id is special
  std::vector<int64_t> ordinary_;  // ids a random replacement is drawn from
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption<TextInfill>(
      "text_infill",
      "BART text infilling: Poisson-length spans each replaced by one [MASK], the decoder "
      "writes the whole row",
      schema());
}
