// The masked-position loss: scored only where loss_mask is true, in float32
// whatever precision the model ran in.
#include "cloze/model/loss.h"

#include <ATen/Functions.h>

#include "cloze/core/error.h"
#include "cloze/data/patches.h"
#include "cloze/model/cross_entropy.h"

namespace cloze {

MaskedLoss masked_loss(const at::Tensor& predictions, const Corrupted& corrupted, const UnitSpec& units) {
  const at::Tensor& target = corrupted.target;
  const at::Tensor& loss_mask = corrupted.loss_mask;
  const bool discrete = units.kind == UnitKind::discrete;
  if (!loss_mask.defined() || !target.defined() || target.dim() != (discrete ? 2 : 3) ||
      target.sizes().slice(0, 2) != loss_mask.sizes())
    throw Error(std::string("masked_loss: target must be ") + (discrete ? "[B, N] ids" : "[B, N, D] values") +
                " and loss_mask [B, N] bool of the same B and N");
  // The same row-major order in which DenoisingModel::forward gathers its predictions.
  const at::Tensor rows = loss_mask.reshape({-1}).nonzero().squeeze(1);  // [M]
  MaskedLoss result;
  result.count = rows.size(0);
  if (predictions.dim() != 2 || predictions.size(0) != result.count)
    throw Error("masked_loss: " + std::to_string(predictions.dim() == 2 ? predictions.size(0) : -1) +
                " prediction rows, but loss_mask marks " + std::to_string(result.count) + " units");

  const at::Tensor scores = predictions.to(at::kFloat);
  if (result.count == 0) {
    // Nothing to score: a zero that still reaches the model, so backward() runs.
    result.loss = scores.sum() * 0.0;
    result.correct = at::zeros({}, predictions.options().dtype(at::kLong));
    return result;
  }
  if (corrupted.mode == ReconstructionMode::detect) {
    // One logit per unit: replaced (1) or kept (0), ELECTRA's sigmoid loss.
    if (scores.size(1) != 1)
      throw Error("masked_loss: detection needs one logit per unit, got " + std::to_string(scores.size(1)));
    const at::Tensor logits = scores.squeeze(1);
    const at::Tensor labels = target.reshape({-1}).index_select(0, rows);  // [M] 0 or 1
    result.loss = at::binary_cross_entropy_with_logits(logits, labels.to(at::kFloat));
    result.correct = logits.detach().gt(0).eq(labels.to(at::kBool)).sum();
  } else if (discrete) {
    const at::Tensor ids = target.reshape({-1}).index_select(0, rows);  // [M]
    result.loss = cross_entropy(scores, ids);
    // Right where the target's score is the row's highest: amax is a
    // vectorised reduction, ten times faster on the CPU than argmax, which
    // tracks indices. A tie for the highest counts as right.
    const at::Tensor detached = scores.detach();
    result.correct = detached.gather(1, ids.unsqueeze(1)).squeeze(1).ge(detached.amax(1)).sum();
  } else {
    at::Tensor values = target.reshape({-1, target.size(2)}).index_select(0, rows).to(at::kFloat);  // [M, D]
    if (units.normalize_targets) values = normalize_units(values);
    if (values.size(1) != scores.size(1))
      throw Error("masked_loss: predictions have " + std::to_string(scores.size(1)) + " values per unit, target " +
                  std::to_string(values.size(1)));
    result.loss = at::mse_loss(scores, values);
    result.correct = at::zeros({}, predictions.options().dtype(at::kLong));
  }
  return result;
}

std::vector<MaskedLoss> masked_loss_per_entry(const at::Tensor& predictions, const Corrupted& corrupted,
                                              const UnitSpec& units, int64_t entries) {
  const at::Tensor& entry = corrupted.entry;
  if (!entry.defined() || entry.dim() != 1 || entry.size(0) != corrupted.loss_mask.size(0))
    throw Error("masked_loss_per_entry: needs the batch's entry per row, [B] int64");
  // The entry of each prediction row, in the order masked_loss reads them.
  const at::Tensor row_entry = corrupted.entry.unsqueeze(1).expand_as(corrupted.loss_mask);
  const at::Tensor scored_entry = row_entry.masked_select(corrupted.loss_mask);  // [M]
  std::vector<MaskedLoss> losses;
  for (int64_t e = 0; e < entries; ++e) {
    Corrupted part = corrupted;
    part.loss_mask = corrupted.loss_mask & row_entry.eq(e);
    const at::Tensor rows = scored_entry.eq(e).nonzero().squeeze(1);
    losses.push_back(masked_loss(predictions.detach().index_select(0, rows), part, units));
  }
  return losses;
}

}  // namespace cloze
