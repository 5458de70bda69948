#include "cloze/model/objective.h"

#include <ATen/Functions.h>

#include "cloze/model/generator.h"
#include "cloze/model/latent_target.h"

namespace cloze {

namespace {

// The detection of the units that were replaced: ELECTRA's hard part, as
// most units are kept.
MaskedLoss replaced_units(const at::Tensor& logits, const Corrupted& detect) {
  const at::Tensor rows = detect.loss_mask.reshape({-1}).nonzero().squeeze(1);
  const at::Tensor replaced = detect.target.reshape({-1}).index_select(0, rows).to(at::kBool);  // [M]
  const at::Tensor scores = logits.detach().to(at::kFloat).squeeze(1).masked_select(replaced);
  MaskedLoss result;
  result.count = scores.size(0);
  result.loss = result.count > 0 ? at::binary_cross_entropy_with_logits(scores, at::ones_like(scores))
                                 : at::zeros({}, scores.options());
  result.correct = scores.gt(0).sum();
  return result;
}

ObjectiveLoss replaced_token_detection(DenoisingModel& model, const Corrupted& batch, const UnitSpec& units) {
  const at::Tensor generated = model->generator()->forward(batch, model->token_embedding(), model->position_embedding());
  MaskedLoss generator = masked_loss(generated, batch, units);
  const Corrupted detect = with_generated_replacements(batch, generated);
  const at::Tensor logits = model->forward(detect);
  MaskedLoss detection = masked_loss(logits, detect, units);
  MaskedLoss total{generator.loss + model->options().detection_weight * detection.loss, detection.correct,
                   detection.count};
  generator.loss = generator.loss.detach();
  MaskedLoss detected{detection.loss.detach(), detection.correct, detection.count};
  return {std::move(total), {{"generator", std::move(generator)},
                             {"detection", std::move(detected)},
                             {"replaced", replaced_units(logits, detect)}},
          at::Tensor()};
}

ObjectiveLoss latent_regression(DenoisingModel& model, const Corrupted& batch) {
  const at::Tensor predictions = model->forward(batch).to(at::kFloat);  // [M, dim]
  const at::Tensor targets = latent_targets(*model, batch);
  MaskedLoss loss;
  loss.count = predictions.size(0);
  loss.loss = loss.count > 0 ? at::mse_loss(predictions, targets) : predictions.sum() * 0.0;
  loss.correct = at::zeros({}, predictions.options().dtype(at::kLong));
  return {std::move(loss), {}, at::Tensor()};
}

}  // namespace

ObjectiveLoss objective_loss(DenoisingModel& model, const Corrupted& batch, const UnitSpec& units) {
  if (model->generator()) return replaced_token_detection(model, batch, units);
  if (model->options().latent_target()) return latent_regression(model, batch);
  at::Tensor predictions = model->forward(batch);
  MaskedLoss loss = masked_loss(predictions, batch, units);
  return {std::move(loss), {}, predictions.detach()};
}

UnitSpec scored_units(const UnitSpec& units, const ModelOptions& options) {
  if (!options.latent_target()) return units;
  UnitSpec latent;
  latent.kind = UnitKind::continuous;
  latent.unit_dim = options.dim;
  return latent;
}

}  // namespace cloze
