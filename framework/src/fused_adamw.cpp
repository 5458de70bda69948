#include "cloze/fused_adamw.h"

#include <ATen/ops/zeros_like.h>
#include <torch/version.h>

#include <tuple>
#include <vector>

#include "cloze/error.h"

#if TORCH_VERSION_MAJOR >= 2
#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_norm.h>
#include <ATen/ops/_fused_adamw.h>
#include <ATen/ops/linalg_vector_norm.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/stack.h>
#define CLOZE_HAS_FUSED_ADAMW 1
#else
#include <torch/nn/utils/clip_grad.h>
#define CLOZE_HAS_FUSED_ADAMW 0
#endif

namespace cloze {

bool FusedAdamW::available(const c10::Device& device) { return CLOZE_HAS_FUSED_ADAMW && device.is_cuda(); }

FusedAdamW::FusedAdamW(torch::optim::AdamW& optimizer) : optimizer_(optimizer) {}

#if CLOZE_HAS_FUSED_ADAMW

namespace {

std::vector<at::Tensor> gradients(torch::optim::AdamW& optimizer) {
  std::vector<at::Tensor> grads;
  for (auto& group : optimizer.param_groups())
    for (auto& parameter : group.params())
      if (parameter.grad().defined()) grads.push_back(parameter.grad());
  return grads;
}

}  // namespace

double FusedAdamW::clip_grad_norm(double max_norm) {
  std::vector<at::Tensor> grads = gradients(optimizer_);
  if (grads.empty()) return 0.0;
  const at::Tensor norm = at::linalg_vector_norm(at::stack(at::_foreach_norm(grads, 2)), 2);
  at::_foreach_mul_(grads, (max_norm / (norm + 1e-6)).clamp_max(1.0));
  return norm.item<double>();
}

void FusedAdamW::step() {
  auto& state = optimizer_.state();
  for (auto& group : optimizer_.param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
    for (auto& parameter : group.params()) {
      if (!parameter.grad().defined()) continue;
      const void* key = parameter.unsafeGetTensorImpl();
      auto found = state.find(parameter.unsafeGetTensorImpl());
      if (found == state.end()) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(at::zeros_like(parameter, at::MemoryFormat::Preserve));
        fresh->exp_avg_sq(at::zeros_like(parameter, at::MemoryFormat::Preserve));
        found = state.emplace(parameter.unsafeGetTensorImpl(), std::move(fresh)).first;
      }
      auto& moments = static_cast<torch::optim::AdamWParamState&>(*found->second);
      auto device_step = device_steps_.find(key);
      if (device_step == device_steps_.end())
        device_step = device_steps_
                          .emplace(key, at::scalar_tensor(static_cast<double>(moments.step()),
                                                          at::TensorOptions(at::kFloat).device(parameter.device())))
                          .first;
      moments.step(moments.step() + 1);
      params.push_back(parameter);
      grads.push_back(parameter.grad());
      exp_avgs.push_back(moments.exp_avg());
      exp_avg_sqs.push_back(moments.exp_avg_sq());
      steps.push_back(device_step->second);
    }
    if (params.empty()) continue;
    if (options.amsgrad()) throw Error("FusedAdamW: amsgrad is not supported");
    // The kernel reads the step count but leaves counting to its caller, as
    // torch.optim does before each fused call.
    at::_foreach_add_(steps, 1.0);
    at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps, options.lr(),
                      std::get<0>(options.betas()), std::get<1>(options.betas()), options.weight_decay(),
                      options.eps(), /*amsgrad=*/false, /*maximize=*/false);
  }
}

#else

// Without the fused kernels, the same clipping and step, unfused.
double FusedAdamW::clip_grad_norm(double max_norm) {
  std::vector<at::Tensor> parameters;
  for (auto& group : optimizer_.param_groups())
    for (auto& parameter : group.params()) parameters.push_back(parameter);
  return torch::nn::utils::clip_grad_norm_(parameters, max_norm);
}

void FusedAdamW::step() { optimizer_.step(); }

#endif

}  // namespace cloze
