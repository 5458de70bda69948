// Training cost in floating-point operations, counted from the model's shape
// and the lengths a batch actually runs through it, so that objectives can be
// compared at equal cost: MAE's fill mode runs its encoder on a quarter of the
// units, T5's sequence mode adds a decoder over short targets, BERT's head
// scores only the masked positions.
//
// The count is that of the matrix products, two operations per multiply-add,
// as PaLM's and Chinchilla's model-FLOPs accounting does: the linear layers,
// the attention scores and their weighted sum over the padded lengths the
// kernels process, and the head over the M scored positions. Embedding
// lookups, norms, activations and softmax are left out (they are linear in
// the width, not quadratic). Backward costs twice the forward, so a training
// step is three forwards.
#pragma once

#include "cloze/core/corrupted.h"
#include "cloze/core/units.h"
#include "cloze/model/model.h"

namespace cloze {

// One forward pass of a model built with `options` for `units` on `batch`,
// in the batch's reconstruction mode.
double forward_flops(const ModelOptions& options, const UnitSpec& units, const Corrupted& batch);

// Forward and backward: 3 x forward_flops; with ELECTRA's generator, 3 x
// (generator + discriminator over every real unit); with data2vec's teacher,
// plus its forward on the clean input.
double training_flops(const ModelOptions& options, const UnitSpec& units, const Corrupted& batch);

}  // namespace cloze
