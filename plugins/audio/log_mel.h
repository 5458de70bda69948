// Samples -> log-mel spectrogram frames, as Audio-MAE feeds its encoder (its
// kaldi fbank takes the natural log too):
//
//   X = STFT(x)      periodic Hann window of n_fft, hop, centred frames (reflect padding)
//   S = log(M |X|^2 + 1e-6)      M the HTK mel filterbank (mel.h), natural log
//
// A clip of L samples is first zero-padded to P = max(L, n_fft/2 + 1)
// samples (reflect padding needs that many), then reflect-padded by n_fft/2
// on both sides; frame t is the n_fft samples from position t hop - n_fft/2
// of the clip, so the clip has T = 1 + (P + 2 (n_fft/2) - n_fft) / hop
// frames (rounded down; 1 + P / hop for an even n_fft). A run of frames
// depends on the samples it covers only: a crop of a long recording is
// computed from a segment of it, equal to the same columns of the whole
// clip's spectrogram.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "mel.h"
#include "sample_range.h"

namespace cloze::audio {

// Added to the mel power before the log, so digital silence is log(1e-6) =
// -13.8 rather than -inf; padding uses that value.
constexpr double log_floor = 1e-6;

struct SpectrogramOptions {
  MelOptions mel;
  int64_t hop = 160;
};

class LogMel {
 public:
  explicit LogMel(const SpectrogramOptions& options);  // builds the window and filterbank once

  // T, the frames of a clip of `length` samples (at least one).
  int64_t frame_count(int64_t length) const;

  // The samples of a clip of `length` that frames [first, first + count) are
  // computed from, within [0, length): the frames' own, and those the
  // reflect padding mirrors in when they reach past either end.
  SampleRange samples_for(int64_t length, int64_t first, int64_t count) const;

  // Frames [first, first + count) of a clip of `length` samples (mono, at
  // options.mel.sample_rate), [n_mels, count] float32, mel bin 0 (lowest)
  // first: those columns of the whole clip's spectrogram. `segment` holds the
  // clip's samples from `segment_begin` on and must cover
  // samples_for(length, first, count) (std::out_of_range otherwise). Const and
  // allocation-local: safe from many threads at once.
  at::Tensor frames(const std::vector<float>& segment, int64_t segment_begin, int64_t length, int64_t first,
                    int64_t count) const;

  const SpectrogramOptions& options() const { return options_; }
  const at::Tensor& filterbank() const { return filterbank_; }  // [n_mels, n_fft/2 + 1]

 private:
  // M power for power [F, T] contiguous: each mel bin summed over its
  // filter's bins in ascending order, in plain loops rather than BLAS, whose
  // sgemm divides its work by the calling thread's OpenMP settings and so
  // rounds differently in a loader thread than on the main one. A crop is
  // then the same bits whichever thread reads it.
  at::Tensor project(const at::Tensor& power) const;

  SpectrogramOptions options_;
  at::Tensor window_;      // [n_fft] periodic Hann
  at::Tensor filterbank_;  // [n_mels, n_fft/2 + 1]
};

// [M, T] -> [M, frames] (T <= frames): the T columns, then log(log_floor),
// the value of silence, up to `frames`.
at::Tensor pad_with_silence(const at::Tensor& spectrogram, int64_t frames);

}  // namespace cloze::audio
