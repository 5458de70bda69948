#include "cloze/model/objective.h"

#include <ATen/Functions.h>

#include <tuple>

#include "cloze/model/generator.h"
#include "cloze/model/latent_target.h"

namespace cloze {

namespace {

// The replaced (1) or kept (0) label of each detected unit, in the order of
// the model's logits.
at::Tensor detected_labels(const Corrupted& detect) {
  const at::Tensor rows = detect.loss_mask.reshape({-1}).nonzero().squeeze(1);
  return detect.target.reshape({-1}).index_select(0, rows);  // [M]
}

// The detection of one side alone: the replaced units (ELECTRA's hard part,
// as most units are kept) or the kept ones. A model that only guesses calls
// as large a share of the kept units replaced as of the replaced units.
MaskedLoss detection_among(const at::Tensor& scores, const at::Tensor& labels, bool replaced) {
  const at::Tensor side = replaced ? labels.to(at::kBool) : labels.eq(0);
  const at::Tensor chosen = scores.masked_select(side);
  MaskedLoss result;
  result.count = chosen.size(0);
  result.loss = result.count > 0 ? at::binary_cross_entropy_with_logits(chosen, at::full_like(chosen, replaced ? 1 : 0))
                                 : at::zeros({}, chosen.options());
  result.correct = (replaced ? chosen.gt(0) : chosen.le(0)).sum();
  return result;
}

// The share of the replaced units among the k units the model scores
// highest, k the number replaced: the recall of a detector that calls as
// many units replaced as were. It needs no threshold: at the loss's, 0.5, a
// model unsure of every unit calls none replaced. Ranking at random catches
// the replaced share. A ranking has no loss of its own: 0.
MaskedLoss ranked_detection(const at::Tensor& scores, const at::Tensor& labels) {
  MaskedLoss result;
  result.count = labels.sum().item<int64_t>();
  const at::Tensor highest = std::get<1>(scores.topk(result.count));
  result.correct = labels.index_select(0, highest).sum();
  result.loss = at::zeros({}, scores.options());
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
  std::vector<std::pair<std::string, MaskedLoss>> parts{{"generator", std::move(generator)},
                                                         {"detection", std::move(detected)}};
  for (auto& part : detection_parts(logits, detect)) parts.push_back(std::move(part));
  return {std::move(total), std::move(parts), at::Tensor()};
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

std::vector<std::pair<std::string, MaskedLoss>> detection_parts(const at::Tensor& logits, const Corrupted& detect) {
  const at::Tensor scores = logits.detach().to(at::kFloat).squeeze(1);  // [M]
  const at::Tensor labels = detected_labels(detect);
  return {{"replaced", detection_among(scores, labels, true)},
          {"kept", detection_among(scores, labels, false)},
          {"ranked", ranked_detection(scores, labels)}};
}

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
