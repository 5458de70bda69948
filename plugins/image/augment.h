// MAE's training augmentation (He et al. 2022, main_pretrain.py):
// torchvision's RandomResizedCrop(S, scale=(0.2, 1.0), interpolation=bicubic)
// then RandomHorizontalFlip(), each sample's draws keyed by (seed, epoch,
// sample), so the same sample looks the same in an epoch whatever thread,
// worker count or resume made it, and different in the next.
#pragma once

#include <opencv2/core.hpp>

#include "cloze/core/rng.h"

namespace cloze::image {

// RandomResizedCrop's box, drawn as torchvision 0.14's get_params draws it:
// up to ten tries of an area in `scale` of the picture's and a log-uniform
// aspect ratio in `ratio`, sides rounded half to even as Python's round();
// the first box that fits is placed uniformly. After ten misses, the centre
// crop of the picture clamped to the ratio range.
struct CropScale {
  double min_area = 0.2, max_area = 1.0;            // of the picture's area
  double min_ratio = 3.0 / 4.0, max_ratio = 4.0 / 3.0;  // width / height
};
cv::Rect random_resized_crop_box(int rows, int cols, const CropScale& scale, SampleRng& rng);

// The crop `box` of `picture` resized to side x side (bicubic when enlarging;
// area averaging when shrinking, which antialiases as PIL's bicubic does and
// OpenCV's does not), then mirrored left to right with probability 1/2.
cv::Mat mae_augment(const cv::Mat& picture, int side, SampleRng& rng);

}  // namespace cloze::image
