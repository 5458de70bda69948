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

#include "cloze/core/corruption.h"
#include "cloze/core/error.h"
#include "cloze/core/params.h"
#include "cloze/core/plugin.h"
#include "cloze/core/rng.h"
#include "cloze/corrupt/fill.h"
#include "cloze/corrupt/id_rows.h"
#include "cloze/corrupt/sampling.h"
#include "cloze/corrupt/sequence_batch.h"

namespace {

using cloze::ParamType;

cloze::Schema schema() {
  return {
      {"rate", ParamType::real, 0.15, "share of candidate units deleted from the input"},
      {"mode", ParamType::string, std::string("sequence"),
       "sequence (BART: the decoder writes the whole row) or fill (positions known: a light decoder fills them)"},
  };
}

class TokenDeletion : public cloze::Corruption {
 public:
  explicit TokenDeletion(const cloze::Params& params)
      : rate_(params.real("rate")), fill_(params.string("mode") == "fill") {
    params.require(rate_ >= 0.0 && rate_ <= 1.0, "rate", "must be in [0, 1]");
    params.require(fill_ || params.string("mode") == "sequence", "mode", "must be sequence or fill");
  }

  cloze::ReconstructionMode mode() const override {
    return fill_ ? cloze::ReconstructionMode::fill : cloze::ReconstructionMode::sequence;
  }

  std::string incompatibility(const cloze::UnitSpec& units) const override {
    if (!fill_) return cloze::sequence_incompatibility("token_deletion", units);
    if (units.kind != cloze::UnitKind::discrete)
      return "token_deletion deletes token ids, but these units are continuous; for patches use patch_mask";
    return "";
  }

  void prepare(const cloze::UnitSpec& units) override {
    cloze::require_compatible(*this, units);
    units_ = units;
    special_ = cloze::special_table(units);
    prepared_ = true;
  }

  cloze::Corrupted corrupt(const cloze::Batch& batch, uint64_t seed) const override {
    if (!prepared_) throw cloze::Error("token_deletion: corrupt() called before prepare(units)");
    const cloze::IdRows rows(batch, "token_deletion", units_.vocab_size);
    std::vector<std::vector<int64_t>> inputs(static_cast<std::size_t>(rows.rows()));
    std::vector<std::vector<int64_t>> targets(static_cast<std::size_t>(rows.rows()));
    at::Tensor dropped = at::zeros({rows.rows(), rows.width()}, at::kBool);  // [B, N], fill mode only
    bool* dropped_data = dropped.data_ptr<bool>();
    std::vector<int64_t> candidates;
    std::vector<uint8_t> deleted;  // [L]
    for (int64_t row = 0; row < rows.rows(); ++row) {
      auto& units = targets[static_cast<std::size_t>(row)];
      rows.real_units(row, units);
      cloze::candidate_positions(units, special_, candidates);
      const auto count = static_cast<int64_t>(candidates.size());

      cloze::SampleRng rng(seed, cloze::RngStream::corruption, batch.epoch, rows.sample(row));
      // The min guards the rounding of rate * n + u up to n + 1 when rate = 1.
      const int64_t k = std::min(count, cloze::probabilistic_round(rate_ * static_cast<double>(count), rng));
      cloze::choose_without_replacement(candidates, k, rng);
      deleted.assign(units.size(), 0);
      for (int64_t i = 0; i < k; ++i) deleted[static_cast<std::size_t>(candidates[static_cast<std::size_t>(i)])] = 1;
      if (fill_) {
        // The row's i-th real unit sits at its i-th non-padding grid position.
        const bool* padding = rows.padding(row);
        for (int64_t n = 0, i = 0; n < rows.width(); ++n)
          if (!padding[n]) dropped_data[row * rows.width() + n] = deleted[static_cast<std::size_t>(i++)];
        continue;
      }

      auto& input = inputs[static_cast<std::size_t>(row)];
      for (std::size_t n = 0; n < units.size(); ++n)
        if (!deleted[n]) input.push_back(units[n]);
    }
    if (fill_) return cloze::fill_corrupted(batch, dropped);
    return cloze::sequence_corrupted(inputs, targets, units_.pad_id, units_.bos_id);
  }

 private:
  double rate_;
  bool fill_;

  // Built once by prepare() from the modality's units.
  bool prepared_ = false;
  cloze::UnitSpec units_;
  std::vector<uint8_t> special_;  // [vocab] 1 where the id is special
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption<TokenDeletion>(
      "token_deletion", "BART token deletion: delete a share of the units, the decoder writes the whole row", schema());
}
