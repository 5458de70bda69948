// Training a sentencepiece model on the corpus's lines, kept in the cache.
#include "sentencepiece_training.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "cloze/core/rng.h"
#include "cloze/io/durable_file.h"
#include "hash.h"
#include "sentencepiece_bridge.h"

namespace cloze::text {

namespace {

// The sample of lines is the same in every run, whatever [run] seed says.
constexpr uint64_t kSamplingSeed = 0x5e17e9ce;

// Sentencepiece trains on "sentences" and drops any longer than its
// max_sentence_length, so documents go in line by line: at most `limit` of
// them, a uniform sample when the corpus has more (reservoir sampling,
// Algorithm R, from a fixed seed, so the model stays a function of the
// corpus), kept in corpus order. Memory holds the sample, not the corpus.
std::vector<std::string> sampled_lines(const Corpus& corpus, int64_t limit) {
  std::vector<std::pair<int64_t, std::string>> kept;  // (line number, line)
  SampleRng rng(kSamplingSeed, RngStream::data_order, 0, 0);
  int64_t seen = 0;
  const auto offer = [&](std::string_view line) {
    if (seen < limit) {
      kept.emplace_back(seen, line);
    } else if (const auto slot = static_cast<int64_t>(rng.below(static_cast<uint64_t>(seen) + 1)); slot < limit) {
      kept[static_cast<std::size_t>(slot)] = {seen, std::string(line)};
    }
    ++seen;
  };
  // Unreadable documents are reported when the corpus is tokenized, which
  // always follows.
  corpus.for_each_document([&](std::string_view text, int64_t) {
    for (std::size_t start = 0; start < text.size();) {
      const std::size_t end = std::min(text.find('\n', start), text.size());
      if (end > start) offer(text.substr(start, end - start));
      start = end + 1;
    }
  });
  std::sort(kept.begin(), kept.end());
  std::vector<std::string> lines;
  lines.reserve(kept.size());
  for (auto& [number, line] : kept) lines.push_back(std::move(line));
  return lines;
}

}  // namespace

std::filesystem::path trained_sentencepiece_model(const Corpus& corpus, const SentencepieceOptions& options,
                                                  const std::filesystem::path& cache_root) {
  const std::string key = "unigram v1, vocab " + std::to_string(options.vocab_size) + ", sentinels " +
                          std::to_string(options.sentinels) + ", sentences " + std::to_string(options.sentences) +
                          "\n";
  const auto model = cache_root / ("sentencepiece-" + cache_key(key + corpus.identity()) + ".model");
  if (std::filesystem::exists(model)) return model;
  std::string serialized;
  sentencepiece_bridge().train(sampled_lines(corpus, options.sentences), options.vocab_size, options.sentinels,
                               serialized);
  build_cache_entry(model, [&](const std::filesystem::path& temporary) { write_durably(temporary, serialized); });
  return model;
}

}  // namespace cloze::text
