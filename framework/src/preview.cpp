#include "cloze/preview.h"

#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>

#include <sstream>

namespace cloze {
namespace {

// The same batch with the model's output as the target, so the modality's
// marked view shows what the model reconstructs instead of the truth. In place,
// the most likely unit at every scored position; in sequence mode, the greedy
// decoding, scored up to its padding.
Corrupted with_model_output(const Corrupted& corrupted, DenoisingModel& model, int64_t pad_id) {
  Corrupted guessed = corrupted;
  if (corrupted.mode == ReconstructionMode::sequence) {
    guessed.target = model->generate(corrupted, corrupted.target.size(1));  // [B, L]
    guessed.loss_mask = guessed.target.ne(pad_id);
    return guessed;
  }
  const at::Tensor predictions = model->forward(corrupted);  // [M, V]
  guessed.target = corrupted.target.clone();
  guessed.target.masked_scatter_(corrupted.loss_mask, predictions.argmax(1));
  return guessed;
}

}  // namespace

std::string preview_samples(const Pipeline& pipeline, int64_t samples, DenoisingModel* model) {
  auto loader = pipeline.loader(Split::train, samples);
  const LoadedBatch item = loader->next();
  const Modality& modality = pipeline.modality();

  at::NoGradGuard no_grad;
  Corrupted guessed;
  if (model) {
    (*model)->eval();
    guessed = with_model_output(item.corrupted, *model, pipeline.units().pad_id);
  }
  std::ostringstream out;
  for (int64_t row = 0; row < item.batch.size(); ++row) {
    out << "sample " << item.batch.sample_ids[static_cast<std::size_t>(row)] << "\n  truth: "
        << modality.preview(item.batch, item.corrupted, row) << '\n';
    if (model) out << "  model: " << modality.preview(item.batch, guessed, row) << '\n';
    out << '\n';
  }
  return out.str();
}

}  // namespace cloze
