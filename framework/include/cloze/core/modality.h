// The interface every modality plugin implements (plugins/NAME/): it turns
// files into samples of units on a grid and collates them into batches.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cloze/core/batch.h"
#include "cloze/core/corrupted.h"
#include "cloze/core/grid.h"
#include "cloze/core/units.h"
#include "cloze/data/bad_samples.h"

namespace cloze {

enum class Split { train, eval };

std::string to_string(Split split);

// One split of a modality's data: a fixed number of samples, each on the same
// grid, addressed by index.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Collates the samples at `indices` into one batch (rows in that order;
  // sample_ids = indices; epoch left 0 for the caller to set). Called
  // concurrently from loader threads: must be thread-safe.
  virtual Batch collate(const std::vector<int64_t>& indices) const = 0;
  // The samples at `indices` as training sees them in `epoch`, which the
  // loader asks for: a dataset that augments (image.augment = "mae") draws
  // each sample's crop from (seed, epoch, sample), so it is the same for any
  // worker count and after a resume. collate() is the deterministic view that
  // evaluation reads. Thread-safe, as collate().
  virtual Batch collate_in_epoch(const std::vector<int64_t>& indices, int64_t epoch) const {
    return collate(indices);
  }
  // The lengths of the runs of consecutive samples that one file holds
  // (WebDataset's shards), in order, summing to size(); empty when every
  // sample is a file of its own. loader.shuffle_buffer reads a run in order.
  virtual std::vector<int64_t> runs() const { return {}; }
};

// What the framework hands a modality when it is built.
struct ModalityContext {
  std::filesystem::path cache_dir;  // where tokenizers and caches may be kept
  uint64_t seed = 0;
  // Units per sample for a configured sequence length: the corruption's
  // raw_length (see corruption.h). Modalities whose length is set by the data
  // (image and audio grids) ignore it.
  std::function<int64_t(int64_t)> raw_length = [](int64_t n) { return n; };
  // Where modalities that read files report those they cannot read.
  std::shared_ptr<BadSamples> bad_samples = std::make_shared<BadSamples>();
};

class Modality {
 public:
  virtual ~Modality() = default;

  virtual UnitSpec units() const = 0;
  virtual Grid grid() const = 0;  // every sample's grid
  virtual std::shared_ptr<Dataset> dataset(Split split) const = 0;
  // The samples the evaluation protocols classify (cloze/evaluate): one per
  // labelled item, on the same grid. By default the training samples; text
  // packed as a stream, whose chunks run across documents, gives one document
  // per sample here, as a classifier's inputs are.
  virtual std::shared_ptr<Dataset> labelled_dataset(Split split) const { return dataset(split); }

  // A human-readable view of one row of a corrupted batch with the corrupted
  // units marked (for `cloze preview` and run logs).
  virtual std::string preview(const Batch& batch, const Corrupted& corrupted, int64_t row) const = 0;

  // A picture of one row for `cloze preview`, from modalities whose units are
  // looked at rather than read (image and spectrogram patches): written as a
  // PNG to `path`; `reconstructed`, when given, is the same corrupted batch
  // with the model's output as its target at the scored units. Returns false,
  // writing nothing, for modalities without pictures (text).
  virtual bool write_picture(const Batch& batch, const Corrupted& corrupted, const Corrupted* reconstructed,
                             int64_t row, const std::filesystem::path& path) const {
    return false;
  }
};

}  // namespace cloze
