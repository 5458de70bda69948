#include "clip.h"

#include <algorithm>
#include <vector>

#include "resampling.h"
#include "sound_file.h"

namespace cloze::audio {

int64_t crop_start(int64_t total, int64_t frames, SampleRng* draws) {
  if (total <= frames) return 0;
  if (!draws) return (total - frames) / 2;
  return static_cast<int64_t>(draws->below(static_cast<uint64_t>(total - frames + 1)));
}

at::Tensor read_clip(const LabelledFile& recording, const LogMel& log_mel, int64_t frames, SampleRng* draws,
                     std::string& error) {
  SoundFile file(recording, error);
  if (!file) return {};
  const int64_t rate = log_mel.options().mel.sample_rate;
  const int64_t length = resampled_length(file.frames(), file.rate(), rate);
  if (length == 0) {
    error = "no audio frames after resampling";
    return {};
  }
  const int64_t total = log_mel.frame_count(length), count = std::min(total, frames);
  const int64_t first = crop_start(total, frames, draws);
  const SampleRange needed = log_mel.samples_for(length, first, count);
  const std::vector<float> samples = read_at_rate(file, needed, rate, error);
  if (!error.empty()) return {};
  return pad_with_silence(log_mel.frames(samples, needed.begin, length, first, count), frames).unsqueeze(0);
}

}  // namespace cloze::audio
