#include "cloze/data/patches.h"

#include <ATen/Functions.h>

#include "cloze/core/error.h"
#include "cloze/core/shape_text.h"

namespace cloze {
namespace {

constexpr double kNormEps = 1e-6;  // MAE's, so flat patches map to 0 rather than NaN

}  // namespace

Grid patch_grid(int64_t height, int64_t width, int64_t patch) {
  if (patch <= 0 || height <= 0 || width <= 0 || height % patch != 0 || width % patch != 0)
    throw Error("patches: a " + std::to_string(height) + " x " + std::to_string(width) +
                " plane cannot be cut into " + std::to_string(patch) + " x " + std::to_string(patch) +
                " patches: the patch size must be positive and divide both sides");
  return Grid{{height / patch, width / patch}};
}

at::Tensor patchify(const at::Tensor& planes, int64_t patch) {
  if (planes.dim() != 4) throw Error("patchify: expects [B, C, H, W], got " + shape_of(planes));
  const int64_t batch = planes.size(0), channels = planes.size(1);
  const Grid grid = patch_grid(planes.size(2), planes.size(3), patch);
  const int64_t rows = grid.dims[0], cols = grid.dims[1];
  return planes.reshape({batch, channels, rows, patch, cols, patch})
      .permute({0, 2, 4, 3, 5, 1})  // [B, rows, cols, p, p, C]
      .reshape({batch, rows * cols, patch * patch * channels})
      .contiguous();
}

at::Tensor unpatchify(const at::Tensor& patches, int64_t patch, int64_t channels, const Grid& grid) {
  if (grid.rank() != 2 || patches.dim() != 3 || patches.size(1) != grid.numel() ||
      patches.size(2) != patch * patch * channels)
    throw Error("unpatchify: " + shape_of(patches) + " is not [B, " + std::to_string(grid.numel()) + ", " +
                std::to_string(patch * patch * channels) + "] patches of grid " + grid.to_string());
  const int64_t batch = patches.size(0), rows = grid.dims[0], cols = grid.dims[1];
  return patches.reshape({batch, rows, cols, patch, patch, channels})
      .permute({0, 5, 1, 3, 2, 4})  // [B, C, rows, p, cols, p]
      .reshape({batch, channels, rows * patch, cols * patch})
      .contiguous();
}

at::Tensor normalize_units(const at::Tensor& units) {
  const at::Tensor mean = units.mean(-1, /*keepdim=*/true);
  const at::Tensor var = units.var(-1, /*unbiased=*/true, /*keepdim=*/true);
  return (units - mean) / (var + kNormEps).sqrt();
}

at::Tensor denormalize_units(const at::Tensor& normalized, const at::Tensor& reference) {
  const at::Tensor mean = reference.mean(-1, /*keepdim=*/true);
  const at::Tensor var = reference.var(-1, /*unbiased=*/true, /*keepdim=*/true);
  return normalized * (var + kNormEps).sqrt() + mean;
}

}  // namespace cloze
