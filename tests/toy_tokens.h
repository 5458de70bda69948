// Test support for the model tests: ids whose only special ones are filler
// (0) and [MASK] (1), and a BERT-style batch of them, corrupted in place.
#pragma once

#include <ATen/Functions.h>

#include <cstdint>

#include "cloze/core/corrupted.h"
#include "cloze/core/units.h"

namespace toy_tokens {

constexpr int64_t pad_id = 0, mask_id = 1;

inline cloze::UnitSpec units(int64_t vocab) {
  cloze::UnitSpec spec;
  spec.kind = cloze::UnitKind::discrete;
  spec.vocab_size = vocab;
  spec.pad_id = pad_id;
  spec.mask_id = mask_id;
  spec.special_ids = {pad_id, mask_id};
  return spec;
}

// `batch` rows of `length` ordinary ids below `vocab`; about `rate` of the
// real ones replaced by [MASK] and scored (unit 0 of row 0 always), and the
// last `padded` units of row 1 filler.
inline cloze::Corrupted masked(int64_t batch, int64_t length, int64_t vocab, double rate, int64_t padded = 0) {
  cloze::Corrupted c;
  const at::Tensor tokens = at::randint(2, vocab, {batch, length}, at::kLong);
  c.input_padding = at::zeros({batch, length}, at::kBool);
  if (padded > 0) c.input_padding[1].narrow(0, length - padded, padded).fill_(true);
  c.loss_mask = (at::rand({batch, length}) < rate).logical_and_(c.input_padding.logical_not());
  c.loss_mask.index_put_({0, 0}, true);
  c.target = tokens.masked_fill(c.input_padding, pad_id);
  c.input = c.target.masked_fill(c.loss_mask, mask_id);
  c.input_positions = at::arange(length, at::kLong).expand({batch, length}).contiguous();
  return c;
}

}  // namespace toy_tokens
