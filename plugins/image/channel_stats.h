// The per-channel mean and standard deviation that pixels (in [0, 1]) are
// normalised with before patchify: x -> (x - mean[c]) / std[c].
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cloze::image {

struct ChannelStats {
  std::vector<double> mean;  // [C]
  std::vector<double> std;   // [C]
};

// Of `pixels` [S, C, H, W] uint8, over all samples and positions, exactly
// (from a histogram of the 256 byte values per channel); the population
// standard deviation, so the normalised split has mean 0 and std 1. A
// constant channel gets std 1.
ChannelStats dataset_stats(const at::Tensor& pixels);

// MAE's ImageNet constants: mean (0.485, 0.456, 0.406), std (0.229, 0.224,
// 0.225); grey (channels = 1) takes the mean of each triple.
ChannelStats imagenet_stats(int64_t channels);

// Mean 0, std 1: pixels stay in [0, 1].
ChannelStats identity_stats(int64_t channels);

}  // namespace cloze::image
