// span_mask: SpanBERT's span masking, reconstructed in place.
//
// Joshi et al. 2020, "SpanBERT: Improving Pre-training by Representing and
// Predicting Spans" (TACL), section 3.1; the code this follows is SpanBERT's
// pretraining/fairseq/data/masking.py (PairWithSpanMaskingScheme.mask,
// span_masking, merge_intervals), on units instead of whole words.
//
// Per row, the candidates are the units that are neither padding nor special.
// Of n candidates exactly
//
//   budget = ceil(rate * n)
//
// are chosen (SpanBERT's mask_num). Until the budget is reached: draw a span
// length from the geometric distribution truncated to 1..max_span and
// renormalised, P(k) ~ geometric_p (1 - geometric_p)^(k - 1) (SpanBERT's
// len_distrib: mean 3.8 at p = 0.2, max 10), draw an anchor uniformly among
// the candidates (redrawn if already chosen), and choose the span's candidates
// from the anchor on: it stops at a non-candidate, at the row's end, or when
// the budget is reached (SpanBERT trims the last span, it never overshoots).
// Already chosen units inside a span are passed over and not counted again.
//
// Chosen units that touch form one span (merge_intervals), and the
// replacement is drawn once per span: with probability `mask` every unit of
// the span becomes [MASK], with `random` every unit becomes its own uniformly
// drawn ordinary id, otherwise the span stays; every chosen unit counts in the
// loss. Output as token_mask: full-length input, target = the units.
#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/params.h"
#include "cloze/core/plugin.h"
#include "cloze/core/rng.h"
#include "cloze/corrupt/id_rows.h"
#include "cloze/corrupt/in_place.h"
#include "cloze/corrupt/sampling.h"
#include "cloze/corrupt/unit_replacement.h"

namespace {

using cloze::ParamType;

cloze::Schema schema() {
  cloze::Schema schema{
      cloze::ParamSpec{"rate", ParamType::real, 0.15,
                       "share of candidate units chosen for prediction, ceil(rate * n) per row"}
          .within(0, 1),
      cloze::ParamSpec{"geometric_p", ParamType::real, 0.2, "p of the span length's geometric distribution"}
          .above(0)
          .at_most(1),
      cloze::ParamSpec{"max_span", ParamType::integer, int64_t{10},
                       "longest span; the geometric is truncated here and renormalised"}
          .at_least(1)};
  for (auto& spec : cloze::UnitReplacement::schema("span")) schema.push_back(std::move(spec));
  return schema;
}

class SpanMask final : public cloze::Corruption {
 public:
  explicit SpanMask(const cloze::Params& params)
      : rate_(params.real("rate")),
        geometric_p_(params.real("geometric_p")),
        max_span_(params.integer("max_span")),
        replacement_(params) {
  }

  cloze::ReconstructionMode mode() const override { return cloze::ReconstructionMode::in_place; }

  std::string incompatibility(const cloze::UnitSpec& units) const override {
    return replacement_.incompatibility(units, "span_mask");
  }

 private:
  void do_prepare(const cloze::UnitSpec& units) override {
    special_ = cloze::special_table(units);
    replacement_.prepare(units);
  }

  cloze::Corrupted do_corrupt(const cloze::Batch& batch, uint64_t seed) const override {
    const cloze::IdRows rows(batch);
    const int64_t width = rows.width();
    at::Tensor input = batch.units.contiguous().clone();                 // [B, N]
    at::Tensor loss_mask = at::zeros({rows.rows(), width}, at::kBool);  // [B, N]
    int64_t* input_data = input.data_ptr<int64_t>();
    bool* loss_data = loss_mask.data_ptr<bool>();

    std::vector<int64_t> candidates;  // positions in the row
    for (int64_t row = 0; row < rows.rows(); ++row) {
      const bool* padding = rows.padding(row);
      int64_t* in = input_data + row * width;
      bool* chosen = loss_data + row * width;
      candidates.clear();
      for (int64_t n = 0; n < width; ++n)
        if (!padding[n] && !special_[static_cast<std::size_t>(rows.ids(row)[n])]) candidates.push_back(n);

      cloze::SampleRng rng(seed, cloze::RngStream::corruption, batch.epoch, rows.sample(row));
      const auto count = static_cast<int64_t>(candidates.size());
      const auto budget = static_cast<int64_t>(std::ceil(rate_ * static_cast<double>(count)));
      int64_t selected = 0;
      while (selected < budget) {
        const int64_t span = cloze::truncated_geometric(geometric_p_, max_span_, rng);
        int64_t index = static_cast<int64_t>(rng.below(static_cast<uint64_t>(count)));
        if (chosen[candidates[static_cast<std::size_t>(index)]]) continue;
        // The span runs over consecutive positions that are all candidates.
        for (int64_t taken = 0; taken < span && index < count && selected < budget; ++taken, ++index) {
          const int64_t n = candidates[static_cast<std::size_t>(index)];
          if (taken > 0 && candidates[static_cast<std::size_t>(index - 1)] != n - 1) break;
          if (!chosen[n]) {
            chosen[n] = true;
            ++selected;
          }
        }
      }

      // One replacement draw per run of touching chosen units.
      auto choice = cloze::UnitReplacement::Choice::keep;
      for (int64_t n = 0; n < width; ++n) {
        if (!chosen[n]) continue;
        if (n == 0 || !chosen[n - 1]) choice = replacement_.draw(rng);
        in[n] = replacement_.apply(choice, in[n], rng);
      }
    }

    return cloze::in_place_corrupted(batch, input, loss_mask);
  }

  double rate_;
  double geometric_p_;
  int64_t max_span_;
  cloze::UnitReplacement replacement_;

  // Built once by do_prepare() from the modality's units.
  std::vector<uint8_t> special_;  // [vocab] 1 where the id is special
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption<SpanMask>(
      "span_mask", "SpanBERT span masking: geometric-length spans of units, [MASK] / random ids / keep per span",
      schema());
}
