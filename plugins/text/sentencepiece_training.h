// Training a sentencepiece model on a corpus, once: the model is kept in the
// cache under a key of the corpus and the training options, and reused.
#pragma once

#include <cstdint>
#include <filesystem>

#include "corpus.h"

namespace cloze::text {

// The model file for (corpus, vocab_size) under `cache_root`, trained first if
// it is not there yet. Unigram, reserved ids as in tokenizer.h, "[MASK]" a
// user-defined piece; single-threaded over every line in corpus order, so the
// same corpus always gives the same model.
std::filesystem::path trained_sentencepiece_model(const Corpus& corpus, int64_t vocab_size,
                                                  const std::filesystem::path& cache_root);

}  // namespace cloze::text
