// Training a sentencepiece model on the corpus's lines, kept in the cache.
#include "sentencepiece_training.h"

#include <string>
#include <vector>

#include "cloze/io/durable_file.h"
#include "hash.h"
#include "sentencepiece_bridge.h"

namespace cloze::text {

namespace {

// Sentencepiece trains on "sentences" and drops any longer than its
// max_sentence_length, so documents go in line by line.
std::vector<std::string> corpus_lines(const Corpus& corpus) {
  std::vector<std::string> lines;
  // Unreadable documents are reported when the corpus is tokenized, which
  // always follows.
  corpus.for_each_document(
      [&](std::string_view text, int64_t) {
        for (std::size_t start = 0; start < text.size();) {
          const std::size_t end = std::min(text.find('\n', start), text.size());
          if (end > start) lines.emplace_back(text.substr(start, end - start));
          start = end + 1;
        }
      });
  return lines;
}

}  // namespace

std::filesystem::path trained_sentencepiece_model(const Corpus& corpus, int64_t vocab_size, int64_t sentinels,
                                                  const std::filesystem::path& cache_root) {
  const std::string options =
      "unigram v1, vocab " + std::to_string(vocab_size) + ", sentinels " + std::to_string(sentinels) + "\n";
  const auto model = cache_root / ("sentencepiece-" + cache_key(options + corpus.identity()) + ".model");
  if (std::filesystem::exists(model)) return model;
  std::string serialized;
  sentencepiece_bridge().train(corpus_lines(corpus), vocab_size, sentinels, serialized);
  build_cache_entry(model, [&](const std::filesystem::path& temporary) { write_durably(temporary, serialized); });
  return model;
}

}  // namespace cloze::text
