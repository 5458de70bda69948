// One split of decoded pictures, collated into normalised patch units.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "channel_stats.h"
#include "cloze/modality.h"
#include "images.h"

namespace cloze::image {

class ImageDataset final : public Dataset {
 public:
  ImageDataset(Images images, const ChannelStats& stats, int64_t patch);

  int64_t size() const override { return images_.pixels.size(0); }

  // units [B, N, p*p*C] float32: patchify((pixels / 255 - mean) / std);
  // padding [B, N] all false; labels [B]. Reads shared tensors only, so any
  // number of loader threads may call it at once.
  Batch collate(const std::vector<int64_t>& indices) const override;

 private:
  Images images_;
  int64_t patch_;
  Grid grid_;
  at::Tensor scale_;  // [1, C, 1, 1] float32: 1 / (255 * std)
  at::Tensor shift_;  // [1, C, 1, 1] float32: mean / std
};

}  // namespace cloze::image
