// Test support for the evaluation protocols (probe, kNN, fine-tuning): a toy
// labelled dataset whose classes show in its units, with unlabelled and
// shorter samples, and a tiny in-place model.
#pragma once

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "cloze/core/grid.h"
#include "cloze/core/modality.h"
#include "cloze/core/units.h"
#include "cloze/model/model.h"

namespace labelled_toy {

using cloze::UnitKind;
using cloze::UnitSpec;

inline constexpr int64_t vocab = 16, pad_id = 0, unit_dim = 4, classes = 3;

inline UnitSpec units(UnitKind kind) {
  UnitSpec spec;
  spec.kind = kind;
  if (kind == UnitKind::discrete) {
    spec.vocab_size = vocab;
    spec.pad_id = pad_id;
    spec.special_ids = {pad_id};
  } else {
    spec.unit_dim = unit_dim;
  }
  return spec;
}

// Sample i has class i % 3, and no label (-1) when i % 4 == 3. Its length is
// `length` - i % 3; a batch is as long as its longest row, the rest filler.
// Discrete units: ids from [4 + 4c, 8 + 4c) for class c; continuous ones:
// Gaussian values whose first coordinate has mean c. Filler units hold
// `filler` (an id, or every value of a continuous unit). `cut` keeps only the
// first `cut` units of each sample (0 = all); `seed` draws other units.
class Toy : public cloze::Dataset {
 public:
  Toy(UnitKind kind, int64_t samples, int64_t length, double filler = 0, int64_t cut = 0, uint64_t seed = 0)
      : kind_(kind), samples_(samples), length_(length), filler_(filler), cut_(cut), seed_(seed) {}

  int64_t size() const override { return samples_; }

  static int64_t label(int64_t i) { return i % 4 == 3 ? -1 : i % classes; }
  int64_t length(int64_t i) const {
    const int64_t full = length_ - i % 3;
    return cut_ > 0 ? std::min(full, cut_) : full;
  }

  cloze::Batch collate(const std::vector<int64_t>& indices) const override {
    const auto rows = static_cast<int64_t>(indices.size());
    int64_t longest = 0;
    for (int64_t i : indices) longest = std::max(longest, length(i));
    const bool discrete = kind_ == UnitKind::discrete;
    cloze::Batch batch;
    batch.units = discrete ? at::full({rows, longest}, static_cast<int64_t>(filler_), at::kLong)
                           : at::full({rows, longest, unit_dim}, filler_, at::kFloat);
    batch.padding = at::ones({rows, longest}, at::kBool);
    batch.labels = at::empty({rows}, at::kLong);
    auto padding = batch.padding.accessor<bool, 2>();
    auto labels = batch.labels.accessor<int64_t, 1>();
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = indices[static_cast<std::size_t>(r)], c = i % classes;
      std::mt19937_64 gen(static_cast<uint64_t>(i) * 7919 + 1 + seed_ * 1000003);
      std::normal_distribution<float> normal;
      for (int64_t n = 0; n < length(i); ++n) {
        if (discrete) {
          batch.units.accessor<int64_t, 2>()[r][n] = 4 + 4 * c + static_cast<int64_t>(gen() % 4);
        } else {
          auto values = batch.units.accessor<float, 3>();
          for (int64_t d = 0; d < unit_dim; ++d) values[r][n][d] = normal(gen) + (d == 0 ? static_cast<float>(c) : 0);
        }
        padding[r][n] = false;
      }
      labels[r] = label(i);
    }
    batch.grid.dims = {longest};
    batch.sample_ids = indices;
    return batch;
  }

 private:
  UnitKind kind_;
  int64_t samples_, length_;
  double filler_;
  int64_t cut_;
  uint64_t seed_;
};

// A tiny in-place model whose position table has `table` rows.
inline cloze::DenoisingModel tiny_model(UnitKind kind, int64_t table, double dropout = 0.1) {
  const cloze::ModelOptions options{16, 1, 2, 2.0, dropout};
  const cloze::ModelShape shape{units(kind), cloze::Grid{{table}}, cloze::ReconstructionMode::in_place, table, table};
  return cloze::DenoisingModel(options, shape);
}

}  // namespace labelled_toy
