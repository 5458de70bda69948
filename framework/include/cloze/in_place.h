// The output of an in-place corruption (BERT, SpanBERT): the encoder sees the
// full-length corrupted ids at their own positions and is scored where
// loss_mask is true; the target is the batch's original units.
#pragma once

#include <ATen/core/Tensor.h>

#include "cloze/batch.h"
#include "cloze/corrupted.h"

namespace cloze {

// `input`: [B, N] corrupted ids; `loss_mask`: [B, N] bool, true = corrupted.
Corrupted in_place_corrupted(const Batch& batch, at::Tensor input, at::Tensor loss_mask);

}  // namespace cloze
