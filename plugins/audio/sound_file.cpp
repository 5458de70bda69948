#include "sound_file.h"

#include <algorithm>
#include <fstream>
#include <mutex>

namespace cloze::audio {

namespace {

// Frames beyond this are refused, so that a frame count times any sample
// rate (up to 2^31) stays far inside int64_t in the resampling arithmetic.
constexpr int64_t max_frames = int64_t{1} << 40;

}  // namespace

struct SoundFile::Member {
  std::ifstream shard;
  int64_t offset = 0, size = 0, position = 0;

  static Member& of(void* user) { return *static_cast<Member*>(user); }
  static sf_count_t length(void* user) { return of(user).size; }
  static sf_count_t seek(sf_count_t offset, int whence, void* user) {
    Member& member = of(user);
    const int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? member.position : member.size;
    member.position = std::clamp<int64_t>(base + offset, 0, member.size);
    return member.position;
  }
  static sf_count_t read(void* into, sf_count_t count, void* user) {
    Member& member = of(user);
    const int64_t wanted = std::min<int64_t>(count, member.size - member.position);
    member.shard.clear();
    member.shard.seekg(member.offset + member.position);
    member.shard.read(static_cast<char*>(into), wanted);
    const auto got = static_cast<int64_t>(member.shard.gcount());
    member.position += got;
    return got;
  }
  static sf_count_t write(const void*, sf_count_t, void*) { return 0; }
  static sf_count_t tell(void* user) { return of(user).position; }
};

namespace {

// sf_open reports why it failed through one process-wide error slot
// (sf_strerror(nullptr)), so opening is serialised to pair each failure with
// its own reason. Reading, the slow part, runs in parallel.
template <typename Open>
SNDFILE* open_for_reading(Open open, std::string& error) {
  static std::mutex open_mutex;
  const std::lock_guard<std::mutex> lock(open_mutex);
  SNDFILE* file = open();
  if (!file) {
    error = sf_strerror(nullptr);  // "Format not recognised." -> without the full stop, to sit in a list
    if (!error.empty() && error.back() == '.') error.pop_back();
  }
  return file;
}

}  // namespace

SoundFile::SoundFile(const LabelledFile& recording, std::string& error) {
  if (recording.member.empty()) {
    file_.reset(open_for_reading([&] { return sf_open(recording.path.c_str(), SFM_READ, &info_); }, error));
  } else {
    member_ = std::make_unique<Member>();
    member_->shard.open(recording.path, std::ios::binary);
    member_->offset = recording.offset;
    member_->size = recording.size;
    static SF_VIRTUAL_IO io{&Member::length, &Member::seek, &Member::read, &Member::write, &Member::tell};
    file_.reset(open_for_reading([&] { return sf_open_virtual(&io, SFM_READ, &info_, member_.get()); }, error));
  }
  if (!file_) return;
  if (info_.frames <= 0 || info_.channels <= 0)
    error = "no audio frames";
  else if (info_.samplerate <= 0)
    error = "no sample rate";
  else if (info_.frames > max_frames)
    error = "its header gives " + std::to_string(info_.frames) + " frames, more than the 2^40 cloze reads";
  if (!error.empty()) file_.reset();
}

SoundFile::~SoundFile() = default;

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
