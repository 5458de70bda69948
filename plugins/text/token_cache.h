// A corpus tokenized once: every document's ids followed by its end-of-document
// id, in corpus order, kept as int32 in the cache and memory-mapped for reading.
//
// On disk, cache_root/<key>/ with key = hash(corpus identity, tokenizer identity):
//   tokens.i32     all ids, native-endian int32
//   documents.i64  per document: start (in tokens), length (eos included), label
//   unreadable.jsonl  documents left out as not UTF-8: {"path", "reason"} each
// The folder is built under a temporary name and renamed into place.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "corpus.h"
#include "mapped_file.h"
#include "tokenizer.h"

namespace cloze::text {

struct DocumentSpan {
  int64_t start;   // offset of its first id in tokens()
  int64_t length;  // ids, its end-of-document id included
  int64_t label;   // index of its file in the corpus
};

class TokenCache {
 public:
  // Opens the cache of (corpus, tokenizer), tokenizing the corpus first if
  // it is not there yet.
  static std::shared_ptr<const TokenCache> open_or_build(const Corpus& corpus, const Tokenizer& tokenizer,
                                                         const std::filesystem::path& cache_root);

  explicit TokenCache(const std::filesystem::path& folder);  // opens a built cache

  const int32_t* tokens() const { return static_cast<const int32_t*>(tokens_.data()); }
  int64_t token_count() const { return static_cast<int64_t>(tokens_.size() / sizeof(int32_t)); }
  const std::vector<DocumentSpan>& documents() const { return documents_; }
  // Documents of the corpus that were not tokenized, with why.
  const std::vector<BadSample>& unreadable() const { return unreadable_; }

 private:
  MappedFile tokens_;
  std::vector<DocumentSpan> documents_;
  std::vector<BadSample> unreadable_;
};

}  // namespace cloze::text
