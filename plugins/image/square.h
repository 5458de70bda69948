// Bringing any picture to the square [C, S, S] layout the modality stores:
// the shorter side resized to S, then the centre cut out (torchvision's
// Resize(S) + CenterCrop(S), the usual evaluation transform).
#pragma once

#include <ATen/core/Tensor.h>
#include <opencv2/core.hpp>

#include <cstdint>

namespace cloze::image {

// `picture` (8-bit, 1 or 3 channels in OpenCV's BGR order) with its shorter
// side resized to `side` (INTER_AREA when shrinking, as OpenCV recommends;
// bilinear when enlarging) and its centre cropped to side x side.
cv::Mat to_square(const cv::Mat& picture, int side);

// An 8-bit [H, W, C] picture (BGR when C = 3) as [C, H, W] uint8 RGB planes,
// kept interleaved in memory (channels-last strides): converting to RGB is
// one vectorised pass, and patches (p x p x C, channel innermost) are later
// cut from runs of p*C contiguous bytes rather than gathered byte by byte.
at::Tensor to_planes(const cv::Mat& picture);

}  // namespace cloze::image
