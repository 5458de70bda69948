#include "cloze/model/latent_target.h"

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>

#include "cloze/core/error.h"
#include "cloze/core/shape_text.h"

namespace cloze {

at::Tensor instance_norm_over_units(const at::Tensor& x, const at::Tensor& padding) {
  if (!padding.defined()) {
    const at::Tensor mean = x.mean({1}, /*keepdim=*/true);
    const at::Tensor variance = (x - mean).pow(2).mean({1}, /*keepdim=*/true);
    return (x - mean) * (variance + 1e-5).rsqrt();
  }
  const at::Tensor real = padding.logical_not().unsqueeze(-1).to(x.scalar_type());  // [B, N, 1]
  const at::Tensor count = real.sum({1}, /*keepdim=*/true).clamp_min(1);
  const at::Tensor mean = (x * real).sum({1}, /*keepdim=*/true) / count;
  const at::Tensor variance = ((x - mean) * real).pow(2).sum({1}, /*keepdim=*/true) / count;
  return (x - mean) * (variance + 1e-5).rsqrt();
}

at::Tensor latent_targets(DenoisingModelImpl& model, const Corrupted& corrupted) {
  const auto teacher = model.teacher();
  if (!teacher) throw Error("model: latent targets need a model built with target = \"latent\"");
  if (!corrupted.target.defined() || corrupted.target.sizes().slice(0, 2) != corrupted.input.sizes().slice(0, 2))
    throw Error("latent target: the batch's target is " + shape_of(corrupted.target) +
                ", expected the clean units over the input's " + shape_of(corrupted.input) +
                ", as an in-place corruption gives");
  at::NoGradGuard no_grad;
  teacher->eval();
  Corrupted clean = corrupted;
  clean.input = corrupted.target;
  clean.input_masked = at::Tensor();
  const std::vector<at::Tensor> outputs = teacher->block_outputs(clean);
  const auto averaged = static_cast<std::size_t>(model.options().averaged_layers());
  at::Tensor sum;
  for (std::size_t i = outputs.size() - averaged; i < outputs.size(); ++i) {
    const at::Tensor normalised = instance_norm_over_units(outputs[i].to(at::kFloat), corrupted.input_padding);
    sum = sum.defined() ? sum + normalised : normalised;
  }
  const at::Tensor mean = sum / static_cast<double>(averaged);  // [B, N, dim]
  const at::Tensor rows = corrupted.loss_mask.reshape({-1}).nonzero().squeeze(1);
  return mean.reshape({-1, mean.size(2)}).index_select(0, rows);  // [M, dim]
}

double teacher_decay(const ModelOptions& options, int64_t step, int64_t total_steps) {
  const int64_t anneal = options.ema_anneal_steps > 0 ? options.ema_anneal_steps : total_steps;
  if (anneal <= 0 || step >= anneal) return options.ema_end_decay;
  const double done = static_cast<double>(step) / static_cast<double>(anneal);
  return options.ema_decay + (options.ema_end_decay - options.ema_decay) * done;
}

}  // namespace cloze
