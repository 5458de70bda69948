// What `cloze preview` prints: corrupted samples with the corruption marked
// and, given a trained model, what the model makes of them.
#pragma once

#include <cstdint>
#include <string>

#include "cloze/model.h"
#include "cloze/pipeline.h"

namespace cloze {

// One block of lines per sample of the first training batch: the modality's
// marked view of the corruption and, given a model, the same view with the
// model's reconstruction (its guesses in place, its greedy decoding in
// sequence mode) as the target.
std::string preview_samples(const Pipeline& pipeline, int64_t samples, DenoisingModel* model);

}  // namespace cloze
