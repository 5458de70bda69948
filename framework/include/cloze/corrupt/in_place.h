// The output of an in-place corruption (BERT, SpanBERT, SimMIM): the encoder
// sees the full-length corrupted units at their own positions and is scored
// where loss_mask is true; the target is the batch's original units.
#pragma once

#include <ATen/core/Tensor.h>

#include "cloze/core/batch.h"
#include "cloze/core/corrupted.h"

namespace cloze {

// `input`: [B, N] corrupted ids or [B, N, D] corrupted values; `loss_mask`:
// [B, N] bool, true = corrupted.
Corrupted in_place_corrupted(const Batch& batch, at::Tensor input, at::Tensor loss_mask);

// Replaced-token detection (ELECTRA's discriminator, with the replacements
// drawn by the corruption instead of a generator). `replaced`: [B, N] bool,
// true where `input` differs from the batch's units by the corruption's
// hand. Mode detect: target = replaced as 0/1 ids, loss_mask = every real
// unit, as ELECTRA scores every token.
Corrupted detection_corrupted(const Batch& batch, at::Tensor input, const at::Tensor& replaced);

// Continuous units (SimMIM). `masked`: [B, N] bool, true = hidden. The input
// is the batch's values with the hidden ones zeroed, and input_masked tells
// the model to put its learned mask embedding there; loss_mask = masked.
Corrupted masked_in_place(const Batch& batch, const at::Tensor& masked);

}  // namespace cloze
