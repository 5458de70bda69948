#include "log_mel.h"

#include <ATen/Functions.h>

#include <algorithm>
#include <cmath>

namespace cloze::audio {

namespace {

// The sample that position `at` of the reflect-padded clip holds, for a clip
// zero-padded to `padded` samples: torch's "reflect" padding mirrors about
// the first and the last sample, which it does not repeat.
int64_t reflected(int64_t at, int64_t padded) {
  if (at < 0) return -at;
  if (at >= padded) return 2 * (padded - 1) - at;
  return at;
}

}  // namespace

LogMel::LogMel(const SpectrogramOptions& options)
    : options_(options),
      window_(at::hann_window(options.mel.n_fft, /*periodic=*/true, at::kFloat)),
      filterbank_(mel_filterbank(options.mel)) {}

int64_t LogMel::frame_count(int64_t length) const {
  const int64_t n_fft = options_.mel.n_fft, half = n_fft / 2;
  return 1 + (std::max(length, half + 1) + 2 * half - n_fft) / options_.hop;
}

SampleRange LogMel::samples_for(int64_t length, int64_t first, int64_t count) const {
  const int64_t n_fft = options_.mel.n_fft, half = n_fft / 2, padded = std::max(length, half + 1);
  const int64_t begin = first * options_.hop - half, end = begin + (count - 1) * options_.hop + n_fft;  // positions
  int64_t low = std::max<int64_t>(begin, 0), high = std::min(end, padded);
  if (begin < 0) high = std::max(high, reflected(begin, padded) + 1);  // mirrored in from after the start
  if (end > padded) low = std::min(low, reflected(end - 1, padded));   // mirrored in from before the end
  return {std::min(low, length), std::min(high, length)};  // samples from `length` on are the zero padding
}

at::Tensor LogMel::frames(const std::vector<float>& segment, int64_t segment_begin, int64_t length, int64_t first,
                          int64_t count) const {
  const int64_t n_fft = options_.mel.n_fft, half = n_fft / 2, padded = std::max(length, half + 1);
  // The frames' positions of the padded clip laid out as at::stft's centred
  // input would hold them, so the uncentred STFT below frames them alike.
  const int64_t begin = first * options_.hop - half, size = (count - 1) * options_.hop + n_fft;
  at::Tensor signal = at::empty({size}, at::kFloat);  // [L]
  float* values = signal.data_ptr<float>();
  for (int64_t i = 0; i < size; ++i) {
    const int64_t sample = reflected(begin + i, padded);
    values[i] = sample < length ? segment.at(static_cast<std::size_t>(sample - segment_begin)) : 0.0f;
  }
  const at::Tensor spectrum = at::stft(signal, n_fft, options_.hop, n_fft, window_, /*center=*/false, "reflect",
                                       /*normalized=*/false, /*onesided=*/true, /*return_complex=*/true);  // [F, count]
  const at::Tensor power = at::view_as_real(spectrum).pow(2).sum(-1).contiguous();  // |X|^2, [F, count]
  return at::log(project(power) + log_floor);
}

at::Tensor LogMel::project(const at::Tensor& power) const {
  const int64_t mels = filterbank_.size(0), bins = filterbank_.size(1), count = power.size(1);
  at::Tensor mel = at::zeros({mels, count}, at::kFloat);
  const float* weights = filterbank_.data_ptr<float>();
  const float* columns = power.data_ptr<float>();
  float* rows = mel.data_ptr<float>();
  for (int64_t m = 0; m < mels; ++m)
    for (int64_t k = 0; k < bins; ++k) {
      const float weight = weights[m * bins + k];
      if (weight == 0) continue;  // a triangle covers a few bins
      for (int64_t t = 0; t < count; ++t) rows[m * count + t] += weight * columns[k * count + t];
    }
  return mel;
}

at::Tensor pad_with_silence(const at::Tensor& spectrogram, int64_t frames) {
  const int64_t length = spectrogram.size(1);
  if (length == frames) return spectrogram.contiguous();
  at::Tensor padded = at::full({spectrogram.size(0), frames}, std::log(log_floor), spectrogram.options());
  padded.narrow(1, 0, length).copy_(spectrogram);
  return padded;
}

}  // namespace cloze::audio
