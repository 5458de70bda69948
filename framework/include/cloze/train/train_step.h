// One optimizer step of the shared training loop, on its own so that the
// trainer and the benchmarks run the same code: what tools/bench times is
// what `cloze train` does.
#pragma once

#include <torch/optim/adamw.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cloze/core/corrupted.h"
#include "cloze/core/params.h"
#include "cloze/core/units.h"
#include "cloze/distributed/collectives.h"
#include "cloze/distributed/gradient_sync.h"
#include "cloze/model/loss.h"
#include "cloze/model/model.h"
#include "cloze/model/objective.h"
#include "cloze/train/adamw_step.h"

namespace cloze {

// [train] and [eval] sections.
Schema train_schema();
Schema eval_schema();

struct TrainOptions {
  int64_t steps, batch_size, accumulate, warmup_steps, log_every, checkpoint_every, keep_checkpoints,
      skip_nonfinite;
  double lr, min_lr_ratio, weight_decay, beta1, beta2, eps, grad_clip;
  std::string decay;
  int64_t eval_every, eval_batches;

  // Reads and validates [train] and [eval], naming the key at fault.
  static TrainOptions from(const Params& train, const Params& eval);
};

// AdamW with two groups: weight decay on matrices, none on norms, biases and
// mask embeddings (every parameter of rank < 2), as BERT and MAE train. Fixed
// parameters (sin-cos positions) are not optimised at all.
std::unique_ptr<torch::optim::AdamW> make_optimizer(DenoisingModel& model, const TrainOptions& options);
// The same two groups over any `parameters` (fine-tuning adds its head), each
// group with `options` and the rank < 2 one without weight decay.
std::unique_ptr<torch::optim::AdamW> grouped_adamw(const std::vector<at::Tensor>& parameters,
                                                   const torch::optim::AdamWOptions& options);

struct StepResult {
  std::vector<MaskedLoss> losses;  // one per micro-batch; in a data-parallel run, over all ranks' shards
  // The objective's named parts (objective.h), of every micro-batch in turn;
  // in a data-parallel run, over all ranks' shards, as the losses.
  std::vector<std::pair<std::string, MaskedLoss>> parts;
  bool applied = true;             // false: a loss or the gradient was not finite, and the update was skipped
};

class TrainStep {
 public:
  // With `collectives`, a data-parallel step: each rank's micro-batches are
  // its shard of the global ones, and the step is the one a single process
  // would take on the global batch.
  TrainStep(DenoisingModel model, torch::optim::AdamW& optimizer, UnitSpec units, const TrainOptions& options,
            c10::Device device, bool bf16, Collectives* collectives = nullptr);

  // Step `step` (0-based) of the run: sets the learning rate, then for each
  // of the `accumulate` micro-batches that `next_micro_batch` hands over: to
  // the device, forward, the objective's loss (objective.h), backward; then clips the gradient norm and takes the AdamW step, unless
  // the summed loss or the gradient norm is not finite: then the gradient is
  // dropped and the parameters and optimizer state stay as they were. That
  // check reads one scalar back to the host (clipping reads the norm anyway).
  // On CUDA with LibTorch 2.x, clipping and AdamW run as fused multi-tensor
  // kernels (adamw_step.h). An applied update moves a data2vec teacher after
  // it, by the decay of this step (latent_target.h).
  //
  // Data parallel: each micro-batch's loss is normalised by the scored units
  // of all ranks together (one small all-reduce after forward), so the summed
  // gradients are those of the global micro-batch's mean loss; the last
  // micro-batch's backward sums the gradients over the ranks as it goes
  // (gradient_sync.h). Every rank then sees the same loss and gradient norm
  // and takes the same decision.
  StepResult run(int64_t step, double lr, const std::function<Corrupted()>& next_micro_batch);

 private:
  DenoisingModel model_;
  torch::optim::AdamW& optimizer_;
  AdamWStep adamw_;  // its clipping and update
  UnitSpec units_;
  int64_t accumulate_;
  int64_t total_steps_;  // train.steps: the teacher's decay anneals over them
  double grad_clip_;
  c10::Device device_;
  bool bf16_;
  Collectives* collectives_;
  std::unique_ptr<GradientSync> gradient_sync_;  // with collectives_

  // This rank's loss scaled for the global micro-batch, and `loss` and each
  // of `parts` replaced by the one over all ranks' shards (one all-reduce).
  at::Tensor share_of_global_loss(MaskedLoss& loss, std::vector<std::pair<std::string, MaskedLoss>>& parts);
};

}  // namespace cloze
