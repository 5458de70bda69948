// How well greedy decoding reconstructs a sequence-mode batch, the measure
// that teacher-forced loss and accuracy cannot give: at generation time each
// token follows the model's own earlier guesses, not the truth.
#pragma once

#include <cstdint>

#include "cloze/core/corrupted.h"
#include "cloze/model/model.h"

namespace cloze {

struct DecodingScore {
  double token_accuracy = 0;  // share of the target's tokens decoded right at their position
  double exact_match = 0;     // share of rows decoded right from start to end
  int64_t tokens = 0, rows = 0;
};

// Greedily decodes `batch` (sequence mode, target length steps at most) and
// compares against batch.target where batch.loss_mask is true. Puts the model
// in eval mode; call it under no_grad.
DecodingScore score_greedy_decoding(DenoisingModel& model, const Corrupted& batch);

}  // namespace cloze
