#include "cloze/data/streamed_planes.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>

#include <algorithm>
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
        bad_samples_->report_one(options_.source, {file.where(), error}, count);
      else
        labels.push_back(file.label);
    }
    planes.push_back(std::move(plane));
  }
  // Channels last, as readers of interleaved pixels give them: the copies
  // run over contiguous bytes, and so does patchify later.
  at::Tensor batch = at::empty({static_cast<int64_t>(planes.size()), planes[0].size(0), planes[0].size(1),
                                planes[0].size(2)},
                               planes[0].options(), at::MemoryFormat::ChannelsLast);
  for (std::size_t i = 0; i < planes.size(); ++i) batch[static_cast<int64_t>(i)].copy_(planes[i]);
  return {batch, at::tensor(labels, at::kLong)};
}

Batch StreamedPlanes::batch(const std::vector<int64_t>& indices, int64_t epoch) const {
  auto [pixels, labels] = planes(indices, epoch);
  return plane_batch(pixels, std::move(labels), indices, options_.patch, grid_, normalize_);
}

Batch StreamedPlanes::collate(const std::vector<int64_t>& indices) const { return batch(indices, -1); }

std::vector<int64_t> StreamedPlanes::runs() const {
  std::vector<int64_t> lengths;
  for (std::size_t i = 0; i < files_.size(); ++i) {
    const bool same_shard = i > 0 && !files_[i].member.empty() && files_[i].path == files_[i - 1].path;
    if (same_shard)
      ++lengths.back();
    else
      lengths.push_back(1);
  }
  return lengths;
}

Batch StreamedPlanes::collate_in_epoch(const std::vector<int64_t>& indices, int64_t epoch) const {
  return batch(indices, options_.augment ? epoch : -1);
}

at::Tensor StreamedPlanes::statistics_sample() const {
  const int64_t count = std::min(size(), statistics_sample_size), chunk = 64;
  if (count == 0) throw Error(options_.source + ": no files to take normalisation statistics from");
  std::vector<at::Tensor> parts(static_cast<std::size_t>((count + chunk - 1) / chunk));
  at::parallel_for(0, static_cast<int64_t>(parts.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; ++part) {
      std::vector<int64_t> picked;
      for (int64_t i = part * chunk; i < std::min(count, (part + 1) * chunk); ++i) picked.push_back(i * size() / count);
      parts[static_cast<std::size_t>(part)] = planes(picked, /*epoch=*/-1).first;
    }
  });
  return at::cat(parts).contiguous();  // [S, C, H, W] in that order, as statistics read it
}

StreamedSplits stream_splits(LabelledFolder listing, const StreamedPlanes::Reader& read,
                             const StreamedPlanes::Options& options, const Normalizer& normalizer,
                             const std::shared_ptr<BadSamples>& bad_samples) {
  StreamedPlanes::Options unaugmented = options;
  unaugmented.augment = false;
  const auto as_read = [](const at::Tensor& values) { return values; };
  const PlaneDataset::Normalize normalize =
      normalizer(StreamedPlanes(listing.train, read, unaugmented, as_read, bad_samples));
  return {std::make_shared<StreamedPlanes>(std::move(listing.train), read, options, normalize, bad_samples),
          std::make_shared<StreamedPlanes>(std::move(listing.eval), read, unaugmented, normalize, bad_samples)};
}

void keep_first(std::vector<LabelledFile>& files, int64_t limit) {
  if (limit > 0 && limit < static_cast<int64_t>(files.size())) files.resize(static_cast<std::size_t>(limit));
}

}  // namespace cloze
