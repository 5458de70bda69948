// A short text view of one row of a corrupted image batch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cloze/batch.h"
#include "cloze/corrupted.h"

namespace cloze::image {

// The label's name, how many patches are hidden (loss_mask true), and a map
// of the grid, one line per grid row, '#' hidden and '.' kept; the lines are
// joined with "\n    " to indent under the framework's "  truth: " prefix:
//   Sneaker: 3 of 16 patches hidden
//       .#..
//       ..#.
//       ....
//       #...
std::string preview_row(const std::vector<std::string>& class_names, const Batch& batch, const Corrupted& corrupted,
                        int64_t row);

}  // namespace cloze::image
