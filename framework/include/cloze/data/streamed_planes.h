// One split of planes decoded as batches ask for them (pictures, clips), for
// datasets larger than memory: the files are listed up front, each batch's
// are read in the loader thread that makes it, and resident memory holds the
// batches in flight, not the dataset. The modality gives the reader (decode,
// resize, augment); this class gives what every streaming modality shares:
// augmentation draws keyed by (seed, epoch, sample), bad files handled as
// loader.on_bad_sample says, normalisation and patches.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cloze/core/modality.h"
#include "cloze/core/rng.h"
#include "cloze/data/bad_samples.h"
#include "cloze/data/labelled_folder.h"
#include "cloze/data/plane_dataset.h"

namespace cloze {

class StreamedPlanes final : public Dataset {
 public:
  // Reads `file` as a [C, H, W] plane (the same shape and dtype for every
  // file). `draws` is null for the deterministic view (evaluation, collate)
  // and otherwise the sample's random stream for the epoch. Returns an
  // undefined tensor, with `error` saying why, when the file cannot be read.
  using Reader = std::function<at::Tensor(const LabelledFile& file, SampleRng* draws, std::string& error)>;

  struct Options {
    std::string source;  // the folder, named in errors and bad-sample counts
    int64_t height = 0, width = 0, patch = 0;  // of every plane; p divides both
    bool augment = false;                      // collate_in_epoch passes draws to the reader
    uint64_t seed = 0;
  };

  StreamedPlanes(std::vector<LabelledFile> files, Reader read, Options options, PlaneDataset::Normalize normalize,
                 std::shared_ptr<BadSamples> bad_samples);

  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  Batch collate(const std::vector<int64_t>& indices) const override;
  Batch collate_in_epoch(const std::vector<int64_t>& indices, int64_t epoch) const override;
  std::vector<int64_t> runs() const override;  // the members of each shard; a plain file alone

  // The planes [B, C, H, W] (channels-last memory) and labels [B] at
  // `indices`, not normalised (`epoch` < 0: the deterministic view). A file that cannot be read is
  // reported to the bad samples; when they say skip, the next readable file
  // of the split (in listing order, wrapping) stands in for it, so a batch
  // keeps its size and stays a function of (seed, epoch, indices).
  std::pair<at::Tensor, at::Tensor> planes(const std::vector<int64_t>& indices, int64_t epoch) const;

  // A modality's normalisation statistics come from at most this many of its
  // train planes: enough for a mean and std to three digits without decoding
  // a large folder twice.
  static constexpr int64_t statistics_sample_size = 1024;

  // Up to statistics_sample_size planes, contiguous [S, C, H, W], as
  // planes() gives them in the deterministic view, spread evenly over the
  // listing (file i * size() / S for i < S; every file of a smaller split),
  // decoded in parallel a chunk at a time. Throws cloze::Error naming the
  // source when the split holds no files.
  at::Tensor statistics_sample() const;

 private:
  Batch batch(const std::vector<int64_t>& indices, int64_t epoch) const;

  std::vector<LabelledFile> files_;
  Reader read_;
  Options options_;
  Grid grid_;
  PlaneDataset::Normalize normalize_;
  std::shared_ptr<BadSamples> bad_samples_;
};

// A folder's two splits, streamed: train augments when options.augment says
// so, eval never does. `normalizer` makes their normalisation from the train
// split as read (unnormalised), from which it may take statistics_sample().
struct StreamedSplits {
  std::shared_ptr<StreamedPlanes> train, eval;
};
using Normalizer = std::function<PlaneDataset::Normalize(const StreamedPlanes& unnormalised_train)>;
StreamedSplits stream_splits(LabelledFolder listing, const StreamedPlanes::Reader& read,
                             const StreamedPlanes::Options& options, const Normalizer& normalizer,
                             const std::shared_ptr<BadSamples>& bad_samples);

// Cuts a split's listing to its first `limit` files (all when 0): the
// max_train / max_eval of the modalities that stream.
void keep_first(std::vector<LabelledFile>& files, int64_t limit);

}  // namespace cloze
