// Unigram sentencepiece training (in the bridge library, see
// ../sentencepiece_bridge.h), deterministic: one thread, every line in order.
#include <sentencepiece_trainer.h>

#include <string>
#include <unordered_map>

#include "cloze/core/error.h"
#include "sentencepiece_bridge.h"

namespace cloze::text {

namespace {

// Hands sentencepiece the lines, in order.
class Lines final : public sentencepiece::SentenceIterator {
 public:
  explicit Lines(const std::vector<std::string>& lines) : lines_(lines) {}
  bool done() const override { return next_ >= lines_.size(); }
  void Next() override { ++next_; }
  const std::string& value() const override { return lines_[next_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& lines_;
  std::size_t next_ = 0;
};

// "[MASK]" first (id 4, the first piece after the controls), then the
// sentinels in order, so <extra_id_N> is id 5 + N.
std::string user_defined_symbols(int64_t sentinels) {
  std::string symbols = "[MASK]";
  for (int64_t n = 0; n < sentinels; ++n) symbols += "," + sentinel_piece(n);
  return symbols;
}

std::unordered_map<std::string, std::string> training_options(int64_t vocab_size, int64_t sentinels) {
  return {
      {"model_type", "unigram"},
      {"vocab_size", std::to_string(vocab_size)},
      // A small corpus may not fill vocab_size; take what it has rather than fail.
      {"hard_vocab_limit", "false"},
      {"pad_id", std::to_string(pad_id)},
      {"unk_id", std::to_string(unk_id)},
      {"bos_id", std::to_string(bos_id)},
      {"eos_id", std::to_string(eos_id)},
      {"user_defined_symbols", user_defined_symbols(sentinels)},
      // Determinism: one thread, every sentence, no sampling.
      {"num_threads", "1"},
      {"input_sentence_size", "0"},
      {"minloglevel", "2"},  // no training log on stderr
  };
}

}  // namespace

}  // namespace cloze::text

void cloze_text_train_sentencepiece(const std::vector<std::string>& lines, int64_t vocab_size, int64_t sentinels,
                                    std::string& model) {
  cloze::text::Lines iterator(lines);
  const auto status = sentencepiece::SentencePieceTrainer::Train(
      cloze::text::training_options(vocab_size, sentinels), &iterator, &model);
  if (!status.ok()) throw cloze::Error("text: sentencepiece training failed: " + status.ToString());
}
