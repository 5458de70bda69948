#include "cloze/model/positions.h"

#include <ATen/Functions.h>

#include "cloze/core/error.h"

namespace cloze {

at::Tensor sincos_positions(const Grid& grid, int64_t dim) {
  const int64_t rank = grid.rank();
  if (rank == 0 || dim <= 0 || dim % (2 * rank) != 0)
    throw Error("sin-cos positions: model.dim = " + std::to_string(dim) + " must split into a sin and a cos band " +
                "for each of the " + std::to_string(rank) + " axes of grid " + grid.to_string() +
                ", so it must be a multiple of " + std::to_string(2 * rank));
  const int64_t share = dim / rank, bands = share / 2;
  const at::Tensor frequencies =
      at::pow(10000.0, at::arange(bands, at::kDouble).div(static_cast<double>(bands))).reciprocal();  // [bands]
  const at::Tensor flat = at::arange(grid.numel(), at::kLong);  // [N]
  std::vector<at::Tensor> parts;
  int64_t stride = grid.numel();
  for (int64_t axis = 0; axis < rank; ++axis) {
    // Row-major: the coordinate on this axis is (n / stride_after) % extent.
    stride /= grid.dims[static_cast<std::size_t>(axis)];
    const at::Tensor coordinate = flat.div(stride, "floor").remainder(grid.dims[static_cast<std::size_t>(axis)]);
    const at::Tensor angles = coordinate.to(at::kDouble).unsqueeze(1) * frequencies.unsqueeze(0);  // [N, bands]
    parts.push_back(angles.sin());
    parts.push_back(angles.cos());
  }
  return at::cat(parts, 1).to(at::kFloat);  // [N, dim]
}

}  // namespace cloze
