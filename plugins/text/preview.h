// A one-line, human-readable view of one row of a corrupted text batch.
#pragma once

#include <cstdint>
#include <string>

#include "cloze/core/batch.h"
#include "cloze/core/corrupted.h"
#include "tokenizer.h"

namespace cloze::text {

// In place and fill modes: the row's text, each corrupted unit (loss_mask
// true) shown as [seen→original], where seen is the id the encoder got there
// ("_" when it got none, as in fill mode):
//   the cat [[MASK]→sat] on the [dog→mat]</s>
// Sequence mode: the encoder's input, then " ⇒ " and the scored targets.
std::string preview_row(const Tokenizer& tokenizer, const Batch& batch, const Corrupted& corrupted, int64_t row);

}  // namespace cloze::text
