#include "clip_folder.h"

#include <utility>

#include "clip.h"

namespace cloze::audio {

LabelledFolder list_clip_folder(const std::filesystem::path& folder, double eval_fraction, BadSamples& bad_samples) {
  return list_sample_folder(folder, {".wav", ".flac", ".ogg"}, "recordings", eval_fraction, bad_samples);
}

StreamedPlanes::Reader clip_reader(std::shared_ptr<const LogMel> log_mel, int64_t frames) {
  return [log_mel = std::move(log_mel), frames](const LabelledFile& file, SampleRng* draws, std::string& error) {
    return read_clip(file, *log_mel, frames, draws, error);
  };
}

}  // namespace cloze::audio
