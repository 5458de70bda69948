#include "sound_file.h"

#include <samplerate.h>
#include <sndfile.h>

#include <cmath>
#include <memory>
#include <mutex>

namespace cloze::audio {

namespace {

struct CloseSoundFile {
  void operator()(SNDFILE* file) const { sf_close(file); }
};

std::vector<float> resample(const std::vector<float>& samples, double from_rate, double to_rate, std::string& error) {
  const double ratio = to_rate / from_rate;
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

// sf_open reports why it failed through one process-wide error slot
// (sf_strerror(nullptr)), so opening is serialised to pair each failure with
// its own reason. Reading, the slow part, runs in parallel.
SNDFILE* open_for_reading(const std::filesystem::path& path, SF_INFO& info, std::string& error) {
  static std::mutex open_mutex;
  const std::lock_guard<std::mutex> lock(open_mutex);
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  if (!file) {
    error = sf_strerror(nullptr);  // "Format not recognised." -> without the full stop, to sit in a list
    if (!error.empty() && error.back() == '.') error.pop_back();
  }
  return file;
}

}  // namespace

Sound read_mono(const std::filesystem::path& path, int64_t sample_rate) {
  Sound sound;
  SF_INFO info{};
  std::unique_ptr<SNDFILE, CloseSoundFile> file(open_for_reading(path, info, sound.error));
  if (!file) return sound;
  if (info.frames <= 0 || info.channels <= 0) {
    sound.error = "no audio frames";
    return sound;
  }
  std::vector<float> interleaved(static_cast<std::size_t>(info.frames * info.channels));
  const sf_count_t frames = sf_readf_float(file.get(), interleaved.data(), info.frames);
  if (frames <= 0) {
    sound.error = std::string("no audio frames could be read: ") + sf_strerror(file.get());
    return sound;
  }
  sound.samples.resize(static_cast<std::size_t>(frames));
  for (sf_count_t i = 0; i < frames; ++i) {
    float sum = 0;
    for (int c = 0; c < info.channels; ++c) sum += interleaved[static_cast<std::size_t>(i * info.channels + c)];
    sound.samples[static_cast<std::size_t>(i)] = sum / static_cast<float>(info.channels);
  }
  if (info.samplerate != sample_rate)
    sound.samples = resample(sound.samples, info.samplerate, static_cast<double>(sample_rate), sound.error);
  if (sound.error.empty() && sound.samples.empty()) sound.error = "no audio frames after resampling";
  return sound;
}

}  // namespace cloze::audio
