#include "cloze/train/adamw_step.h"

#include <ATen/ops/zeros_like.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/version.h>

#include <tuple>
#include <vector>

#include "cloze/core/error.h"

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
#define CLOZE_HAS_FUSED_ADAMW 0
#endif

namespace cloze {

bool AdamWStep::fused_on(const c10::Device& device) { return CLOZE_HAS_FUSED_ADAMW && device.is_cuda(); }

namespace {

c10::Device device_of(torch::optim::AdamW& optimizer) {
  for (auto& group : optimizer.param_groups())
    for (auto& parameter : group.params()) return parameter.device();
  return c10::Device(c10::kCPU);
}

}  // namespace

AdamWStep::AdamWStep(torch::optim::AdamW& optimizer)
    : optimizer_(optimizer), fused_(fused_on(device_of(optimizer))) {}

double AdamWStep::clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm) {
  return fused_ ? fused_clip_grad_norm(parameters, max_norm) : torch::nn::utils::clip_grad_norm_(parameters, max_norm);
}

void AdamWStep::step() {
  if (fused_)
    fused_step();
  else
    optimizer_.step();
}

#if CLOZE_HAS_FUSED_ADAMW

double AdamWStep::fused_clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm) {
  std::vector<at::Tensor> grads;
  for (const auto& parameter : parameters)
    if (parameter.grad().defined()) grads.push_back(parameter.grad());
  if (grads.empty()) return 0.0;
  const at::Tensor norm = at::linalg_vector_norm(at::stack(at::_foreach_norm(grads, 2)), 2);
  at::_foreach_mul_(grads, (max_norm / (norm + 1e-6)).clamp_max(1.0));
  return norm.item<double>();
}

void AdamWStep::fused_step() {
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
    if (options.amsgrad()) throw Error("AdamWStep: the fused step has no amsgrad");
    // The kernel reads the step count but leaves counting to its caller, as
    // torch.optim does before each fused call.
    at::_foreach_add_(steps, 1.0);
    at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps, options.lr(),
                      std::get<0>(options.betas()), std::get<1>(options.betas()), options.weight_decay(),
                      options.eps(), /*amsgrad=*/false, /*maximize=*/false);
  }
}

#else

// fused_on() never holds here.
double AdamWStep::fused_clip_grad_norm(const std::vector<at::Tensor>&, double) {
  throw Error("AdamWStep: no fused kernels in this LibTorch");
}
void AdamWStep::fused_step() { throw Error("AdamWStep: no fused kernels in this LibTorch"); }

#endif

}  // namespace cloze
