#include "image_dataset.h"

#include <ATen/Functions.h>

#include <string>
#include <utility>

#include "cloze/error.h"
#include "cloze/patches.h"

namespace cloze::image {

namespace {

at::Tensor per_channel(const std::vector<double>& values) {  // -> [1, C, 1, 1] float32
  return at::tensor(values, at::kDouble).to(at::kFloat).reshape({1, -1, 1, 1});
}

}  // namespace

ImageDataset::ImageDataset(Images images, const ChannelStats& stats, int64_t patch)
    : images_(std::move(images)),
      patch_(patch),
      grid_(patch_grid(images_.pixels.size(2), images_.pixels.size(3), patch)) {
  std::vector<double> scale, shift;
  for (std::size_t c = 0; c < stats.mean.size(); ++c) {
    scale.push_back(1.0 / (255.0 * stats.std[c]));
    shift.push_back(stats.mean[c] / stats.std[c]);
  }
  scale_ = per_channel(scale);
  shift_ = per_channel(shift);
}

Batch ImageDataset::collate(const std::vector<int64_t>& indices) const {
  const auto rows = static_cast<int64_t>(indices.size());
  for (const int64_t index : indices)
    if (index < 0 || index >= size())
      throw Error("image: sample " + std::to_string(index) + " is outside the split's " + std::to_string(size()) +
                  " samples");
  const at::Tensor index = at::tensor(indices, at::kLong);
  const at::Tensor planes = images_.pixels.index_select(0, index).to(at::kFloat) * scale_ - shift_;  // [B, C, H, W]
  Batch batch;
  batch.units = patchify(planes, patch_);  // [B, N, p*p*C]
  batch.padding = at::zeros({rows, grid_.numel()}, at::kBool);
  batch.labels = images_.labels.index_select(0, index);
  batch.grid = grid_;
  batch.sample_ids = indices;
  return batch;
}

}  // namespace cloze::image
