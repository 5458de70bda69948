// sentence_permute: BART's sentence permutation.
//
// Lewis et al. 2020, "BART: Denoising Sequence-to-Sequence Pre-training for
// Natural Language Generation, Translation, and Comprehension" (ACL), section
// 2.2: "A document is divided into sentences based on full stops, and these
// sentences are shuffled in a random order." The code this follows is
// fairseq's data/denoising_dataset.py, permute_sentences.
//
// A row's real units are cut into sentences after every sentence-final unit:
// the end-of-document id (the separator of packed documents) and every id
// whose text (UnitSpec::pieces, a word-start space ignored) is one of
// `sentence_ends`. Units after the last such end form the last sentence. Of n
// sentences, ceil(rate * n) are chosen uniformly without replacement and put
// back at the chosen places in a uniformly random order (fairseq: num_to_permute
// = ceil(n * p), ordering[substitutions] = substitutions[randperm]); the others
// stay where they are.
//
//   input  = the sentences in their new order
//   target = the row itself; decoder_input shifted
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "cloze/core/params.h"
#include "cloze/core/plugin.h"
#include "cloze/corrupt/row_rewrite.h"
#include "cloze/corrupt/sampling.h"

namespace {

cloze::Schema schema() {
  return {
      cloze::ParamSpec{"rate", cloze::ParamType::real, 1.0,
                       "share of each row's sentences that change places (BART: all)"}
          .within(0, 1),
      {"sentence_ends", cloze::ParamType::string_list, std::vector<std::string>{".", "!", "?"},
       "pieces that end a sentence, by their text; the end-of-document id always does"},
  };
}

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\n");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\n") - first + 1);
}

class SentencePermute final : public cloze::RowRewrite {
 public:
  explicit SentencePermute(const cloze::Params& params)
      : rate_(params.real("rate")), sentence_ends_(params.strings("sentence_ends")) {
  }

  std::string incompatibility(const cloze::UnitSpec& units) const override {
    std::string why = RowRewrite::incompatibility(units);
    if (why.empty() && !sentence_ends_.empty() && units.pieces.empty())
      why = "sentence_permute finds sentence ends by their text, but these units carry none (UnitSpec::pieces); "
            "set corruption.sentence_ends = [] to cut at the end-of-document id alone";
    return why;
  }

  void do_prepare(const cloze::UnitSpec& units) override {
    ends_.assign(static_cast<std::size_t>(units.vocab_size), 0);
    if (units.eos_id >= 0 && units.eos_id < units.vocab_size) ends_[static_cast<std::size_t>(units.eos_id)] = 1;
    for (std::size_t id = 0; id < units.pieces.size() && id < ends_.size(); ++id)
      if (std::find(sentence_ends_.begin(), sentence_ends_.end(), trimmed(units.pieces[id])) != sentence_ends_.end())
        ends_[id] = 1;
  }

 private:
  void rewrite(int64_t /*sample*/, const std::vector<int64_t>& row, cloze::SampleRng& rng,
               std::vector<int64_t>& input, std::vector<int64_t>& target) const override {
    target = row;
    // starts[i] = where sentence i begins; one past the last: the row's end.
    std::vector<int64_t> starts{0};
    for (std::size_t n = 0; n + 1 < row.size(); ++n)
      if (ends_[static_cast<std::size_t>(row[n])]) starts.push_back(static_cast<int64_t>(n) + 1);
    const auto sentences = static_cast<int64_t>(starts.size());
    starts.push_back(static_cast<int64_t>(row.size()));

    const auto moved =
        std::min<int64_t>(sentences, static_cast<int64_t>(std::ceil(rate_ * static_cast<double>(sentences))));
    std::vector<int64_t> chosen(static_cast<std::size_t>(sentences)), order(static_cast<std::size_t>(sentences));
    for (int64_t i = 0; i < sentences; ++i) chosen[static_cast<std::size_t>(i)] = order[static_cast<std::size_t>(i)] = i;
    cloze::choose_without_replacement(chosen, moved, rng);
    // The chosen places get the chosen sentences in a uniformly random order.
    std::vector<int64_t> placed(chosen.begin(), chosen.begin() + moved);
    cloze::choose_without_replacement(placed, moved, rng);
    for (int64_t i = 0; i < moved; ++i)
      order[static_cast<std::size_t>(chosen[static_cast<std::size_t>(i)])] = placed[static_cast<std::size_t>(i)];

    input.reserve(row.size());
    for (const int64_t sentence : order)
      input.insert(input.end(), row.begin() + starts[static_cast<std::size_t>(sentence)],
                   row.begin() + starts[static_cast<std::size_t>(sentence) + 1]);
  }

  double rate_;
  std::vector<std::string> sentence_ends_;
  std::vector<uint8_t> ends_;  // [vocab] 1 where the id ends a sentence, from do_prepare()
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption<SentencePermute>(
      "sentence_permute", "BART sentence permutation: the row's sentences shuffled, the decoder writes them in order",
      schema());
}
