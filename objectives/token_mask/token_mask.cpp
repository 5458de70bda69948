// token_mask: BERT's masked language modelling corruption.
//
// Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers
// for Language Understanding" (NAACL), section 3.1 and appendix A.1.
//
// Per row, the candidates are the units that are neither padding nor special
// ids. Of n candidates,
//
//   k = min(n, floor(rate * n + u)),  u ~ U[0, 1)
//
// are chosen uniformly without replacement: fairseq's probabilistic rounding
// (MaskTokensDataset), so E[k] = rate * n exactly even on short rows. Each
// chosen unit independently becomes [MASK] with probability `mask`, a uniformly
// drawn ordinary id with probability `random` (possibly its own id, as in
// BERT), and stays itself otherwise; every chosen unit counts in the loss.
//
// With whole_word, the candidates are words: a unit whose begins_word flag is
// set, then the candidates right after it whose flag is not. Then
// k = min(n_words, floor(rate * n_words + u)) words are chosen (fairseq counts
// words, not pieces) and every unit of a chosen word is chosen; the
// mask/random/keep draw stays per unit, as in Hugging Face's whole-word
// collator.
#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/params.h"
#include "cloze/core/plugin.h"
#include "cloze/core/rng.h"
#include "cloze/corrupt/id_rows.h"
#include "cloze/corrupt/in_place.h"
#include "cloze/corrupt/unit_replacement.h"

namespace {

using cloze::ParamType;

cloze::Schema schema() {
  cloze::Schema schema{cloze::ParamSpec{"rate", ParamType::real, 0.15,
                                        "share of candidate units (of words with whole_word) chosen for prediction"}
                           .within(0, 1)};
  for (auto& spec : cloze::UnitReplacement::schema("unit")) schema.push_back(std::move(spec));
  schema.push_back(
      {"whole_word", ParamType::boolean, false, "choose whole words: every piece of a chosen word is chosen"});
  return schema;
}

class TokenMask final : public cloze::Corruption {
 public:
  explicit TokenMask(const cloze::Params& params)
      : rate_(params.real("rate")),
        replacement_(params),
        whole_word_(params.boolean("whole_word")) {
  }

  cloze::ReconstructionMode mode() const override { return cloze::ReconstructionMode::in_place; }

  std::string incompatibility(const cloze::UnitSpec& units) const override {
    if (std::string why = replacement_.incompatibility(units, "token_mask"); !why.empty()) return why;
    if (whole_word_ && units.begins_word.empty())
      return "token_mask.whole_word = true needs to know where words start, but the tokenizer gives no word "
             "starts (a byte tokenizer has none); set whole_word = false";
    if (whole_word_ && static_cast<int64_t>(units.begins_word.size()) != units.vocab_size)
      return "token_mask.whole_word = true reads one word-start flag per id, but the tokenizer gives " +
             std::to_string(units.begins_word.size()) + " flags for a vocabulary of " +
             std::to_string(units.vocab_size);
    return "";
  }

 private:
  void do_prepare(const cloze::UnitSpec& units) override {
    special_ = cloze::special_table(units);
    replacement_.prepare(units);
    if (whole_word_) begins_word_ = units.begins_word;
  }

  cloze::Corrupted do_corrupt(const cloze::Batch& batch, uint64_t seed) const override {
    const int64_t rows = batch.units.size(0);
    const int64_t length = batch.units.size(1);
    const at::Tensor units = batch.units.contiguous();      // [B, N]
    const at::Tensor padding = batch.padding.contiguous();  // [B, N]
    at::Tensor input = units.clone();                       // [B, N]
    at::Tensor loss_mask = at::zeros({rows, length}, at::kBool);  // [B, N]
    const int64_t* unit_data = units.data_ptr<int64_t>();
    const bool* pad_data = padding.data_ptr<bool>();
    int64_t* input_data = input.data_ptr<int64_t>();
    bool* loss_data = loss_mask.data_ptr<bool>();

    // What may be chosen in a row: single units, or whole words with
    // whole_word; each is a run of positions [begin, end).
    struct Span {
      int64_t begin, end;
    };
    std::vector<Span> spans;
    spans.reserve(static_cast<std::size_t>(length));
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t offset = row * length;
      spans.clear();
      for (int64_t n = 0; n < length; ++n) {
        if (pad_data[offset + n]) continue;
        const int64_t id = unit_data[offset + n];
        if (special_[static_cast<std::size_t>(id)]) continue;
        const bool continues_word = whole_word_ && !spans.empty() && spans.back().end == n &&
                                    !begins_word_[static_cast<std::size_t>(id)];
        if (continues_word)
          spans.back().end = n + 1;
        else
          spans.push_back({n, n + 1});
      }

      cloze::SampleRng rng(seed, cloze::RngStream::corruption, batch.epoch, batch.sample_ids[row]);
      const int64_t n_spans = static_cast<int64_t>(spans.size());
      // The min guards the rounding of rate * n + u up to n + 1 when rate = 1.
      const int64_t count =
          std::min(n_spans, static_cast<int64_t>(std::floor(rate_ * static_cast<double>(n_spans) + rng.uniform())));
      for (int64_t i = 0; i < count; ++i) {
        // Partial Fisher-Yates: spans[0, count) becomes a uniform sample without replacement.
        std::swap(spans[i], spans[i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n_spans - i)))]);
        for (int64_t n = spans[i].begin; n < spans[i].end; ++n) {
          loss_data[offset + n] = true;
          const auto choice = replacement_.draw(rng);
          input_data[offset + n] = replacement_.apply(choice, input_data[offset + n], rng);
        }
      }
    }

    return cloze::in_place_corrupted(batch, input, loss_mask);
  }

  double rate_;
  cloze::UnitReplacement replacement_;
  bool whole_word_;

  // Built once by do_prepare() from the modality's units.
  std::vector<uint8_t> special_;      // [vocab] 1 where the id is special
  std::vector<uint8_t> begins_word_;  // [vocab], whole_word only
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption<TokenMask>("token_mask",
                                     "BERT masked language modelling: choose a share of the tokens (or whole words), "
                                     "then [MASK] / random id / keep",
                                     schema());
}
