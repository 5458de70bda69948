// data2vec's targets (Baevski et al. 2022): what an exponential-moving-average
// teacher, seeing the clean input, makes of it. The student, seeing the
// corrupted input, regresses them at the corrupted units. The same for text,
// images and audio: only the corruption that hides units differs.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "cloze/core/corrupted.h"
#include "cloze/model/model.h"

namespace cloze {

// x [B, N, C] normalised per row and channel over the row's real units
// (padding [B, N] bool, true = filler, or undefined = none): F.instance_norm
// on x.transpose(1, 2), eps 1e-5, with filler left out of the statistics.
at::Tensor instance_norm_over_units(const at::Tensor& x, const at::Tensor& padding);

// The targets [M, dim] at corrupted.loss_mask (row-major), from `model`'s
// teacher on the uncorrupted units (corrupted.target, which an in-place
// corruption keeps whole): the mean of its top options().averaged_layers()
// block outputs, each instance-normalised first. No gradients; the teacher
// runs in eval mode, without dropout.
at::Tensor latent_targets(DenoisingModelImpl& model, const Corrupted& corrupted);

// The teacher's decay for the update after step `step` (0-based): annealed
// linearly from ema_decay to ema_end_decay over ema_anneal_steps (0 =
// `total_steps`), then held, as data2vec's get_annealed_rate.
double teacher_decay(const ModelOptions& options, int64_t step, int64_t total_steps);

}  // namespace cloze
