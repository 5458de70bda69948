#include "cloze/train/decoding_score.h"

#include <ATen/Functions.h>

#include "cloze/core/error.h"

namespace cloze {

DecodingScore score_greedy_decoding(DenoisingModel& model, const Corrupted& batch) {
  if (batch.mode != ReconstructionMode::sequence)
    throw Error("greedy decoding is scored in sequence mode only, the batch is " + to_string(batch.mode));
  model->eval();
  const int64_t rows = batch.target.size(0), length = batch.target.size(1);
  const at::Tensor decoded = model->generate(batch, length);  // [B, L <= N_t]
  // Where decoding stopped early the rest is wrong unless the target has nothing there.
  const at::Tensor wrong_tail = at::full({rows, length - decoded.size(1)}, -1, decoded.options());
  const at::Tensor right =
      at::cat({decoded, wrong_tail}, 1).eq(batch.target).logical_or(batch.loss_mask.logical_not());  // [B, N_t]
  DecodingScore score;
  score.tokens = batch.loss_mask.sum().item<int64_t>();
  score.rows = rows;
  if (score.tokens > 0)
    score.token_accuracy = static_cast<double>(right.logical_and(batch.loss_mask).sum().item<int64_t>()) /
                           static_cast<double>(score.tokens);
  if (rows > 0) score.exact_match = right.all(1).to(at::kDouble).mean().item<double>();
  return score;
}

}  // namespace cloze
