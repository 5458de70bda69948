// One recording (WAV, FLAC, OGG/Vorbis, anything libsndfile opens), a file
// or a member of a tar shard, open for reading stretches of it as mono
// samples at its own rate: a crop of a long recording seeks to the frames it
// needs rather than decoding the whole file.
#pragma once

#include <sndfile.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cloze/data/labelled_folder.h"
#include "sample_range.h"

namespace cloze::audio {

class SoundFile {
 public:
  // Opens `recording` and reads its header; a shard's member through
  // libsndfile's virtual I/O over its byte range of the shard. Never throws:
  // a file libsndfile cannot open, or whose header gives no frames, no
  // sample rate or more frames than cloze reads (2^40), leaves the SoundFile
  // closed with `error` saying why, so a caller reading many files in
  // parallel can skip it.
  SoundFile(const LabelledFile& recording, std::string& error);
  ~SoundFile();

  explicit operator bool() const { return file_ != nullptr; }
  int64_t frames() const { return info_.frames; }  // per channel, as the header gives them
  int64_t rate() const { return info_.samplerate; }

  // Frames `range` (within [0, frames())) with the channels averaged into one
  // (a plain mean, as torchaudio's downmix), as floats in [-1, 1] as
  // libsndfile scales them. A file whose data ends before its header says
  // reads as silence past its end; one whose range cannot be reached or
  // gives no frames at all comes back empty with `error` set.
  std::vector<float> read_mono(SampleRange range, std::string& error);

 private:
  struct Close {
    void operator()(SNDFILE* file) const { sf_close(file); }
  };

  struct Member;  // a shard member's bytes, which libsndfile reads through callbacks

  SF_INFO info_{};
  std::unique_ptr<Member> member_;  // declared first: libsndfile's handle is closed before it goes
  std::unique_ptr<SNDFILE, Close> file_;
};

}  // namespace cloze::audio
