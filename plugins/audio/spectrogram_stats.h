// The one mean and standard deviation spectrograms are normalised with
// (x -> (x - mean) / std, as Audio-MAE normalises its fbank features with
// dataset constants), and the range a picture shows.
#pragma once

#include <ATen/core/Tensor.h>

namespace cloze::audio {

struct LevelStats {
  double mean = 0;
  double std = 1;
};

// Over every value of `spectrograms` [S, M, T] (padding included: it is part
// of what the model sees); the population standard deviation, so the
// normalised split has mean 0 and std 1. Constant values get std 1.
LevelStats level_stats(const at::Tensor& spectrograms);

// The 1st and 99th percentiles of `values` (any shape), estimated from at
// most 2^20 evenly strided values: a picture maps them to black and white, so
// a few loud bins do not wash out the rest.
struct DisplayRange {
  double low = -3;
  double high = 3;
};
DisplayRange display_range(const at::Tensor& values);

}  // namespace cloze::audio
