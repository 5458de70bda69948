// The interface every corruption plugin implements (objectives/NAME/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cloze/core/batch.h"
#include "cloze/core/corrupted.h"
#include "cloze/core/units.h"

namespace cloze {

class Corruption {
 public:
  virtual ~Corruption() = default;

  virtual ReconstructionMode mode() const = 0;

  // Why this corruption cannot work on these units ("token_mask needs discrete
  // units with a [MASK] id; image patches are continuous"), or "" if it can.
  // The config loader refuses the pairing with this sentence.
  virtual std::string incompatibility(const UnitSpec& units) const = 0;

  // How many raw units a sample must hold for the corrupted input to come out
  // at `input_length` units. Identity, unless the corruption shortens its
  // input: T5 span infilling packs longer raw chunks so that its inputs, with
  // each span replaced by one sentinel, fill seq_len exactly.
  virtual int64_t raw_length(int64_t input_length) const { return input_length; }

  // The longest input and target (sequence mode) a sample of `raw_length`
  // units can give, for the model's position tables.
  struct Lengths {
    int64_t input = 0;
    int64_t target = 0;
  };
  virtual Lengths max_lengths(int64_t raw_length) const { return {raw_length, raw_length}; }

  // Hands the corruption the units it will see, so it can build what it needs
  // from them once (id tables, say) instead of in every corrupt(). Whoever
  // builds a corruption calls this exactly once, after incompatibility(units)
  // returned "" and before the first corrupt(); it is never called concurrently.
  virtual void prepare(const UnitSpec& units) {}

  // Tokens this corruption writes that the modality's vocabulary does not
  // have (a mixture's mode tokens, "[R]"): the pipeline appends them to the
  // units as special ids, with these pieces, before prepare().
  virtual std::vector<std::string> added_tokens() const { return {}; }

  // A mixture's entries, by the index in Corrupted::entry; empty otherwise.
  virtual std::vector<std::string> entry_labels() const { return {}; }

  // Corrupts a batch. Called concurrently from loader threads, so it must not
  // mutate the object; all randomness comes from SampleRng keyed by
  // (seed, RngStream::corruption, batch.epoch, batch.sample_ids[row]).
  virtual Corrupted corrupt(const Batch& batch, uint64_t seed) const = 0;
};

// Throws cloze::Error with corruption.incompatibility(units)'s sentence when
// it has one: how a prepare() refuses the units it cannot work on.
void require_compatible(const Corruption& corruption, const UnitSpec& units);

}  // namespace cloze
