#include "sound_file.h"

#include <mutex>

namespace cloze::audio {

namespace {

// Frames beyond this are refused, so that a frame count times any sample
// rate (up to 2^31) stays far inside int64_t in the resampling arithmetic.
constexpr int64_t max_frames = int64_t{1} << 40;

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

SoundFile::SoundFile(const std::filesystem::path& path, std::string& error)
    : file_(open_for_reading(path, info_, error)) {
  if (!file_) return;
  if (info_.frames <= 0 || info_.channels <= 0)
    error = "no audio frames";
  else if (info_.samplerate <= 0)
    error = "no sample rate";
  else if (info_.frames > max_frames)
    error = "its header gives " + std::to_string(info_.frames) + " frames, more than the 2^40 cloze reads";
  if (!error.empty()) file_.reset();
}

std::vector<float> SoundFile::read_mono(SampleRange range, std::string& error) {
  if (sf_seek(file_.get(), range.begin, SEEK_SET) != range.begin) {
    error = "cannot seek to frame " + std::to_string(range.begin) + ": " + sf_strerror(file_.get());
    return {};
  }
  const int channels = info_.channels;
  std::vector<float> interleaved(static_cast<std::size_t>(range.size() * channels));
  const sf_count_t frames = sf_readf_float(file_.get(), interleaved.data(), range.size());
  if (frames <= 0) {
    error = std::string("no audio frames could be read: ") + sf_strerror(file_.get());
    return {};
  }
  std::vector<float> mono(static_cast<std::size_t>(range.size()), 0.0f);
  for (sf_count_t i = 0; i < frames; ++i) {
    float sum = 0;
    for (int c = 0; c < channels; ++c) sum += interleaved[static_cast<std::size_t>(i * channels + c)];
    mono[static_cast<std::size_t>(i)] = sum / static_cast<float>(channels);
  }
  return mono;
}

}  // namespace cloze::audio
