// A folder of recordings, labelled by sub-folder (cloze/data/labelled_folder.h:
// FOLDER/<label>/*.wav, or FOLDER/train/... with FOLDER/val/...), listed up
// front and read as batches ask for them (cloze/data/streamed_planes.h), so
// a folder and its recordings may be far larger than memory. Recordings are
// .wav, .flac and .ogg files, in any letter case, or members of WebDataset
// tar shards in the folder (KEY.flac with KEY.cls).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "cloze/data/labelled_folder.h"
#include "cloze/data/streamed_planes.h"
#include "log_mel.h"

namespace cloze::audio {

// The recordings of `folder` and of its shards, and their splits; shards cut
// short go to `bad_samples`. Throws cloze::Error naming the folder when it
// does not exist or holds no recordings, and naming an eval label sub-folder
// that train lacks.
LabelledFolder list_clip_folder(const std::filesystem::path& folder, double eval_fraction, BadSamples& bad_samples);

// Reads a recording as its [1, n_mels, frames] log-mel crop (clip.h): with
// draws, a random one; without, the centre.
StreamedPlanes::Reader clip_reader(std::shared_ptr<const LogMel> log_mel, int64_t frames);

}  // namespace cloze::audio
