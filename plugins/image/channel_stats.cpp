#include "channel_stats.h"

#include <array>
#include <cmath>
#include <numeric>

namespace cloze::image {

ChannelStats dataset_stats(const at::Tensor& pixels) {
  const int64_t samples = pixels.size(0), channels = pixels.size(1), plane = pixels.size(2) * pixels.size(3);
  const uint8_t* data = pixels.data_ptr<uint8_t>();
  ChannelStats stats;
  for (int64_t c = 0; c < channels; ++c) {
    std::array<int64_t, 256> histogram{};
    for (int64_t s = 0; s < samples; ++s) {
      const uint8_t* values = data + (s * channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i) ++histogram[values[i]];
    }
    const double count = static_cast<double>(samples * plane);
    double mean = 0;
    for (int v = 0; v < 256; ++v) mean += histogram[static_cast<std::size_t>(v)] * (v / 255.0);
    mean /= count;
    double variance = 0;
    for (int v = 0; v < 256; ++v) {
      const double deviation = v / 255.0 - mean;
      variance += histogram[static_cast<std::size_t>(v)] * deviation * deviation;
    }
    variance /= count;
    stats.mean.push_back(mean);
    stats.std.push_back(variance > 0 ? std::sqrt(variance) : 1.0);
  }
  return stats;
}

ChannelStats imagenet_stats(int64_t channels) {
  const std::vector<double> mean{0.485, 0.456, 0.406}, std{0.229, 0.224, 0.225};
  if (channels == 3) return {mean, std};
  return {{std::accumulate(mean.begin(), mean.end(), 0.0) / 3}, {std::accumulate(std.begin(), std.end(), 0.0) / 3}};
}

ChannelStats identity_stats(int64_t channels) {
  const auto size = static_cast<std::size_t>(channels);
  return {std::vector<double>(size, 0.0), std::vector<double>(size, 1.0)};
}

}  // namespace cloze::image
