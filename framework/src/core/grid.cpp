#include "cloze/core/grid.h"

#include <sstream>

#include "cloze/core/error.h"

namespace cloze {

int64_t Grid::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::vector<int64_t> Grid::unravel(int64_t flat_index) const {
  std::vector<int64_t> coords(dims.size());
  for (std::size_t axis = dims.size(); axis-- > 0;) {
    coords[axis] = flat_index % dims[axis];
    flat_index /= dims[axis];
  }
  return coords;
}

int64_t Grid::ravel(const std::vector<int64_t>& coords) const {
  if (coords.size() != dims.size()) throw Error("grid " + to_string() + ": coordinates of the wrong rank");
  int64_t flat = 0;
  for (std::size_t axis = 0; axis < dims.size(); ++axis) flat = flat * dims[axis] + coords[axis];
  return flat;
}

std::string Grid::to_string() const {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < dims.size(); ++i) out << (i ? ", " : "") << dims[i];
  out << ']';
  return out.str();
}

}  // namespace cloze
