// Assembling a sequence-mode Corrupted (T5, BART) from per-row id sequences:
// padding to the batch's longest input and target, and the teacher-forcing
// shift of the target into the decoder input.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cloze/core/corrupted.h"
#include "cloze/core/units.h"

namespace cloze {

// rows[b] padded with pad_id to the longest row: [B, max_b |rows[b]|] int64.
at::Tensor pad_rows(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id);

// Sequence mode from one input and one target per row:
//   input [B, N_in], input_positions [B, N_in] = 0..N_in-1, input_padding [B, N_in];
//   target [B, N_t], decoder_input [B, N_t] = [bos, target[0..N_t-2]] with pad
//   after the row's end, loss_mask [B, N_t] true exactly at real target tokens.
Corrupted sequence_corrupted(const std::vector<std::vector<int64_t>>& inputs,
                             const std::vector<std::vector<int64_t>>& targets, int64_t pad_id, int64_t bos_id);

// Why `corruption` cannot build sequence-mode batches from these units
// (continuous units, no pad id, no bos id for the decoder's first input), or "".
std::string sequence_incompatibility(const std::string& corruption, const UnitSpec& units);

}  // namespace cloze
