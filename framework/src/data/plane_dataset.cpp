#include "cloze/data/plane_dataset.h"

#include <ATen/Functions.h>

#include <utility>

#include "cloze/core/error.h"
#include "cloze/data/patches.h"

namespace cloze {

PlaneDataset::PlaneDataset(std::string who, at::Tensor planes, at::Tensor labels, int64_t patch, Normalize normalize)
    : who_(std::move(who)),
      planes_(std::move(planes)),
      labels_(std::move(labels)),
      patch_(patch),
      grid_(patch_grid(planes_.size(2), planes_.size(3), patch)),
      normalize_(std::move(normalize)) {}

Batch PlaneDataset::collate(const std::vector<int64_t>& indices) const {
  for (const int64_t index : indices)
    if (index < 0 || index >= size())
      throw Error(who_ + ": sample " + std::to_string(index) + " is outside the split's " + std::to_string(size()) +
                  " samples");
  const at::Tensor index = at::tensor(indices, at::kLong);
  return plane_batch(planes_.index_select(0, index), labels_.index_select(0, index), indices, patch_, grid_,
                     normalize_);
}

Batch plane_batch(const at::Tensor& planes, at::Tensor labels, const std::vector<int64_t>& indices, int64_t patch,
                  const Grid& grid, const PlaneDataset::Normalize& normalize) {
  Batch batch;
  batch.units = normalize(patchify(planes, patch));  // [B, N, p*p*C]
  batch.padding = at::zeros({static_cast<int64_t>(indices.size()), grid.numel()}, at::kBool);
  batch.labels = std::move(labels);
  batch.grid = grid;
  batch.sample_ids = indices;
  return batch;
}

void keep_first(at::Tensor& planes, at::Tensor& labels, int64_t limit) {
  if (limit == 0 || limit >= planes.size(0)) return;
  planes = planes.narrow(0, 0, limit).clone();
  labels = labels.narrow(0, 0, limit).clone();
}

Schema labelled_split_schema(const std::string& samples) {
  return {
      ParamSpec{"eval_fraction", ParamType::real, 0.1,
                "share of " + samples +
                    " held out for eval in a folder without train/ and val/ sub-folders (fixed hash of the path)"}
          .at_least(0)
          .below(1),
      ParamSpec{"max_train", ParamType::integer, int64_t{0},
                "use at most this many train samples (the first ones); 0 = all"}
          .at_least(0),
      ParamSpec{"max_eval", ParamType::integer, int64_t{0},
                "use at most this many eval samples (the first ones); 0 = all"}
          .at_least(0),
  };
}

}  // namespace cloze
