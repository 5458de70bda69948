// A stretch of a recording at the modality's sample rate, converted with
// libsamplerate's SRC_SINC_MEDIUM_QUALITY from only the part of the file it
// needs, equal to the same stretch of the whole file's conversion.
//
// Converting the whole file, output sample k lies at input position
// k * from / to. A conversion started at input frame a = j * from / g (g the
// rates' greatest common divisor) lies on the same grid, offset by exactly
// j * to / g outputs, so its outputs are the whole conversion's wherever the
// sinc filter sees the same input: from under 50 samples (at the lower of the
// two rates) inside either end of the segment, unless that end is the file's.
// A segment is therefore read with a margin of resampling_margin samples at
// the lower rate on each side, its start moved back to a period boundary
// (g = 50 for 22050 -> 16000 Hz: every 441 input samples; at worst, for
// coprime rates, one second of input).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sample_range.h"
#include "sound_file.h"

namespace cloze::audio {

// Samples at the lower of the two rates read beyond each end of a segment.
constexpr int64_t resampling_margin = 128;

// The length at `to` of `frames` at `from`: floor(frames * to / from). A
// whole-file conversion gives as many, or in rare roundings one fewer (the
// last, then read as silence).
int64_t resampled_length(int64_t frames, int64_t from, int64_t to);

struct SourceSpan {
  SampleRange source;    // the file's frames to read and convert, at `from`
  int64_t output_begin;  // the index at `to` of their conversion's first sample
};

// What to read of a file of `source_frames` at `from` for its samples
// `wanted` at `to`: from a period boundary at least the margin before them to
// the margin after them (or the file's ends).
SourceSpan source_span(SampleRange wanted, int64_t from, int64_t to, int64_t source_frames);

// The samples `wanted` (within [0, resampled_length(file.frames(), file.rate(),
// rate))) of `file`, mono at `rate`, read from the span source_span gives
// (or exactly `wanted`, at the file's own rate). Empty with `error` set when
// the file cannot be read or converted.
std::vector<float> read_at_rate(SoundFile& file, SampleRange wanted, int64_t rate, std::string& error);

}  // namespace cloze::audio
