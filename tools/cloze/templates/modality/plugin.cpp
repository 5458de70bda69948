// @NAME@: a modality that makes its samples instead of reading files, as a
// worked example of the Modality interface. Each sample is `length` token ids
// that count up by `step` from a start fixed by the sample's index, so a model
// can learn to fill in what a corruption hid. Replace make_row() with reading
// your own data.
#include <ATen/ops/zeros.h>
#include <ATen/ops/full.h>

#include <memory>
#include <sstream>
#include <string>

#include "cloze/core/modality.h"
#include "cloze/core/params.h"
#include "cloze/core/plugin.h"

namespace {

constexpr int64_t pad_id = 0, mask_id = 1, first_ordinary = 2;  // ids below 2 are special

cloze::Schema schema() {
  return {
      {"length", cloze::ParamType::integer, int64_t{32}, "ids per sample"},
      {"vocab", cloze::ParamType::integer, int64_t{64}, "ids in the vocabulary, the 2 special ones included"},
      {"step", cloze::ParamType::integer, int64_t{3}, "how much each id adds to the one before (mod the ordinary ids)"},
      {"train_samples", cloze::ParamType::integer, int64_t{4096}, "samples in the train split"},
      {"eval_samples", cloze::ParamType::integer, int64_t{256}, "samples in the eval split"},
  };
}

struct Options {
  int64_t length, vocab, step;
};

class Samples final : public cloze::Dataset {
 public:
  // Eval samples come after the train ones, so the splits never share one.
  Samples(Options options, int64_t first, int64_t count) : options_(options), first_(first), count_(count) {}

  int64_t size() const override { return count_; }

  // Thread-safe: it only reads members.
  cloze::Batch collate(const std::vector<int64_t>& indices) const override {
    const auto rows = static_cast<int64_t>(indices.size());
    cloze::Batch batch;
    batch.units = at::zeros({rows, options_.length}, at::kLong);
    batch.padding = at::zeros({rows, options_.length}, at::kBool);  // every sample fills its grid
    batch.labels = at::full({rows}, -1, at::kLong);                  // unlabelled
    batch.grid = cloze::Grid{{options_.length}};
    batch.sample_ids = indices;
    for (int64_t row = 0; row < rows; ++row)
      make_row(first_ + indices[static_cast<std::size_t>(row)], batch.units.data_ptr<int64_t>() + row * options_.length);
    return batch;
  }

 private:
  void make_row(int64_t sample, int64_t* ids) const {
    const int64_t ordinary = options_.vocab - first_ordinary;
    const int64_t start = (sample * 7919) % ordinary;  // any fixed function of the sample will do
    for (int64_t i = 0; i < options_.length; ++i) ids[i] = first_ordinary + (start + i * options_.step) % ordinary;
  }

  Options options_;
  int64_t first_, count_;
};

class @CLASS@ final : public cloze::Modality {
 public:
  // The context (cache folder, seed, the corruption's raw length) serves modalities
  // that read data or cut rows to length; these rows are made whole here.
  @CLASS@(const cloze::Params& params, const cloze::ModalityContext&)
      : options_{params.integer("length"), params.integer("vocab"), params.integer("step")} {
    params.require(options_.length >= 1, "length", "must be at least 1");
    params.require(options_.vocab > first_ordinary, "vocab", "must leave ordinary ids after the 2 special ones");
    const int64_t train = params.integer("train_samples"), eval = params.integer("eval_samples");
    params.require(train >= 1, "train_samples", "must be at least 1");
    params.require(eval >= 1, "eval_samples", "must be at least 1");
    train_ = std::make_shared<Samples>(options_, 0, train);
    eval_ = std::make_shared<Samples>(options_, train, eval);
  }

  // What a unit is: corruptions read this to refuse pairings that cannot work
  // (a [MASK] id is needed by token_mask) and to know which ids never to touch.
  cloze::UnitSpec units() const override {
    cloze::UnitSpec units;
    units.kind = cloze::UnitKind::discrete;
    units.vocab_size = options_.vocab;
    units.pad_id = pad_id;
    units.mask_id = mask_id;
    units.special_ids = {pad_id, mask_id};
    return units;
  }

  cloze::Grid grid() const override { return cloze::Grid{{options_.length}}; }

  std::shared_ptr<cloze::Dataset> dataset(cloze::Split split) const override {
    return split == cloze::Split::train ? train_ : eval_;
  }

  // The row's ids, each scored one as [input -> target]: the target is the
  // original id, or the model's guess when `corrupted` holds its reconstruction
  // (cloze preview). Only in-place corruptions keep ids at their positions;
  // for the others the original row is shown.
  std::string preview(const cloze::Batch& batch, const cloze::Corrupted& corrupted, int64_t row) const override {
    const bool in_place = corrupted.mode == cloze::ReconstructionMode::in_place;
    std::ostringstream out;
    for (int64_t i = 0; i < options_.length; ++i) {
      if (in_place && corrupted.loss_mask[row][i].item<bool>())
        out << "[" << corrupted.input[row][i].item<int64_t>() << " -> " << corrupted.target[row][i].item<int64_t>()
            << "] ";
      else
        out << batch.units[row][i].item<int64_t>() << " ";
    }
    return out.str();
  }

 private:
  Options options_;
  std::shared_ptr<cloze::Dataset> train_, eval_;
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_modality<@CLASS@>("@NAME@", "rows of ids counting up by a fixed step (an example modality)", schema());
}
