// The optimizer step shared by the trainer and the benchmarks.
#include "cloze/train/train_step.h"

#include <ATen/core/Tensor.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/stack.h>

#include <algorithm>

#include <cmath>
#include <utility>

#include "cloze/model/latent_target.h"
#include "cloze/train/device.h"

namespace cloze {

Schema train_schema() {
  return {
      {"steps", ParamType::integer, int64_t{1000}, "optimizer steps"},
      {"batch_size", ParamType::integer, int64_t{32}, "samples per micro-batch"},
      {"accumulate", ParamType::integer, int64_t{1}, "micro-batches per optimizer step"},
      {"lr", ParamType::real, 5e-4, "peak learning rate"},
      {"warmup_steps", ParamType::integer, int64_t{100}, "linear warmup from 0 to lr"},
      {"decay", ParamType::string, std::string("cosine"), "after warmup: cosine, linear or constant"},
      {"min_lr_ratio", ParamType::real, 0.1, "final lr as a fraction of lr"},
      {"weight_decay", ParamType::real, 0.01, "AdamW decay; never applied to norms and biases"},
      {"beta1", ParamType::real, 0.9, "AdamW beta1"},
      {"beta2", ParamType::real, 0.98, "AdamW beta2"},
      {"eps", ParamType::real, 1e-6, "AdamW epsilon"},
      {"grad_clip", ParamType::real, 1.0, "max global gradient norm; 0 = no clipping"},
      {"log_every", ParamType::integer, int64_t{10}, "steps between metrics lines"},
      {"checkpoint_every", ParamType::integer, int64_t{0}, "steps between checkpoints; 0 = at the end only"},
      {"keep_checkpoints", ParamType::integer, int64_t{2}, "newest checkpoints kept"},
      {"skip_nonfinite", ParamType::integer, int64_t{0},
       "0 = stop at the first step whose loss or gradient is not finite; N = skip such updates and stop after N "
       "in a row"},
  };
}

Schema eval_schema() {
  return {
      {"every", ParamType::integer, int64_t{100}, "steps between evals on the held-out split (and at 0 and the end)"},
      {"batches", ParamType::integer, int64_t{8}, "held-out batches per eval, the same ones each time"},
  };
}

TrainOptions TrainOptions::from(const Params& t, const Params& e) {
  TrainOptions o{t.integer("steps"),        t.integer("batch_size"),       t.integer("accumulate"),
                 t.integer("warmup_steps"),  t.integer("log_every"),        t.integer("checkpoint_every"),
                 t.integer("keep_checkpoints"), t.integer("skip_nonfinite"), t.real("lr"),
                 t.real("min_lr_ratio"),     t.real("weight_decay"),        t.real("beta1"),
                 t.real("beta2"),            t.real("eps"),                 t.real("grad_clip"),
                 t.string("decay"),          e.integer("every"),            e.integer("batches")};
  t.require(o.steps >= 0, "steps", "must be >= 0");
  t.require(o.batch_size >= 1, "batch_size", "must be >= 1");
  t.require(o.accumulate >= 1, "accumulate", "must be >= 1");
  t.require(o.lr > 0, "lr", "must be > 0");
  t.require(o.warmup_steps >= 0, "warmup_steps", "must be >= 0");
  t.require(o.decay == "cosine" || o.decay == "linear" || o.decay == "constant", "decay",
            "expected cosine, linear or constant");
  t.require(o.min_lr_ratio >= 0 && o.min_lr_ratio <= 1, "min_lr_ratio", "must be in [0, 1]");
  t.require(o.weight_decay >= 0, "weight_decay", "must be >= 0");
  t.require(o.beta1 >= 0 && o.beta1 < 1, "beta1", "must be in [0, 1)");
  t.require(o.beta2 >= 0 && o.beta2 < 1, "beta2", "must be in [0, 1)");
  t.require(o.eps > 0, "eps", "must be > 0");
  t.require(o.grad_clip >= 0, "grad_clip", "must be >= 0");
  t.require(o.log_every >= 1, "log_every", "must be >= 1");
  t.require(o.checkpoint_every >= 0, "checkpoint_every", "must be >= 0");
  t.require(o.keep_checkpoints >= 1, "keep_checkpoints", "must be >= 1");
  t.require(o.skip_nonfinite >= 0, "skip_nonfinite", "must be >= 0");
  e.require(o.eval_every >= 1, "every", "must be >= 1");
  e.require(o.eval_batches >= 1, "batches", "must be >= 1");
  return o;
}

std::unique_ptr<torch::optim::AdamW> grouped_adamw(const std::vector<at::Tensor>& parameters,
                                                   const torch::optim::AdamWOptions& options) {
  std::vector<at::Tensor> decayed, not_decayed;
  for (const auto& parameter : parameters)
    if (parameter.requires_grad()) (parameter.dim() >= 2 ? decayed : not_decayed).push_back(parameter);
  auto not_decayed_options = std::make_unique<torch::optim::AdamWOptions>(options);
  not_decayed_options->weight_decay(0.0);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decayed, std::make_unique<torch::optim::AdamWOptions>(options));
  groups.emplace_back(not_decayed, std::move(not_decayed_options));
  return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(options.lr()));
}

std::unique_ptr<torch::optim::AdamW> make_optimizer(DenoisingModel& model, const TrainOptions& o) {
  return grouped_adamw(model->parameters(),
                       torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay));
}

TrainStep::TrainStep(DenoisingModel model, torch::optim::AdamW& optimizer, UnitSpec units,
                     const TrainOptions& options, c10::Device device, bool bf16, Collectives* collectives)
    : model_(std::move(model)),
      optimizer_(optimizer),
      adamw_(optimizer),
      units_(std::move(units)),
      accumulate_(options.accumulate),
      total_steps_(options.steps),
      grad_clip_(options.grad_clip),
      device_(device),
      bf16_(bf16),
      collectives_(collectives) {
  if (collectives_ == nullptr) return;
  std::vector<at::Tensor> trained;
  for (const auto& parameter : model_->parameters())
    if (parameter.requires_grad()) trained.push_back(parameter);
  gradient_sync_ = std::make_unique<GradientSync>(std::move(trained), *collectives_);
}

namespace {

// A loss as sums that add over ranks: [units, loss x units, correct].
at::Tensor sums_of(const MaskedLoss& loss) {
  const auto count = static_cast<double>(loss.count);
  return at::stack({at::scalar_tensor(count, loss.loss.options().dtype(at::kDouble)),
                    loss.loss.detach().to(at::kDouble) * count, loss.correct.to(at::kDouble)});
}

MaskedLoss loss_of(const at::Tensor& sums) {
  const auto count = static_cast<int64_t>(std::llround(sums[0].item<double>()));
  const auto denominator = static_cast<double>(std::max<int64_t>(count, 1));  // a batch may score nothing
  return {(sums[1] / denominator).to(at::kFloat), sums[2].to(at::kLong), count};
}

}  // namespace

at::Tensor TrainStep::share_of_global_loss(MaskedLoss& loss, std::vector<std::pair<std::string, MaskedLoss>>& parts) {
  std::vector<at::Tensor> rows{sums_of(loss)};
  for (const auto& part : parts) rows.push_back(sums_of(part.second));
  at::Tensor totals = at::stack(rows);  // [1 + parts, 3]: one all-reduce for the loss and its parts
  collectives_->all_reduce_sum(totals);
  const MaskedLoss global = loss_of(totals[0]);
  const double share = static_cast<double>(loss.count) / static_cast<double>(std::max<int64_t>(global.count, 1));
  at::Tensor scaled = loss.loss * share;
  loss = global;
  for (std::size_t i = 0; i < parts.size(); ++i) parts[i].second = loss_of(totals[static_cast<int64_t>(i) + 1]);
  return scaled;
}

StepResult TrainStep::run(int64_t step, double lr, const std::function<Corrupted()>& next_micro_batch) {
  for (auto& group : optimizer_.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  // Gradients are dropped rather than zeroed: backward then hands its result
  // to each parameter instead of adding it to a zeroed tensor.
  for (auto& parameter : model_->parameters()) parameter.mutable_grad().reset();
  StepResult result;
  at::Tensor total;  // the micro-batches' summed loss, for the finiteness check
  for (int64_t micro = 0; micro < accumulate_; ++micro) {
    const Corrupted batch = to_device(next_micro_batch(), device_);
    MaskedLoss loss;
    std::vector<std::pair<std::string, MaskedLoss>> parts;
    {
      AutocastGuard autocast(device_, bf16_);
      ObjectiveLoss objective = objective_loss(model_, batch, units_);
      loss = std::move(objective.loss);
      parts = std::move(objective.parts);
    }
    const at::Tensor objective = collectives_ != nullptr ? share_of_global_loss(loss, parts) : loss.loss;
    for (auto& part : parts) result.parts.push_back(std::move(part));
    if (gradient_sync_ && micro == accumulate_ - 1) gradient_sync_->arm();
    (objective / static_cast<double>(accumulate_)).backward();
    total = total.defined() ? total + loss.loss.detach() : loss.loss.detach();
    result.losses.push_back(std::move(loss));
  }
  if (gradient_sync_) gradient_sync_->finish();
  const double norm = grad_clip_ > 0 ? adamw_.clip_grad_norm(model_->parameters(), grad_clip_) : 0.0;
  result.applied = std::isfinite(norm) && std::isfinite(total.item<double>());
  if (result.applied) {
    adamw_.step();
    if (model_->teacher()) model_->update_teacher(teacher_decay(model_->options(), step, total_steps_));
  } else
    for (auto& parameter : model_->parameters()) parameter.mutable_grad().reset();
  return result;
}

}  // namespace cloze
