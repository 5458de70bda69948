// The one training loop every objective and modality shares: AdamW, warmup
// then decay, clipping and accumulation, periodic eval on held-out data,
// metrics as JSON lines, checkpoints and a safetensors export.
#pragma once

#include <filesystem>

#include "cloze/config/experiment.h"
#include "cloze/core/params.h"
#include "cloze/core/registry.h"
#include "cloze/train/train_step.h"  // the [train] and [eval] schemas

namespace cloze {

// How a `cloze train` invocation runs, beyond the config.
struct TrainControl {
  std::filesystem::path resume;  // a checkpoint to resume from; empty: the run folder's latest, if any
  int64_t stop_at = -1;          // stop (with a checkpoint) once this many steps are done; the schedule still
                                 // follows train.steps. -1: train to the end
};

struct TrainSummary {
  int64_t steps = 0;       // steps done when train() returned
  bool leader = true;      // rank 0 (or the only process): the eval results below are its
  bool finished = false;   // all train.steps done, weights exported
  int stopped_by_signal = 0;  // SIGINT or SIGTERM that stopped it early, else 0
  double first_eval_loss = 0, last_eval_loss = 0;
  double first_eval_accuracy = 0, last_eval_accuracy = 0;      // ids only
  std::string first_eval_quality, last_eval_quality;          // quality_text (metrics.h)
  std::filesystem::path run_dir;
};

// Trains the experiment into its run folder ([run] dir) and returns the eval
// results at the first and the last step. A folder with a checkpoint resumes
// from it: model, optimizer, schedule, step, data position and random state,
// so that on the CPU the resumed run's losses equal an uninterrupted run's bit
// for bit; metrics lines after the checkpoint's step are dropped. SIGINT or
// SIGTERM stops after the current step with a checkpoint (stop_signal.h). A
// loss or gradient that is not finite stops the run with a checkpoint of the
// step before, or with train.skip_nonfinite = N, skips the update and stops
// after N such steps in a row.
//
// Under torchrun's environment (world.h) the run is data parallel: each rank
// trains on its shard of every batch (train.batch_size is the global batch)
// and the gradients are summed over the ranks (collectives.h), so the run is
// the one a single process would do, up to float rounding. Rank 0 evaluates
// and writes metrics, checkpoints and the weights; every rank resumes from
// the run folder's checkpoint.
TrainSummary train(const Experiment& experiment, Registry& registry, const TrainControl& control = {});

}  // namespace cloze
