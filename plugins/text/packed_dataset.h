// One split of a text corpus as a cloze Dataset: its documents' ids (each
// ending in eos) concatenated into one stream and cut into chunks of seq_len,
// as fairseq's "complete" sample break mode and Hugging Face's group_texts do.
// The last chunk is padded; a chunk's label is that of the document its first
// id comes from.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "cloze/modality.h"
#include "token_cache.h"

namespace cloze::text {

class PackedDataset final : public Dataset {
 public:
  // `documents`: indices into cache->documents(), in stream order.
  PackedDataset(std::shared_ptr<const TokenCache> cache, std::vector<int64_t> documents, int64_t seq_len,
                int64_t pad_id);

  int64_t size() const override;  // ceil(stream length / seq_len)
  Batch collate(const std::vector<int64_t>& indices) const override;

 private:
  // Copies chunk `chunk` into ids[seq_len] and padding[seq_len]; returns its label.
  int64_t fill_row(int64_t chunk, int64_t* ids, bool* padding) const;

  std::shared_ptr<const TokenCache> cache_;
  std::vector<int64_t> documents_;
  std::vector<int64_t> offsets_;  // [documents + 1] where each document starts in the stream; last = length
  int64_t seq_len_;
  int64_t pad_id_;
};

}  // namespace cloze::text
