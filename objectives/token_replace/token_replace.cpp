// token_replace: plain random token replacement.
//
// Per row, the candidates are the units that are neither padding nor special.
// Of n candidates,
//
//   k = min(n, floor(rate * n + u)),  u ~ U[0, 1)
//
// are chosen uniformly without replacement (fairseq's probabilistic rounding,
// as token_mask and token_deletion: E[k] = rate * n exactly), and each becomes
// an ordinary id drawn uniformly from those other than itself: never a special
// id, never [MASK], and always a change. Unlike BERT's 80/10/10, nothing marks
// where the input is wrong; the model has to notice.
//
// target = "original" (in place): the encoder sees the row with its
// replacements, and is scored at the replaced units on their original ids.
// target = "detect" (ELECTRA's discriminator, with random replacements
// instead of a generator): the model says of every unit whether it was
// replaced; the binary head and its loss are the framework's (detect mode).
#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
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

namespace {

cloze::Schema schema() {
  return {cloze::ParamSpec{"rate", cloze::ParamType::real, 0.15,
                           "share of candidate units replaced by a random ordinary id"}
              .within(0, 1),
          cloze::ParamSpec{
              "target", cloze::ParamType::string, std::string("original"),
              "\"original\" (reconstruct the replaced units) or \"detect\" (say of every unit whether it was replaced)"}
              .one_of({"original", "detect"})};
}

class TokenReplace final : public cloze::Corruption {
 public:
  explicit TokenReplace(const cloze::Params& params)
      : rate_(params.real("rate")), detect_(params.string("target") == "detect") {
  }

  cloze::ReconstructionMode mode() const override {
    return detect_ ? cloze::ReconstructionMode::detect : cloze::ReconstructionMode::in_place;
  }

  std::string incompatibility(const cloze::UnitSpec& units) const override {
    if (units.kind != cloze::UnitKind::discrete)
      return "token_replace draws replacement token ids, but these units are continuous; for patches use patch_mask";
    if (units.ordinary_ids().size() < 2)
      return "token_replace needs at least two ordinary (non-special) ids to replace one with another";
    return "";
  }

 private:
  void do_prepare(const cloze::UnitSpec& units) override {
    special_ = cloze::special_table(units);
    ordinary_ = units.ordinary_ids();
  }

  cloze::Corrupted do_corrupt(const cloze::Batch& batch, uint64_t seed) const override {
    const cloze::IdRows rows(batch);
    at::Tensor input = batch.units.clone(at::MemoryFormat::Contiguous);  // [B, N]
    at::Tensor replaced = at::zeros({rows.rows(), rows.width()}, at::kBool);  // [B, N]
    int64_t* input_ids = input.data_ptr<int64_t>();
    bool* replaced_data = replaced.data_ptr<bool>();
    std::vector<int64_t> units, candidates;
    for (int64_t row = 0; row < rows.rows(); ++row) {
      rows.real_units(row, units);
      cloze::candidate_positions(units, special_, candidates);
      cloze::SampleRng rng(seed, cloze::RngStream::corruption, batch.epoch, rows.sample(row));
      const auto count = static_cast<int64_t>(candidates.size());
      const int64_t k = std::min(count, cloze::probabilistic_round(rate_ * static_cast<double>(count), rng));
      cloze::choose_without_replacement(candidates, k, rng);
      for (int64_t i = 0; i < k; ++i) {
        // The row's i-th real unit sits at its i-th grid position: padding only follows the last.
        const int64_t n = candidates[static_cast<std::size_t>(i)];
        input_ids[row * rows.width() + n] = other_ordinary(units[static_cast<std::size_t>(n)], rng);
        replaced_data[row * rows.width() + n] = true;
      }
    }
    if (detect_) return cloze::detection_corrupted(batch, std::move(input), replaced);
    return cloze::in_place_corrupted(batch, std::move(input), std::move(replaced));
  }

  // Uniform over the ordinary ids other than `id` (itself ordinary).
  int64_t other_ordinary(int64_t id, cloze::SampleRng& rng) const {
    const auto position = std::lower_bound(ordinary_.begin(), ordinary_.end(), id) - ordinary_.begin();
    auto drawn = static_cast<int64_t>(rng.below(ordinary_.size() - 1));
    if (drawn >= position) ++drawn;  // skip the id itself
    return ordinary_[static_cast<std::size_t>(drawn)];
  }

  double rate_;
  bool detect_;
  // Built once by do_prepare() from the modality's units.
  std::vector<uint8_t> special_;   // [vocab] 1 where the id is special
  std::vector<int64_t> ordinary_;  // sorted
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption<TokenReplace>(
      "token_replace",
      "random token replacement: a share of the units become other random ordinary ids, "
      "unmarked; reconstructed, or detected as ELECTRA does",
      schema());
}
