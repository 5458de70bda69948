// The grid that a modality lays its units on: [T] for text, [H/p, W/p] for
// images, [mels/p, frames/p] for audio. Units are stored flattened in row-major
// order, so unit n sits at the grid coordinates given by unravel(n).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cloze {

struct Grid {
  std::vector<int64_t> dims;  // extent of each axis, outermost first

  int64_t rank() const { return static_cast<int64_t>(dims.size()); }
  int64_t numel() const;
  std::vector<int64_t> unravel(int64_t flat_index) const;
  int64_t ravel(const std::vector<int64_t>& coords) const;
  std::string to_string() const;  // "[16, 16]"

  bool operator==(const Grid& other) const { return dims == other.dims; }
  bool operator!=(const Grid& other) const { return !(*this == other); }
};

}  // namespace cloze
