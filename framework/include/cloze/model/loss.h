// The masked-position loss: cross-entropy on ids or mean squared error on
// values (in detect mode, the binary cross-entropy of replaced against kept),
// taken over the units where loss_mask is true and nowhere else. With
// units.normalize_targets each target unit is first normalised on its own
// (MAE's norm_pix_loss).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "cloze/core/corrupted.h"
#include "cloze/core/units.h"

namespace cloze {

struct MaskedLoss {
  at::Tensor loss;     // scalar float32, differentiable: mean over the M scored units (and their D values)
  at::Tensor correct;  // scalar int64: units whose target scores highest (discrete) or whose
                       // replaced-or-kept call is right (detect), 0 otherwise
  int64_t count = 0;   // M
};

// `predictions`: [M, V] logits, [M, D] values or [M, 1] detection logits, as DenoisingModel::forward
// returns, in the row-major order of corrupted.loss_mask. Scored in float32
// whatever their dtype. With M == 0 the loss is a zero still connected to
// `predictions`, so backward() runs as on any other step.
MaskedLoss masked_loss(const at::Tensor& predictions, const Corrupted& corrupted, const UnitSpec& units);

// A mixture's batch (corrupted.entry defined) scored per entry: element e is
// the masked loss over the rows that drew entry e, of `entries` in all. Used
// for metrics, so nothing is differentiated.
std::vector<MaskedLoss> masked_loss_per_entry(const at::Tensor& predictions, const Corrupted& corrupted,
                                              const UnitSpec& units, int64_t entries);

}  // namespace cloze
