// BERT's replacement of chosen units, shared by the masking corruptions
// (token_mask, span_mask): a chosen unit (or span) becomes [MASK] with
// probability `mask`, uniformly drawn ordinary ids with probability `random`,
// and stays itself otherwise. It owns the two parameters, their validation and
// the sentences that refuse units it cannot replace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cloze/core/params.h"
#include "cloze/core/rng.h"
#include "cloze/core/units.h"

namespace cloze {

class UnitReplacement {
 public:
  enum class Choice { mask, random, keep };

  // The "mask" and "random" entries of a corruption's schema; `chosen` names
  // what one decision covers ("unit", "span").
  static Schema schema(const std::string& chosen);

  // Reads and validates "mask" and "random", naming the key.
  explicit UnitReplacement(const Params& params);

  // Why these units cannot be replaced, as a sentence starting with
  // `corruption`, or "".
  std::string incompatibility(const UnitSpec& units, const std::string& corruption) const;

  // Keeps the [MASK] id and the ordinary ids; call once the units are known.
  void prepare(const UnitSpec& units);

  Choice draw(SampleRng& rng) const;  // one decision: one uniform draw
  // The id a unit gets under `choice` (a random choice draws a fresh id).
  int64_t apply(Choice choice, int64_t id, SampleRng& rng) const;

 private:
  double mask_;
  double random_;
  int64_t mask_id_ = -1;
  std::vector<int64_t> ordinary_;  // ids a random replacement is drawn from
};

}  // namespace cloze
