#include "spectrogram_stats.h"

#include <ATen/Functions.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace cloze::audio {

LevelStats level_stats(const at::Tensor& spectrograms) {
  const at::Tensor values = spectrograms.reshape({-1}).to(at::kDouble);  // double: millions of values summed
  LevelStats stats;
  if (values.numel() == 0) return stats;
  stats.mean = values.mean().item<double>();
  const double std = values.std(/*unbiased=*/false).item<double>();
  stats.std = std > 0 ? std : 1.0;
  return stats;
}

DisplayRange display_range(const at::Tensor& values) {
  const at::Tensor flat = values.reshape({-1});
  DisplayRange range;
  if (flat.numel() == 0) return range;
  constexpr int64_t most = int64_t{1} << 20;
  const int64_t stride = (flat.numel() + most - 1) / most;
  const at::Tensor sorted = std::get<0>(flat.slice(0, 0, flat.numel(), stride).sort());
  const int64_t last = sorted.numel() - 1;
  const auto at_fraction = [&](double q) {
    return sorted[static_cast<int64_t>(std::round(q * static_cast<double>(last)))].item<double>();
  };
  range.low = at_fraction(0.01);
  range.high = at_fraction(0.99);
  if (!(range.high > range.low)) range.high = range.low + 1;  // a constant picture: mid grey, not a division by 0
  return range;
}

}  // namespace cloze::audio
