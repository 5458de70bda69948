// A folder of recordings, labelled by sub-folder (cloze/labelled_folder.h:
// FOLDER/<label>/*.wav, or FOLDER/train/... with FOLDER/val/...), decoded
// once into log-mel spectrograms. Recordings are .wav, .flac and .ogg files,
// in any letter case.
#pragma once

#include <filesystem>

#include "cloze/data/bad_samples.h"
#include "log_mel.h"
#include "spectrograms.h"

namespace cloze::audio {

// Reads, mixes down, resamples (sound_file.h) and transforms (log_mel.h)
// every recording, in parallel. The files libsndfile cannot open or that hold
// no frames go to `bad_samples` with their reasons, which throws or leaves
// them out as loader.on_bad_sample says. Throws cloze::Error naming the folder when it does not exist, holds
// no recordings, or none of a split's recordings can be read, and naming an
// eval label sub-folder that train lacks.
LabelledSpectrograms read_clip_folder(const std::filesystem::path& folder, const LogMel& log_mel, int64_t sample_rate,
                                      double eval_fraction, BadSamples& bad_samples);

}  // namespace cloze::audio
