// The one training loop every objective and modality shares: AdamW, warmup
// then decay, clipping and accumulation, periodic eval on held-out data,
// metrics as JSON lines, checkpoints and a safetensors export.
#pragma once

#include <filesystem>

#include "cloze/experiment.h"
#include "cloze/train_step.h"  // the [train] and [eval] schemas
#include "cloze/params.h"
#include "cloze/registry.h"

namespace cloze {

struct TrainSummary {
  int64_t steps = 0;
  double first_eval_loss = 0, last_eval_loss = 0;
  double first_eval_accuracy = 0, last_eval_accuracy = 0;
  std::filesystem::path run_dir;
};

// Trains the experiment into its run folder ([run] dir) and returns the eval
// results at the first and the last step.
TrainSummary train(const Experiment& experiment, const Registry& registry);

}  // namespace cloze
