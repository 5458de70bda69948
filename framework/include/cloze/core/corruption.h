// The interface every corruption plugin implements (objectives/NAME/).
//
// prepare() and corrupt() are the framework's, not the plugin's: they check
// what every corruption would otherwise check for itself (the units suit it,
// prepare() came first, the batch is shaped as the units say, the Corrupted it
// returns is shaped as its mode says) and call the plugin's hooks,
// do_prepare() and do_corrupt(), in between. A plugin writes the work; the
// contract is kept once, here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cloze/core/batch.h"
#include "cloze/core/corrupted.h"
#include "cloze/core/units.h"

namespace cloze {

class Registry;

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

  // Tokens this corruption writes that the modality's vocabulary does not
  // have (a mixture's mode tokens, "[R]"): the pipeline appends them to the
  // units as special ids, with these pieces, before prepare().
  virtual std::vector<std::string> added_tokens() const { return {}; }

  // A mixture's entries, by the index in Corrupted::entry; empty otherwise.
  virtual std::vector<std::string> entry_labels() const { return {}; }

  // Hands the corruption the units it will see. Throws cloze::Error with
  // incompatibility(units)'s sentence when it has one; otherwise keeps the
  // units (units()) and calls do_prepare(). Whoever builds a corruption calls
  // this exactly once, before the first corrupt(); never concurrently.
  void prepare(const UnitSpec& units);

  // Corrupts a batch: checks that prepare() came first and that the batch is
  // [B, N] int64 ids inside the vocabulary (discrete units) or [B, N, D]
  // values (continuous), padding [B, N] bool, one sample id per row and a grid
  // of N units; calls do_corrupt(); checks that the result is in mode() and
  // shaped as that mode says (cloze/core/corrupted.h). Every error names the
  // corruption. Called concurrently from loader threads.
  Corrupted corrupt(const Batch& batch, uint64_t seed) const;

  // The name it was made under ("token_mask"), for messages.
  const std::string& name() const { return name_; }

 protected:
  // Builds what the corruption needs from the units once (id tables, say)
  // instead of in every corrupt(). The units are compatible.
  virtual void do_prepare(const UnitSpec& /*units*/) {}

  // The work, on a batch that passed corrupt()'s checks. Must not mutate the
  // object; all randomness comes from SampleRng keyed by
  // (seed, RngStream::corruption, batch.epoch, batch.sample_ids[row]).
  virtual Corrupted do_corrupt(const Batch& batch, uint64_t seed) const = 0;

  // The units prepare() was handed.
  const UnitSpec& units() const { return units_; }

  // Composites (chains, mixtures) name themselves; plugins are named by the
  // registry that makes them.
  void set_name(std::string name) { name_ = std::move(name); }

 private:
  friend class Registry;

  std::string name_ = "corruption";
  bool prepared_ = false;
  UnitSpec units_;
};

}  // namespace cloze
