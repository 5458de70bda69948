// The mel filterbank a power spectrogram is projected with: HTK's mel scale and
// triangular filters without area normalisation, exactly
// torchaudio.functional.melscale_fbanks(..., norm=None, mel_scale="htk").
//
//   mel(f) = 2595 log10(1 + f / 700)          f(mel) = 700 (10^(mel / 2595) - 1)
//
// n_mels + 2 points m_0 .. m_{n_mels+1} equally spaced in mel from mel(fmin)
// to mel(fmax), f_i = f(m_i); filter i rises linearly from 0 at f_{i} to 1 at
// f_{i+1} and falls back to 0 at f_{i+2}:
//
//   w_i(f) = max(0, min((f - f_i) / (f_{i+1} - f_i), (f_{i+2} - f) / (f_{i+2} - f_{i+1})))
//
// evaluated at the FFT bin frequencies f = k * sample_rate / n_fft, k = 0 .. n_fft/2
// (torchaudio's linspace(0, sample_rate // 2, n_fft/2 + 1): the same for even rates).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace cloze::audio {

double hz_to_mel(double hz);   // HTK
double mel_to_hz(double mel);  // HTK

struct MelOptions {
  int64_t sample_rate = 16000;
  int64_t n_fft = 400;
  int64_t n_mels = 64;
  double fmin = 0;
  double fmax = 8000;  // at most sample_rate / 2
};

// [n_mels, n_fft/2 + 1] float32: row i is w_i at each FFT bin; mel bin 0 is the lowest.
at::Tensor mel_filterbank(const MelOptions& options);

}  // namespace cloze::audio
