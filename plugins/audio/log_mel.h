// Samples -> a log-mel spectrogram of a fixed number of frames, as Audio-MAE
// feeds its encoder (its kaldi fbank takes the natural log too):
//
//   X = STFT(x)      periodic Hann window of n_fft, hop, centred frames (reflect padding)
//   S = log(M |X|^2 + 1e-6)      M the HTK mel filterbank (mel.h), natural log
//
// then cropped (centred) or padded (at the end, with log(1e-6): silence) to
// `frames` columns.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "mel.h"

namespace cloze::audio {

// Added to the mel power before the log, so digital silence is log(1e-6) =
// -13.8 rather than -inf; padding uses that value.
constexpr double log_floor = 1e-6;

struct SpectrogramOptions {
  MelOptions mel;
  int64_t hop = 160;
  int64_t frames = 96;  // columns after crop or pad
};

class LogMel {
 public:
  explicit LogMel(const SpectrogramOptions& options);  // builds the window and filterbank once

  // `samples` mono at options.mel.sample_rate (at least one) -> [n_mels, frames]
  // float32, mel bin 0 (lowest) first. A clip shorter than n_fft / 2 + 1
  // samples is zero-padded to that length first (reflect padding needs it).
  // Const and allocation-local: safe from many threads at once.
  at::Tensor operator()(const std::vector<float>& samples) const;

  const SpectrogramOptions& options() const { return options_; }
  const at::Tensor& filterbank() const { return filterbank_; }  // [n_mels, n_fft/2 + 1]

 private:
  SpectrogramOptions options_;
  at::Tensor window_;      // [n_fft] periodic Hann
  at::Tensor filterbank_;  // [n_mels, n_fft/2 + 1]
};

// [M, T] -> [M, frames]: the centred `frames` columns when T > frames (start
// (T - frames) / 2, rounded down), else T columns then log(log_floor).
at::Tensor crop_or_pad(const at::Tensor& spectrogram, int64_t frames);

}  // namespace cloze::audio
