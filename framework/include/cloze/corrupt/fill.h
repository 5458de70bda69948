// The output of a fill-mode corruption (MAE, Audio-MAE, deletion with known
// positions): the encoder sees only the kept units, at their own grid
// positions; the fill decoder reconstructs the dropped ones.
#pragma once

#include <ATen/core/Tensor.h>

#include "cloze/core/batch.h"
#include "cloze/core/corrupted.h"

namespace cloze {

// `dropped`: [B, N] bool, true = hidden from the encoder and reconstructed.
//   input [B, K] ids or [B, K, D] values: each row's kept units (neither
//     dropped nor padding) in grid order, K = the most any row keeps;
//   input_positions [B, K]: their flat grid positions;
//   input_padding [B, K]: true after a row's last kept unit;
//   target [B, N]: every unit; loss_mask = dropped and not padding;
//   target_padding = batch.padding.
// Rows that keep the same number of units (MAE's exact keep count) need no
// input padding at all.
Corrupted fill_corrupted(const Batch& batch, const at::Tensor& dropped);

}  // namespace cloze
