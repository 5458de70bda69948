#include "clip_folder.h"

#include <utility>

#include "clip.h"
#include "cloze/core/error.h"

namespace cloze::audio {

LabelledFolder list_clip_folder(const std::filesystem::path& folder, double eval_fraction) {
  LabelledFolder listing = list_labelled_folder(folder, {".wav", ".flac", ".ogg"}, eval_fraction);
  if (listing.train.empty() && listing.eval.empty())
    throw Error(folder.string() + ": holds no .wav, .flac or .ogg recordings");
  return listing;
}

StreamedPlanes::Reader clip_reader(std::shared_ptr<const LogMel> log_mel, int64_t frames) {
  return [log_mel = std::move(log_mel), frames](const LabelledFile& file, SampleRng* draws, std::string& error) {
    return read_clip(file.path, *log_mel, frames, draws, error);
  };
}

}  // namespace cloze::audio
