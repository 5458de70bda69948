// Reading one recording (WAV, FLAC, OGG/Vorbis, anything libsndfile opens) as
// mono samples at a chosen rate.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cloze::audio {

struct Sound {
  std::vector<float> samples;  // mono, in [-1, 1] as libsndfile scales them
  std::string error;           // why the file could not be read; empty when it was
};

// The file's channels averaged into one (a plain mean, as torchaudio's
// downmix), then resampled to `sample_rate` with libsamplerate's
// SRC_SINC_MEDIUM_QUALITY when the file's rate differs. Never throws: a file
// libsndfile cannot open, or that holds no frames, comes back with `error`
// set, so a caller decoding many files in parallel can skip it.
Sound read_mono(const std::filesystem::path& path, int64_t sample_rate);

}  // namespace cloze::audio
