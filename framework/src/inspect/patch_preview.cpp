#include "cloze/inspect/patch_preview.h"

#include <ATen/core/Tensor.h>

#include "cloze/core/error.h"

namespace cloze {

namespace {

std::string label_name(const std::vector<std::string>& class_names, int64_t label) {
  if (label >= 0 && label < static_cast<int64_t>(class_names.size()))
    return class_names[static_cast<std::size_t>(label)];
  return label < 0 ? "unlabelled" : "label " + std::to_string(label);
}

}  // namespace

std::string patch_preview(const std::vector<std::string>& class_names, const Batch& batch, const Corrupted& corrupted,
                        int64_t row) {
  const Grid& grid = batch.grid;
  const int64_t units = grid.numel();
  if (grid.rank() != 2 || corrupted.loss_mask.dim() != 2 || corrupted.loss_mask.size(1) != units)
    throw Error("patch preview: the loss mask does not cover the batch's grid " + grid.to_string());
  const at::Tensor hidden = corrupted.loss_mask[row].to(at::kCPU, at::kBool).contiguous();  // [N]
  const bool* is_hidden = hidden.data_ptr<bool>();
  int64_t count = 0;
  std::string map;
  for (int64_t r = 0; r < grid.dims[0]; ++r) {
    map += "\n    ";
    for (int64_t c = 0; c < grid.dims[1]; ++c) {
      const bool h = is_hidden[r * grid.dims[1] + c];
      count += h;
      map += h ? '#' : '.';
    }
  }
  return label_name(class_names, batch.labels[row].item<int64_t>()) + ": " + std::to_string(count) + " of " +
         std::to_string(units) + " patches hidden" + map;
}

}  // namespace cloze
