// Pictures of patch units (image pixels, spectrogram bins) for `cloze preview`:
// the panels MAE's visualisation shows, side by side in one PNG.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>

#include "cloze/core/batch.h"
#include "cloze/core/corrupted.h"
#include "cloze/core/grid.h"

namespace cloze {

struct PatchLayout {
  int64_t patch = 1;     // p: units are p x p x channels values (see patches.h)
  int64_t channels = 1;  // 1 (grey, spectrogram) or 3 (RGB)
  int64_t scale = 1;     // each value drawn as scale x scale pixels, so small grids stay visible
  bool bottom_up = false;  // grid row 0 drawn at the bottom (spectrograms: low frequencies below)
  // Maps unit values [N, D] to display brightness in [0, 1] per value, undoing
  // the modality's normalisation.
  std::function<at::Tensor(const at::Tensor&)> to_display;
};

// Writes row `row` as a PNG of panels left to right: the original; the input
// with hidden patches grey; and, given `reconstructed` (see
// Modality::write_picture), the model's patches with the kept ones grey, and
// the model's patches with the kept ones pasted back. Hidden = loss_mask,
// which covers the whole grid in fill and in-place modes alike. Throws
// cloze::Error naming `path` when it cannot be written.
void write_patch_picture(const Batch& batch, const Corrupted& corrupted, const Corrupted* reconstructed,
                         int64_t row, const PatchLayout& layout, const std::filesystem::path& path);

}  // namespace cloze
