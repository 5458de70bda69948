// One recording as a sample: the crop of `frames` frames of its log-mel
// spectrogram (log_mel.h), computed from the samples the crop covers, which
// are all that is read of the file. Its length is known from the header
// (frames and sample rate) without decoding it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "cloze/core/rng.h"
#include "cloze/data/labelled_folder.h"
#include "log_mel.h"

namespace cloze::audio {

// The first of the `frames` frames a clip of `total` keeps: without draws
// (evaluation) the centre, (total - frames) / 2 rounded down; with draws
// (training) uniform over the total - frames + 1 starts, one draw. 0 when
// the clip has no more than `frames`.
int64_t crop_start(int64_t total, int64_t frames, SampleRng* draws);

// The recording `file` (a file, or a shard's member), mono at log_mel's sample rate (sound_file.h,
// resampling.h), as [1, n_mels, frames] float32 log-mel: frames
// [s, s + frames) of its spectrogram, s = crop_start(T, frames, draws) for
// its T frames, or all T followed by silence (pad_with_silence) when
// T < frames. Never throws for a bad file: an undefined tensor and `error`
// say why it cannot be read.
at::Tensor read_clip(const LabelledFile& file, const LogMel& log_mel, int64_t frames, SampleRng* draws,
                     std::string& error);

}  // namespace cloze::audio
