// What the evaluation protocols (probe.h: the linear probe and kNN on frozen
// features; finetune.h: fine-tuning end to end) share: the walk over a
// dataset's labelled samples in batches, and the encoder as they all read it,
// on clean inputs and mean-pooled over each sample's real units.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "cloze/core/batch.h"
#include "cloze/core/modality.h"
#include "cloze/model/model.h"

namespace cloze {

// The samples a protocol fits on or is scored on: min(data.size(),
// max_samples) dataset indices, ascending. Every index when max_samples
// covers the split; otherwise a uniform draw without replacement from a fixed
// Philox key (RngStream::evaluation), so that every run of a comparison,
// whatever its seed or objective, is scored on the same samples, and a split
// stored class by class (one file per label) is sampled across its classes,
// not cut after its first ones.
std::vector<int64_t> evaluation_samples(const Dataset& data, int64_t max_samples);

// Calls `each` on the samples at `indices` (in that order), collated
// `batch_size` at a time, keeping only the rows whose label is not -1: in the
// batch it gets, labels are [B'] int64, each >= 0, and sample_ids the dataset
// index of each kept row. A batch with no labelled row is skipped. Errors
// begin with `who` ("probe", "finetune").
void for_each_labelled_batch(const Dataset& data, const std::vector<int64_t>& indices, int64_t batch_size,
                             const std::string& who, const std::function<void(const Batch&)>& each);

// The model's encoder on clean (uncorrupted) batches: each batch's own units at
// positions 0 .. N-1, cut to the first rows-of-the-position-table units when
// the grid is longer (T5's raw chunks are longer than its encoder inputs), and
// the output mean-pooled over each sample's real (non-padding) units. Runs in
// whatever mode and grad mode the caller has set. Shares the model it is given.
class PooledEncoder {
 public:
  // Throws cloze::Error, beginning with `who`, for a model without the
  // encoder's position table (pos_embed.weight).
  PooledEncoder(DenoisingModel model, const std::string& who);

  at::Tensor operator()(const Batch& batch);  // -> [B, dim] float32 on device()

  int64_t dim() const { return dim_; }
  c10::Device device() const { return device_; }  // that of the model's parameters

 private:
  DenoisingModel model_;
  int64_t max_length_ = 0;  // rows of the position table (ModelShape::max_input_length)
  int64_t dim_ = 0;
  c10::Device device_ = c10::kCPU;
};

// Restores a model's training mode (train or eval) when it goes out of scope.
class TrainingModeGuard {
 public:
  explicit TrainingModeGuard(DenoisingModel model) : model_(std::move(model)), was_training_(model_->is_training()) {}
  ~TrainingModeGuard() { model_->train(was_training_); }
  TrainingModeGuard(const TrainingModeGuard&) = delete;
  TrainingModeGuard& operator=(const TrainingModeGuard&) = delete;

 private:
  DenoisingModel model_;
  bool was_training_;
};

// Per-sample outcomes of a classifier: 1 where `predicted` [S] equals `labels`
// [S], in order; the protocols' ProbeResult::correct.
std::vector<uint8_t> outcomes(const at::Tensor& predicted, const at::Tensor& labels);

// The mean of `correct`, 0 when it is empty; the protocols' ProbeResult::accuracy.
double mean_of(const std::vector<uint8_t>& correct);

}  // namespace cloze
