#include "resampling.h"

#include <samplerate.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace cloze::audio {

namespace {

int64_t divide_up(int64_t numerator, int64_t denominator) { return (numerator + denominator - 1) / denominator; }

std::vector<float> resample(const std::vector<float>& samples, double from, double to, std::string& error) {
  const double ratio = to / from;
  std::vector<float> out(static_cast<std::size_t>(std::ceil(static_cast<double>(samples.size()) * ratio)) + 1);
  SRC_DATA data{};
  data.data_in = samples.data();
  data.input_frames = static_cast<long>(samples.size());
  data.data_out = out.data();
  data.output_frames = static_cast<long>(out.size());
  data.src_ratio = ratio;
  if (const int status = src_simple(&data, SRC_SINC_MEDIUM_QUALITY, 1)) {
    error = std::string("resampling failed: ") + src_strerror(status);
    return {};
  }
  out.resize(static_cast<std::size_t>(data.output_frames_gen));
  return out;
}

}  // namespace

int64_t resampled_length(int64_t frames, int64_t from, int64_t to) { return frames * to / from; }

SourceSpan source_span(SampleRange wanted, int64_t from, int64_t to, int64_t source_frames) {
  const int64_t common = std::gcd(from, to), period_in = from / common, period_out = to / common;
  const int64_t margin = divide_up(resampling_margin * to, std::min(from, to));  // at `to`
  const int64_t periods = std::max<int64_t>(wanted.begin - margin, 0) / period_out;
  SourceSpan span;
  span.output_begin = periods * period_out;
  span.source.begin = periods * period_in;
  span.source.end = std::min(source_frames, divide_up((wanted.end + margin) * from, to));
  return span;
}

std::vector<float> read_at_rate(SoundFile& file, SampleRange wanted, int64_t rate, std::string& error) {
  if (file.rate() == rate) return file.read_mono(wanted, error);
  const SourceSpan span = source_span(wanted, file.rate(), rate, file.frames());
  const std::vector<float> source = file.read_mono(span.source, error);
  if (!error.empty()) return {};
  const std::vector<float> converted =
      resample(source, static_cast<double>(file.rate()), static_cast<double>(rate), error);
  if (!error.empty()) return {};
  std::vector<float> samples(static_cast<std::size_t>(wanted.size()), 0.0f);
  const auto skip = static_cast<std::size_t>(wanted.begin - span.output_begin);
  if (converted.size() > skip)
    std::copy_n(converted.begin() + static_cast<std::ptrdiff_t>(skip),
                std::min(samples.size(), converted.size() - skip), samples.begin());
  return samples;
}

}  // namespace cloze::audio
