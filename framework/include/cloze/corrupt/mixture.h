// A weighted mixture of corruptions (UL2's mixture of denoisers): each sample
// draws one entry, with probability weight / total weight, from its own
// generator keyed by (seed, RngStream::mixture, epoch, sample), so the draw does
// not depend on the batch, the row or the loader thread. The rows that drew an
// entry are corrupted together by it, and the results are merged back into
// the batch's row order (cloze/batch_rows.h); Corrupted::entry says which
// entry each row drew, so metrics can be reported per entry.
//
// An entry may name a mode token ("[R]"): the pipeline adds it to the
// vocabulary as a special id (added_tokens()), and it is prepended to the
// input of every row that drew the entry, as UL2's paradigm tokens are. Mode
// tokens need sequence mode, whose inputs are free-length sequences.
//
// Raw lengths: the modality packs one raw length for every sample, the
// smallest any entry asks for, so no entry's input outgrows the model's
// input budget (an entry that packs longer raw chunks, as T5's span
// infilling does, then makes shorter inputs).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cloze/core/corruption.h"

namespace cloze {

class Mixture : public Corruption {
 public:
  struct Entry {
    std::string label;       // in metrics and previews: "R", "X-long"
    std::string describe;    // the corruptions, for messages: "span_infill", "rotate+text_infill"
    double weight = 1;       // > 0
    std::string token;       // mode token, "" for none
    std::shared_ptr<Corruption> corruption;
  };

  // Throws cloze::Error naming both entries and their modes when two differ,
  // and when a mode token is asked for outside sequence mode.
  explicit Mixture(std::vector<Entry> entries);

  ReconstructionMode mode() const override { return entries_.front().corruption->mode(); }
  std::string incompatibility(const UnitSpec& units) const override;
  int64_t raw_length(int64_t input_length) const override;
  Lengths max_lengths(int64_t raw_length) const override;
  std::vector<std::string> added_tokens() const override;
  std::vector<std::string> entry_labels() const override;

  // The entry that sample `sample` of `epoch` draws under `seed`.
  std::size_t draw(uint64_t seed, int64_t epoch, int64_t sample) const;

 private:
  void do_prepare(const UnitSpec& units) override;
  Corrupted do_corrupt(const Batch& batch, uint64_t seed) const override;

  std::vector<Entry> entries_;
  std::vector<double> cumulative_;   // running sums of the weights, normalised to end at 1
  std::vector<int64_t> token_ids_;   // per entry; -1 for none (set by do_prepare)
};

}  // namespace cloze
