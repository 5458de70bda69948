// What IDX files give: the decoded pixels of both splits, held in memory, and
// the names of the labels; and how a source shapes what it decodes.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cloze::image {

// One split, decoded once at construction.
struct Images {
  at::Tensor pixels;  // [S, C, H, W] uint8, contiguous
  at::Tensor labels;  // [S] int64, -1 where unlabelled
};

struct LabelledImages {
  Images train;
  Images eval;
  std::vector<std::string> class_names;  // label i is class_names[i]
};

// How a source shapes what it decodes.
struct DecodeOptions {
  int64_t image_size = 0;  // side of the square output; 0 = keep the data's own size (IDX only)
  int64_t channels = 1;    // 1 grey or 3 RGB
};

}  // namespace cloze::image
