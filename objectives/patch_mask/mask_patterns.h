// Which cells of one row a masking pattern hides: MAE's random masking,
// BEiT's blockwise masking and Audio-MAE's time / frequency stripes, on plain
// per-row buffers.
//
// Convention for every buffer here: one byte per cell in row-major grid
// order; in `hidden`, 1 = hidden (corrupted, scored in the loss), 0 = kept;
// in `padding`, 1 = not a cell of the sample, never hidden and never counted.
#pragma once

#include <cstdint>
#include <vector>

#include "cloze/core/rng.h"

namespace patch_mask {

// round(n * (1 - ratio)) with halves rounded up: the cells a row keeps, of
// its n non-padding cells. Every row with the same n keeps exactly as many.
int64_t keep_count(int64_t cells, double ratio);

// MAE's random_masking (He et al. 2022, models_mae.py) keeps the `keep` cells
// with the lowest uniform noise: a uniformly random subset of that size. The
// same distribution is drawn here by a partial Fisher-Yates shuffle of the
// non-padding cells, choosing the kept or the hidden set, whichever is smaller
// (min(keep, n - keep) draws instead of n and a sort). Every other non-padding
// cell is hidden. Padding draws nothing, so a sample's mask does not depend on
// how much padding its batch adds after it. `hidden` is resized to padding.size().
// `cells` is scratch, passed in so that a caller looping over rows allocates
// it once.
void random_mask(const std::vector<uint8_t>& padding, int64_t keep, cloze::SampleRng& rng,
                 std::vector<uint8_t>& hidden, std::vector<int64_t>& cells);

// BEiT's blockwise masking (Bao et al. 2022, beit/masking_generator.py):
// rectangles of at least `min_block` cells, aspect ratio log-uniform in
// [aspect, 1 / aspect], are added until exactly `target` non-padding cells
// of the [rows, cols] grid are hidden. Where BEiT would stop short, smaller
// blocks and then single cells next to hidden ones fill the rest (see
// README.md). target <= the non-padding cells. `hidden` is resized to rows * cols.
struct BlockShape {
  int64_t min_block = 16;  // BEiT's min_num_patches
  double aspect = 0.3;     // BEiT's min_aspect; max_aspect = 1 / aspect
};
void block_mask(int64_t rows, int64_t cols, const std::vector<uint8_t>& padding, int64_t target,
                const BlockShape& shape, cloze::SampleRng& rng, std::vector<uint8_t>& hidden);

// Audio-MAE's structured masking (Huang et al. 2022, models_mae.py
// random_masking_2d; SpecAugment's time and frequency masks, Park et al. 2019,
// with exact counts): whole columns and whole rows of the [rows, cols] grid.
// A line (column or row) is padding when all its cells are. Of the c
// non-padding columns exactly
//
//   c - keep_count(c, ratios.cols)
//
// are hidden, chosen as random_mask chooses cells; then, with a second draw, r - keep_count(r, ratios.rows)
// of the r non-padding rows. A cell is hidden when its column or its row is
// (the union), unless it is padding. Without padding every sample hides
//
//   cols_hidden * rows + rows_hidden * cols - cols_hidden * rows_hidden
//
// cells. A ratio of 0 hides no line on its axis and draws nothing for it.
// `hidden` is resized to rows * cols.
struct LineRatios {
  double rows = 0.0;  // share of the rows hidden (frequency on a [mels/p, frames/p] grid)
  double cols = 0.0;  // share of the columns hidden (time)
};
void stripe_mask(int64_t rows, int64_t cols, const std::vector<uint8_t>& padding, const LineRatios& ratios,
                 cloze::SampleRng& rng, std::vector<uint8_t>& hidden);

}  // namespace patch_mask
