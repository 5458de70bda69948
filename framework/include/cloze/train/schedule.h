// The learning-rate schedule: linear warmup from 0, then cosine or linear
// decay to min_lr_ratio * lr at the last step, or constant.
#pragma once

#include <cstdint>
#include <string>

namespace cloze {

struct LrSchedule {
  double peak_lr;
  int64_t warmup_steps;
  int64_t total_steps;
  std::string decay;  // "cosine" | "linear" | "constant"
  double min_lr_ratio;

  double at(int64_t step) const;  // lr for optimizer step `step` (0-based)
};

}  // namespace cloze
