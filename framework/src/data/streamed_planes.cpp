#include "cloze/data/streamed_planes.h"

#include <ATen/Functions.h>

#include <utility>

#include "cloze/core/error.h"
#include "cloze/data/patches.h"

namespace cloze {

StreamedPlanes::StreamedPlanes(std::vector<LabelledFile> files, Reader read, Options options,
                               PlaneDataset::Normalize normalize, std::shared_ptr<BadSamples> bad_samples)
    : files_(std::move(files)),
      read_(std::move(read)),
      options_(std::move(options)),
      grid_(patch_grid(options_.height, options_.width, options_.patch)),
      normalize_(std::move(normalize)),
      bad_samples_(std::move(bad_samples)) {}

std::pair<at::Tensor, at::Tensor> StreamedPlanes::planes(const std::vector<int64_t>& indices, int64_t epoch) const {
  const int64_t count = size();
  std::vector<at::Tensor> planes;
  std::vector<int64_t> labels;
  for (const int64_t index : indices) {
    if (index < 0 || index >= count)
      throw Error(options_.source + ": sample " + std::to_string(index) + " is outside the split's " +
                  std::to_string(count) + " samples");
    at::Tensor plane;
    for (int64_t tried = 0; !plane.defined(); ++tried) {
      if (tried == count)
        throw Error(options_.source + ": none of the split's files can be read (" + std::to_string(count) + " tried)");
      const int64_t sample = (index + tried) % count;
      const LabelledFile& file = files_[static_cast<std::size_t>(sample)];
      SampleRng draws(options_.seed, RngStream::augmentation, epoch, sample);
      std::string error;
      plane = read_(file, epoch >= 0 ? &draws : nullptr, error);
      if (!plane.defined())
        bad_samples_->report_one(options_.source, {file.path, error}, count);
      else
        labels.push_back(file.label);
    }
    planes.push_back(std::move(plane));
  }
  return {at::stack(planes), at::tensor(labels, at::kLong)};
}

Batch StreamedPlanes::batch(const std::vector<int64_t>& indices, int64_t epoch) const {
  auto [pixels, labels] = planes(indices, epoch);
  return plane_batch(normalize_(pixels), std::move(labels), indices, options_.patch, grid_);
}

Batch StreamedPlanes::collate(const std::vector<int64_t>& indices) const { return batch(indices, -1); }

Batch StreamedPlanes::collate_in_epoch(const std::vector<int64_t>& indices, int64_t epoch) const {
  return batch(indices, options_.augment ? epoch : -1);
}

}  // namespace cloze
