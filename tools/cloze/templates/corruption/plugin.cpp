// @NAME@: shuffles the units inside windows, and the model puts them back.
//
// Each row is cut into windows of `window` units; each window is shuffled
// with probability `rate`, by a uniformly random permutation. The encoder sees
// the row with its shuffled windows, every unit at its own position, and is
// scored at every position of a shuffled window (in-place reconstruction, as
// BERT). It works on any units: token ids (text) and patch vectors (images,
// spectrograms) are moved the same way.
#include <ATen/ops/arange.h>
#include <ATen/ops/zeros.h>

#include <algorithm>
#include <memory>
#include <string>

#include "cloze/core/corruption.h"
#include "cloze/core/params.h"
#include "cloze/core/plugin.h"
#include "cloze/core/rng.h"
#include "cloze/corrupt/in_place.h"

namespace {

// The parameters, their types, defaults, documentation and allowed values:
// `cloze config` prints them, `cloze plugins --describe @NAME@` documents
// them, and the config loader refuses unknown keys, wrong types and values
// out of range against them, naming the file and line.
cloze::Schema schema() {
  return {
      // One unit alone cannot be shuffled.
      cloze::ParamSpec{"window", cloze::ParamType::integer, int64_t{4}, "units per window"}.at_least(2),
      cloze::ParamSpec{"rate", cloze::ParamType::real, 0.5, "probability that a window is shuffled"}.within(0, 1),
  };
}

class @CLASS@ final : public cloze::Corruption {
 public:
  // The schema has checked each value; a check of one parameter against
  // another goes here, as params.require(ok, key, why), which names the key.
  explicit @CLASS@(const cloze::Params& params) : window_(params.integer("window")), rate_(params.real("rate")) {}

  cloze::ReconstructionMode mode() const override { return cloze::ReconstructionMode::in_place; }

  // Moving units needs nothing of them, so every modality will do. A
  // corruption that needs a [MASK] id or discrete units says why here.
  std::string incompatibility(const cloze::UnitSpec&) const override { return ""; }

 private:
  // The work. The framework's corrupt() calls it after checking the batch
  // against the units (shapes, ids, sample ids) and checks what it returns
  // against the mode. Called from several loader threads at once: it only
  // reads members, and every random draw for a row comes from that row's own
  // generator.
  cloze::Corrupted do_corrupt(const cloze::Batch& batch, uint64_t seed) const override {
    const int64_t rows = batch.size(), width = batch.units.size(1);
    // source[b][n]: the position whose unit the input shows at position n.
    at::Tensor source = at::arange(width, at::kLong).repeat({rows, 1});
    at::Tensor scored = at::zeros({rows, width}, at::kBool);
    const at::Tensor padding = batch.padding.contiguous();
    for (int64_t row = 0; row < rows; ++row) {
      // Keyed by (seed, epoch, sample): a sample is corrupted the same way
      // whatever thread, batch or number of ranks it lands in.
      cloze::SampleRng rng(seed, cloze::RngStream::corruption, batch.epoch,
                           batch.sample_ids[static_cast<std::size_t>(row)]);
      int64_t* from = source.data_ptr<int64_t>() + row * width;
      bool* loss = scored.data_ptr<bool>() + row * width;
      // Padding only ever follows a sample's last unit.
      const bool* pad = padding.data_ptr<bool>() + row * width;
      const int64_t length = std::find(pad, pad + width, true) - pad;
      for (int64_t start = 0; start + 1 < length; start += window_) {
        if (rng.uniform() >= rate_) continue;
        const int64_t end = std::min(start + window_, length);
        for (int64_t i = end - 1; i > start; --i)  // Fisher-Yates
          std::swap(from[i], from[start + static_cast<int64_t>(rng.below(static_cast<uint64_t>(i - start + 1)))]);
        std::fill(loss + start, loss + end, true);
      }
    }
    // Ids are [B, N], patch values [B, N, D]: gather along the unit axis.
    const at::Tensor index = batch.units.dim() == 3 ? source.unsqueeze(-1).expand_as(batch.units) : source;
    return cloze::in_place_corrupted(batch, batch.units.gather(1, index), scored);
  }

  int64_t window_;
  double rate_;
};

}  // namespace

// The entry point the registry looks for in lib@NAME@.so.
CLOZE_PLUGIN(registry) {
  registry.add_corruption<@CLASS@>("@NAME@", "shuffles the units inside windows; the model puts them back",
                                   schema());
}
