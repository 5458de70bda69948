// Training a sentencepiece model on a corpus, once: the model is kept in the
// cache under a key of the corpus and the training options, and reused.
#pragma once

#include <cstdint>
#include <filesystem>

#include "corpus.h"

namespace cloze::text {

struct SentencepieceOptions {
  int64_t vocab_size = 0;
  int64_t sentinels = 0;
  int64_t sentences = 0;  // lines trained on: a uniform sample when the corpus has more
};

// The model file for (corpus, options) under `cache_root`, trained first if it
// is not there yet. Unigram, reserved ids as in tokenizer.h, "[MASK]" and
// then <extra_id_0> ... <extra_id_{sentinels-1}> user-defined pieces (ids 4,
// 5, ...); single-threaded over at most `sentences` lines, a sample drawn
// from a fixed seed and kept in corpus order, so the same corpus always gives
// the same model.
std::filesystem::path trained_sentencepiece_model(const Corpus& corpus, const SentencepieceOptions& options,
                                                  const std::filesystem::path& cache_root);

}  // namespace cloze::text
