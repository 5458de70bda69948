// What one batch costs the model: the loss it is trained on, by its
// objective. Most objectives score the corruption's own target (loss.h);
// two add a network of their own:
//
// - ELECTRA (model.generator > 0): the generator fills the masked units in
//   (its MLM loss), its samples replace them, and the model, the
//   discriminator, says of every unit whether it was replaced; loss = MLM +
//   model.detection_weight x detection. Sampling cuts the graph, so the
//   detection loss sends no gradient to the generator; the shared embeddings
//   get both.
// - data2vec (model.target = "latent"): the model regresses, at the corrupted
//   units, its EMA teacher's averaged top block outputs (latent_target.h);
//   mean squared error.
//
// The trainer, the held-out evaluation and the benchmarks all take their loss
// here, so they train and score the same thing.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cloze/core/corrupted.h"
#include "cloze/core/units.h"
#include "cloze/model/loss.h"
#include "cloze/model/model.h"

namespace cloze {

struct ObjectiveLoss {
  // What is optimised (differentiable); its correct and count are the
  // headline metric: masked accuracy, or for ELECTRA detection accuracy over
  // every real unit.
  MaskedLoss loss;
  // Named parts worth logging on their own (ELECTRA: "generator" MLM,
  // "detection" over every unit, then detection_parts()). Detached.
  std::vector<std::pair<std::string, MaskedLoss>> parts;
  // The model's predictions (DenoisingModel::forward) when the corruption's
  // own target is scored, else undefined: a mixture's per-entry scores
  // split them.
  at::Tensor predictions;
};

ObjectiveLoss objective_loss(DenoisingModel& model, const Corrupted& batch, const UnitSpec& units);

// ELECTRA's detection seen from each side, from the model's logits [M, 1]
// on a detect batch: "replaced" and "kept", the loss and the right calls
// (at 0.5) on the replaced and on the kept units alone; "ranked", of the k
// units the model scores highest (k = the number replaced), how many were
// replaced, with no loss (0). A model that guesses calls the same share of
// both sides replaced, and its ranking catches the replaced share.
std::vector<std::pair<std::string, MaskedLoss>> detection_parts(const at::Tensor& logits, const Corrupted& detect);

// The units the headline loss is taken on: `units` itself, or for a latent
// target continuous units of the model's width (no accuracy, no PSNR peak).
UnitSpec scored_units(const UnitSpec& units, const ModelOptions& options);

}  // namespace cloze
