// Collating packed chunks straight from the memory-mapped token cache.
#include "packed_dataset.h"

#include <ATen/ops/empty.h>

#include <algorithm>
#include <string>

#include "cloze/core/error.h"

namespace cloze::text {

PackedDataset::PackedDataset(std::shared_ptr<const TokenCache> cache, std::vector<int64_t> documents,
                             int64_t seq_len, int64_t pad_id, Packing packing)
    : cache_(std::move(cache)), documents_(std::move(documents)), seq_len_(seq_len), pad_id_(pad_id),
      packing_(packing) {
  offsets_.reserve(documents_.size() + 1);
  offsets_.push_back(0);
  for (int64_t document : documents_)
    offsets_.push_back(offsets_.back() + cache_->documents()[static_cast<std::size_t>(document)].length);
}

int64_t PackedDataset::size() const {
  if (packing_ == Packing::document) return static_cast<int64_t>(documents_.size());
  return (offsets_.back() + seq_len_ - 1) / seq_len_;
}

int64_t PackedDataset::fill_row(int64_t sample, int64_t* ids, bool* padding) const {
  const auto& spans = cache_->documents();
  if (packing_ == Packing::document) {
    const DocumentSpan& span = spans[static_cast<std::size_t>(documents_[static_cast<std::size_t>(sample)])];
    const int64_t count = std::min(span.length, seq_len_);
    std::copy(cache_->tokens() + span.start, cache_->tokens() + span.start + count, ids);
    std::fill(padding, padding + count, false);
    std::fill(ids + count, ids + seq_len_, pad_id_);
    std::fill(padding + count, padding + seq_len_, true);
    return span.label;
  }
  int64_t position = sample * seq_len_;  // in the stream
  // The document holding `position`: the last one starting at or before it.
  const auto after = std::upper_bound(offsets_.begin(), offsets_.end(), position);
  auto d = static_cast<std::size_t>(after - offsets_.begin() - 1);
  const int64_t label = spans[static_cast<std::size_t>(documents_[d])].label;
  int64_t t = 0;
  for (; t < seq_len_ && d < documents_.size(); ++d) {
    const DocumentSpan& span = spans[static_cast<std::size_t>(documents_[d])];
    const int64_t skip = position - offsets_[d];  // nonzero only in the first document
    const int64_t count = std::min(span.length - skip, seq_len_ - t);
    const int32_t* source = cache_->tokens() + span.start + skip;
    for (int64_t i = 0; i < count; ++i) ids[t + i] = source[i];
    std::fill(padding + t, padding + t + count, false);
    t += count;
    position += count;
  }
  std::fill(ids + t, ids + seq_len_, pad_id_);
  std::fill(padding + t, padding + seq_len_, true);
  return label;
}

Batch PackedDataset::collate(const std::vector<int64_t>& indices) const {
  const auto rows = static_cast<int64_t>(indices.size());
  Batch batch;
  batch.units = at::empty({rows, seq_len_}, at::kLong);     // [B, T]
  batch.padding = at::empty({rows, seq_len_}, at::kBool);   // [B, T]
  batch.labels = at::empty({rows}, at::kLong);              // [B]
  int64_t* ids = batch.units.data_ptr<int64_t>();
  bool* padding = batch.padding.data_ptr<bool>();
  int64_t* labels = batch.labels.data_ptr<int64_t>();
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t chunk = indices[static_cast<std::size_t>(row)];
    if (chunk < 0 || chunk >= size())
      throw Error("text: sample " + std::to_string(chunk) + " is out of range [0, " + std::to_string(size()) + ")");
    labels[row] = fill_row(chunk, ids + row * seq_len_, padding + row * seq_len_);
  }
  batch.grid = Grid{{seq_len_}};
  batch.sample_ids = indices;
  return batch;
}

}  // namespace cloze::text
