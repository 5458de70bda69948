// A short text view of one row of a corrupted batch of patches (image and
// spectrogram patches alike), for `cloze preview`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cloze/core/batch.h"
#include "cloze/core/corrupted.h"

namespace cloze {

// The label's name (class_names[label], or the number), how many patches are hidden (loss_mask true), and a map
// of the grid, one line per grid row, '#' hidden and '.' kept; the lines are
// joined with "\n    " to indent under the framework's "  truth: " prefix:
//   Sneaker: 3 of 16 patches hidden
//       .#..
//       ..#.
//       ....
//       #...
std::string patch_preview(const std::vector<std::string>& class_names, const Batch& batch, const Corrupted& corrupted,
                        int64_t row);

}  // namespace cloze
