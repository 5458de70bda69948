// token_deletion: BART's token deletion.
//
// Lewis et al. 2020, "BART: Denoising Sequence-to-Sequence Pre-training for
// Natural Language Generation, Translation, and Comprehension" (ACL), section
// 2.2: "random tokens are deleted from the input. In contrast to token
// masking, the model must decide which positions are missing inputs."
//
// Per row, the candidates are the units that are neither padding nor special.
// Of n candidates,
//
//   k = min(n, floor(rate * n + u)),  u ~ U[0, 1)
//
// are deleted, chosen uniformly without replacement (fairseq's probabilistic
// rounding, as token_mask: E[k] = rate * n exactly).
//
// With mode = "sequence" (BART):
//
//   input  = the row without the deleted units, in order
//   target = the row itself; decoder_input shifted
//
// With mode = "fill" the deleted positions are known: the encoder sees the
// kept units at their own positions and a light decoder fills in the deleted
// ones (MAE's fill mode on tokens), scored there only.
#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "cloze/core/params.h"
#include "cloze/core/plugin.h"
#include "cloze/core/rng.h"
#include "cloze/corrupt/fill.h"
#include "cloze/corrupt/id_rows.h"
#include "cloze/corrupt/row_rewrite.h"
#include "cloze/corrupt/sampling.h"

namespace {

using cloze::ParamType;

cloze::Schema schema() {
  return {
      cloze::ParamSpec{"rate", ParamType::real, 0.15, "share of candidate units deleted from the input"}.within(0, 1),
      cloze::ParamSpec{
          "mode", ParamType::string, std::string("sequence"),
          "sequence (BART: the decoder writes the whole row) or fill (positions known: a light decoder fills them)"}
          .one_of({"sequence", "fill"}),
  };
}

class TokenDeletion final : public cloze::RowRewrite {
 public:
  explicit TokenDeletion(const cloze::Params& params)
      : rate_(params.real("rate")), fill_(params.string("mode") == "fill") {
  }

  cloze::ReconstructionMode mode() const override {
    return fill_ ? cloze::ReconstructionMode::fill : cloze::ReconstructionMode::sequence;
  }

  std::string incompatibility(const cloze::UnitSpec& units) const override {
    if (!fill_) return RowRewrite::incompatibility(units);
    if (units.kind != cloze::UnitKind::discrete)
      return "token_deletion deletes token ids, but these units are continuous; for patches use patch_mask";
    return "";
  }

 private:
  void do_prepare(const cloze::UnitSpec& units) override { special_ = cloze::special_table(units); }

  // Sequence mode is RowRewrite's, through rewrite(); fill mode marks the
  // deleted units where they stand.
  cloze::Corrupted do_corrupt(const cloze::Batch& batch, uint64_t seed) const override {
    if (!fill_) return RowRewrite::do_corrupt(batch, seed);
    const cloze::IdRows rows(batch);
    at::Tensor dropped = at::zeros({rows.rows(), rows.width()}, at::kBool);  // [B, N]
    bool* dropped_data = dropped.data_ptr<bool>();
    std::vector<int64_t> units;
    std::vector<uint8_t> deleted;  // [L]
    for (int64_t row = 0; row < rows.rows(); ++row) {
      rows.real_units(row, units);
      cloze::SampleRng rng(seed, cloze::RngStream::corruption, batch.epoch, rows.sample(row));
      choose_deleted(units, rng, deleted);
      // The row's i-th real unit sits at its i-th non-padding grid position.
      const bool* padding = rows.padding(row);
      for (int64_t n = 0, i = 0; n < rows.width(); ++n)
        if (!padding[n]) dropped_data[row * rows.width() + n] = deleted[static_cast<std::size_t>(i++)];
    }
    return cloze::fill_corrupted(batch, dropped);
  }

  void rewrite(int64_t /*sample*/, const std::vector<int64_t>& row, cloze::SampleRng& rng,
               std::vector<int64_t>& input, std::vector<int64_t>& target) const override {
    target = row;
    std::vector<uint8_t> deleted;
    choose_deleted(row, rng, deleted);
    for (std::size_t n = 0; n < row.size(); ++n)
      if (!deleted[n]) input.push_back(row[n]);
  }

  // deleted[i] = 1 for the k units of `row` (its real units) chosen for deletion.
  void choose_deleted(const std::vector<int64_t>& row, cloze::SampleRng& rng, std::vector<uint8_t>& deleted) const {
    std::vector<int64_t> candidates;
    cloze::candidate_positions(row, special_, candidates);
    const auto count = static_cast<int64_t>(candidates.size());
    // The min guards the rounding of rate * n + u up to n + 1 when rate = 1.
    const int64_t k = std::min(count, cloze::probabilistic_round(rate_ * static_cast<double>(count), rng));
    cloze::choose_without_replacement(candidates, k, rng);
    deleted.assign(row.size(), 0);
    for (int64_t i = 0; i < k; ++i) deleted[static_cast<std::size_t>(candidates[static_cast<std::size_t>(i)])] = 1;
  }

  double rate_;
  bool fill_;
  std::vector<uint8_t> special_;  // [vocab] 1 where the id is special, from do_prepare()
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption<TokenDeletion>(
      "token_deletion", "BART token deletion: delete a share of the units, the decoder writes the whole row", schema());
}
