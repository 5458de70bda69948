// Training checkpoints: model, optimizer, step and data position in one
// file (the random state is a function of the step: trainer.cpp), written durably (cloze/durable_file.h), with a `latest`
// pointer that only ever names a complete checkpoint, and only the newest
// `keep` kept.
#pragma once

#include <cstdint>
#include <filesystem>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

namespace cloze {

struct CheckpointState {
  int64_t step = 0;        // optimizer steps taken
  int64_t next_batch = 0;  // the loader's position
  int64_t skipped_nonfinite = 0;  // updates skipped so far (train.skip_nonfinite)
  double train_flops = 0;  // training FLOPs so far, every rank's together (cloze/flops.h)
};

// Writes <dir>/checkpoint-<step>.pt, then points <dir>/latest at it, then
// deletes the oldest beyond `keep`. A failed write (full disk, read-only
// folder) throws cloze::Error naming the file and the reason, and leaves the
// earlier checkpoints and the pointer as they were.
std::filesystem::path save_checkpoint(const std::filesystem::path& dir, const torch::nn::Module& model,
                                      const torch::optim::Optimizer& optimizer, const CheckpointState& state,
                                      int64_t keep);

// The checkpoint <dir>/latest names (the newest checkpoint-<step>.pt for runs
// without the pointer), or an empty path when there is none.
std::filesystem::path latest_checkpoint(const std::filesystem::path& dir);

// Restores model and optimizer; returns the saved state.
CheckpointState load_checkpoint(const std::filesystem::path& file, torch::nn::Module& model,
                                torch::optim::Optimizer& optimizer);

}  // namespace cloze
