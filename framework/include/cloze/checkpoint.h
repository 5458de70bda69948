// Training checkpoints: model, optimizer, step and random state in one file,
// written atomically (temporary file in the same folder, then renamed), with
// only the newest `keep` kept.
#pragma once

#include <cstdint>
#include <filesystem>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

namespace cloze {

struct CheckpointState {
  int64_t step = 0;        // optimizer steps taken
  int64_t next_batch = 0;  // the loader's position
};

// Writes <dir>/checkpoint-<step>.pt and deletes older ones beyond `keep`, only
// after the new one is complete.
std::filesystem::path save_checkpoint(const std::filesystem::path& dir, const torch::nn::Module& model,
                                      const torch::optim::Optimizer& optimizer, const CheckpointState& state,
                                      int64_t keep);

// The newest checkpoint-<step>.pt in `dir`, or an empty path when there is none.
std::filesystem::path latest_checkpoint(const std::filesystem::path& dir);

// Restores model, optimizer and the CPU generator; returns the saved state.
CheckpointState load_checkpoint(const std::filesystem::path& file, torch::nn::Module& model,
                                torch::optim::Optimizer& optimizer);

}  // namespace cloze
