// What `cloze preview` prints: corrupted samples with the corruption marked
// and, given a trained model, what the model makes of them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "cloze/data/pipeline.h"
#include "cloze/model/model.h"

namespace cloze {

// One block of lines per sample of the first training batch: the modality's
// marked view of the corruption and, given a model, the same view with the
// model's reconstruction (its guesses in place and in fill mode, its greedy
// decoding in sequence mode) as the target; a model trained on a latent
// target (data2vec) has no reconstruction, and a line at the top says so.
// Modalities with pictures (image,
// audio) also write one PNG per sample into `picture_dir`, created if needed,
// named sample-<index>.png; the lines name each file.
std::string preview_samples(const Pipeline& pipeline, int64_t samples, DenoisingModel* model,
                            const std::filesystem::path& picture_dir);

}  // namespace cloze
