// One split of a text corpus as a cloze Dataset, in one of two packings:
// - stream: its documents' ids (each ending in eos) concatenated into one
//   stream and cut into chunks of seq_len, as fairseq's "complete" sample
//   break mode and Hugging Face's group_texts do. The last chunk is padded; a
//   chunk's label is that of the document its first id comes from.
// - document: one sample per document, cut to seq_len and padded, as
//   fairseq's "eos" break mode and a classifier's inputs are: every sample
//   carries exactly its document's label. The evaluation protocols always
//   read text this way (Modality::labelled_dataset), whatever the packing
//   pretraining used.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "cloze/core/modality.h"
#include "token_cache.h"

namespace cloze::text {

enum class Packing { stream, document };

class PackedDataset final : public Dataset {
 public:
  // `documents`: indices into cache->documents(), in stream order.
  PackedDataset(std::shared_ptr<const TokenCache> cache, std::vector<int64_t> documents, int64_t seq_len,
                int64_t pad_id, Packing packing = Packing::stream);

  int64_t size() const override;  // stream: ceil(stream length / seq_len); document: the documents
  Batch collate(const std::vector<int64_t>& indices) const override;

 private:
  // Copies sample `sample` into ids[seq_len] and padding[seq_len]; returns its label.
  int64_t fill_row(int64_t sample, int64_t* ids, bool* padding) const;

  std::shared_ptr<const TokenCache> cache_;
  std::vector<int64_t> documents_;
  std::vector<int64_t> offsets_;  // [documents + 1] where each document starts in the stream; last = length
  int64_t seq_len_;
  int64_t pad_id_;
  Packing packing_;
};

}  // namespace cloze::text
