// Labelled batches and the pooled encoder, shared by the linear probe, kNN and
// fine-tuning.
#include "cloze/evaluate/labelled_batches.h"

#include <ATen/Functions.h>

#include <algorithm>
#include <numeric>
#include <utility>

#include "cloze/core/corrupted.h"
#include "cloze/core/error.h"
#include "cloze/core/rng.h"
#include "cloze/core/shape_text.h"

namespace cloze {

std::vector<int64_t> evaluation_samples(const Dataset& data, int64_t max_samples) {
  const int64_t size = data.size(), count = std::max<int64_t>(0, std::min(size, max_samples));
  std::vector<int64_t> indices(static_cast<std::size_t>(size));
  std::iota(indices.begin(), indices.end(), int64_t{0});
  if (count == size) return indices;
  // The first `count` steps of a Fisher-Yates shuffle draw them uniformly
  // without replacement; the key is fixed, not the run's seed.
  SampleRng rng(0, RngStream::evaluation, 0, 0);
  for (int64_t i = 0; i < count; ++i)
    std::swap(indices[static_cast<std::size_t>(i)], indices[static_cast<std::size_t>(i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(size - i))))]);
  indices.resize(static_cast<std::size_t>(count));
  std::sort(indices.begin(), indices.end());
  return indices;
}

void for_each_labelled_batch(const Dataset& data, const std::vector<int64_t>& indices, int64_t batch_size,
                             const std::string& who, const std::function<void(const Batch&)>& each) {
  if (batch_size <= 0) throw Error(who + ": batch_size is " + std::to_string(batch_size) + ", must be positive");
  const auto samples = static_cast<int64_t>(indices.size());
  for (int64_t first = 0; first < samples; first += batch_size) {
    const std::vector<int64_t> chunk(indices.begin() + first, indices.begin() + std::min(samples, first + batch_size));
    Batch batch = data.collate(chunk);
    if (!batch.labels.defined() || batch.labels.dim() != 1 || batch.labels.size(0) != batch.size())
      throw Error(who + ": the dataset's batch has labels " + shape_of(batch.labels) + " for units " +
                  shape_of(batch.units) + ", expected [B]");
    const at::Tensor labels = batch.labels.to(at::kCPU, at::kLong);  // [B]
    const at::Tensor keep = labels.ne(-1).nonzero().squeeze(1);     // [B']
    if (keep.numel() == 0) continue;
    std::vector<int64_t> kept;
    const auto rows = keep.accessor<int64_t, 1>();
    for (int64_t k = 0; k < rows.size(0); ++k) kept.push_back(chunk[static_cast<std::size_t>(rows[k])]);
    if (keep.numel() < batch.size()) {
      batch.units = batch.units.index_select(0, keep.to(batch.units.device()));
      batch.padding = batch.padding.index_select(0, keep.to(batch.padding.device()));
    }
    batch.labels = labels.index_select(0, keep);
    batch.sample_ids = std::move(kept);
    each(batch);
  }
}

PooledEncoder::PooledEncoder(DenoisingModel model, const std::string& who) : model_(std::move(model)) {
  // The encoder's position table, read by name so the model needs no accessor:
  // its rows are the longest input the encoder takes.
  const auto parameters = model_->named_parameters();
  const at::Tensor* table = parameters.find("pos_embed.weight");
  if (table == nullptr) throw Error(who + ": the model has no pos_embed.weight, the encoder's position table");
  max_length_ = table->size(0);
  dim_ = table->size(1);
  device_ = table->device();
}

at::Tensor PooledEncoder::operator()(const Batch& batch) {
  const int64_t rows = batch.size(), length = std::min(batch.units.size(1), max_length_);
  Corrupted clean;
  clean.input = batch.units.narrow(1, 0, length).to(device_);            // [B, N] or [B, N, D]
  clean.input_padding = batch.padding.narrow(1, 0, length).to(device_);  // [B, N]
  clean.input_positions = at::arange(length, clean.input_padding.options().dtype(at::kLong))
                              .expand({rows, length})
                              .contiguous();                                       // [B, N]
  const at::Tensor hidden = model_->encode(clean).to(at::kFloat);                  // [B, N, dim]
  const at::Tensor real = clean.input_padding.logical_not().unsqueeze(-1).to(at::kFloat);  // [B, N, 1]
  return (hidden * real).sum(1) / real.sum(1).clamp_min(1);                                // [B, dim]
}

std::vector<uint8_t> outcomes(const at::Tensor& predicted, const at::Tensor& labels) {
  const at::Tensor right =
      predicted.to(at::kCPU, at::kLong).eq(labels.to(at::kCPU, at::kLong)).to(at::kByte).contiguous();  // [S]
  return {right.data_ptr<uint8_t>(), right.data_ptr<uint8_t>() + right.numel()};
}

double mean_of(const std::vector<uint8_t>& correct) {
  if (correct.empty()) return 0;
  const int64_t right = std::count(correct.begin(), correct.end(), uint8_t{1});
  return static_cast<double>(right) / static_cast<double>(correct.size());
}

}  // namespace cloze
