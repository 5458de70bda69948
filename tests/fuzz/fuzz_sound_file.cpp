// Fuzzes the audio plugin's reader (libsndfile + libsamplerate + the log-mel
// of the crop's samples): the input is the file, in whatever format libsndfile
// recognises in it. read_clip never throws for a bad file; one it cannot read
// comes back undefined with `error` set, and one it can read must give the
// [1, n_mels, frames] crop, the centre's and a drawn one alike (the plugin
// skips the others). A header that promises more frames than the data
// holds sends the crop's seek past the data.
#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "clip.h"
#include "cloze/core/rng.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::filesystem::path path = cloze::fuzz::scratch_folder() / "input.wav";
  cloze::fuzz::write_file(path, data, size);
  // The plugin's defaults at 16 kHz; the seed corpus holds 8 kHz files too, so
  // the resampler runs. 8 frames, so longer inputs are cropped.
  static const cloze::audio::LogMel log_mel(cloze::audio::SpectrogramOptions{});
  constexpr int64_t frames = 8;
  cloze::SampleRng draws(0, cloze::RngStream::augmentation, 0, static_cast<int64_t>(size));
  // The input as a file, and as a shard member (a byte range, read through
  // libsndfile's virtual I/O) that spans the whole file.
  cloze::LabelledFile as_file, as_member;
  as_file.path = as_member.path = path;
  as_member.member = "input.wav";
  as_member.size = static_cast<int64_t>(size);
  for (const cloze::LabelledFile* recording : {&as_file, &as_member})
    for (cloze::SampleRng* crop : {static_cast<cloze::SampleRng*>(nullptr), &draws}) {
      std::string error;
      const at::Tensor clip = cloze::audio::read_clip(*recording, log_mel, frames, crop, error);
      if (error.empty() != clip.defined()) std::abort();  // an error or a crop, never both or neither
      if (clip.defined() && clip.sizes() != at::IntArrayRef({1, log_mel.options().mel.n_mels, frames})) std::abort();
    }
  return 0;
}
