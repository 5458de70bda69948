#include "mel.h"

#include <ATen/Functions.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace cloze::audio {

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }

double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

at::Tensor mel_filterbank(const MelOptions& options) {
  const int64_t bins = options.n_fft / 2 + 1;
  const int64_t n_mels = options.n_mels;
  // Band edges, computed in double and rounded to float once at the end.
  const double low = hz_to_mel(options.fmin), high = hz_to_mel(options.fmax);
  std::vector<double> edges(static_cast<std::size_t>(n_mels + 2));
  for (int64_t i = 0; i < n_mels + 2; ++i)
    edges[static_cast<std::size_t>(i)] =
        mel_to_hz(low + (high - low) * static_cast<double>(i) / static_cast<double>(n_mels + 1));
  at::Tensor weights = at::zeros({n_mels, bins}, at::kFloat);
  float* out = weights.data_ptr<float>();
  for (int64_t i = 0; i < n_mels; ++i) {
    const double left = edges[static_cast<std::size_t>(i)], centre = edges[static_cast<std::size_t>(i + 1)],
                 right = edges[static_cast<std::size_t>(i + 2)];
    for (int64_t k = 0; k < bins; ++k) {
      const double f = static_cast<double>(k * options.sample_rate) / static_cast<double>(options.n_fft);
      const double rising = (f - left) / (centre - left), falling = (right - f) / (right - centre);
      out[i * bins + k] = static_cast<float>(std::max(0.0, std::min(rising, falling)));
    }
  }
  return weights;
}

}  // namespace cloze::audio
