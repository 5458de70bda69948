// Fuzzes the audio plugin's reader (libsndfile + libsamplerate): the input is
// the file, in whatever format libsndfile recognises in it. read_mono never
// throws; a file it cannot read comes back with `error` set, and one it can
// read must give samples (the plugin skips the others).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "fuzz_support.h"
#include "sound_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::filesystem::path path = cloze::fuzz::scratch_folder() / "input.wav";
  cloze::fuzz::write_file(path, data, size);
  // 16 kHz is the plugin's default; the seed corpus holds 8 kHz files too, so
  // the resampler runs.
  const cloze::audio::Sound sound = cloze::audio::read_mono(path, 16000);
  if (sound.error.empty() && sound.samples.empty()) std::abort();  // read "fine" but empty
  return 0;
}
