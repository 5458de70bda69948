// Patches: cutting image-like planes [B, C, H, W] (pixels, or a spectrogram's
// mels x frames) into the flattened p x p x C units of DESIGN.md's grid, and
// back. Unit n sits at grid row n / (W/p), column n % (W/p); its D = p*p*C
// values are in (row in patch, column in patch, channel) order, as MAE's
// patchify, so weights and dumps line up with MAE's.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "cloze/core/grid.h"

namespace cloze {

// The [H/p, W/p] grid of a plane; throws cloze::Error unless p divides both sides.
Grid patch_grid(int64_t height, int64_t width, int64_t patch);

// [B, C, H, W] -> [B, H/p * W/p, p*p*C], contiguous.
at::Tensor patchify(const at::Tensor& planes, int64_t patch);

// [B, N, p*p*C] on `grid` -> [B, C, grid[0]*p, grid[1]*p]; the inverse of patchify.
at::Tensor unpatchify(const at::Tensor& patches, int64_t patch, int64_t channels, const Grid& grid);

// Each unit (last axis) shifted and scaled to zero mean and unit variance, as
// MAE's norm_pix_loss: (x - mean) / sqrt(var + 1e-6), var unbiased.
at::Tensor normalize_units(const at::Tensor& units);

// The inverse for display: `normalized` units brought back to the mean and
// variance of `reference` (the original units at the same places).
at::Tensor denormalize_units(const at::Tensor& normalized, const at::Tensor& reference);

}  // namespace cloze
