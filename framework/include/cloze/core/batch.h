// A collated batch of samples as the modality produced them, before corruption.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "cloze/core/grid.h"

namespace cloze {

struct Batch {
  at::Tensor units;    // [B, N] int64 ids (discrete) or [B, N, D] float32 (continuous)
  at::Tensor padding;  // [B, N] bool, true = not a unit (filler after the sample's end)
  at::Tensor labels;   // [B] int64 class of each sample, -1 where unlabelled
  Grid grid;           // layout of the N units of every sample

  // Dataset index of each row and the epoch it was drawn in: together with the
  // run's seed they key every random choice a corruption makes for that row, so
  // a row is corrupted the same way whatever thread or batch it lands in.
  std::vector<int64_t> sample_ids;
  int64_t epoch = 0;
  // How far training is when this batch is used, from 0 to 1: its optimizer
  // step over train.steps. Scheduled corruption parameters take their value
  // here (cloze/core/schedule.h).
  double training_fraction = 0;

  int64_t size() const { return units.size(0); }
};

}  // namespace cloze
