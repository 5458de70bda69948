#include "log_mel.h"

#include <ATen/Functions.h>

#include <algorithm>
#include <cmath>

namespace cloze::audio {

LogMel::LogMel(const SpectrogramOptions& options)
    : options_(options),
      window_(at::hann_window(options.mel.n_fft, /*periodic=*/true, at::kFloat)),
      filterbank_(mel_filterbank(options.mel)) {}

at::Tensor LogMel::operator()(const std::vector<float>& samples) const {
  const int64_t n_fft = options_.mel.n_fft;
  const auto count = static_cast<int64_t>(samples.size());
  at::Tensor signal = at::zeros({std::max(count, n_fft / 2 + 1)}, at::kFloat);  // [L]
  std::copy(samples.begin(), samples.end(), signal.data_ptr<float>());
  const at::Tensor spectrum = at::stft(signal, n_fft, options_.hop, n_fft, window_, /*center=*/true, "reflect",
                                       /*normalized=*/false, /*onesided=*/true, /*return_complex=*/true);  // [F, T]
  const at::Tensor power = at::view_as_real(spectrum).pow(2).sum(-1);  // |X|^2, [F, T]
  const at::Tensor mel = at::matmul(filterbank_, power);               // [M, T]
  return crop_or_pad(at::log(mel + log_floor), options_.frames);
}

at::Tensor crop_or_pad(const at::Tensor& spectrogram, int64_t frames) {
  const int64_t length = spectrogram.size(1);
  if (length >= frames) return spectrogram.narrow(1, (length - frames) / 2, frames).contiguous();
  at::Tensor padded = at::full({spectrogram.size(0), frames}, std::log(log_floor), spectrogram.options());
  padded.narrow(1, 0, length).copy_(spectrogram);
  return padded;
}

}  // namespace cloze::audio
