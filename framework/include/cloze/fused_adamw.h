// AdamW and gradient-norm clipping on CUDA as a few multi-tensor kernels over
// all parameters, what torch.optim.AdamW(fused=True) and clip_grad_norm_'s
// foreach path launch, instead of about ten small kernels per parameter
// tensor: for BERT-base, some 2,000 launches a step. The moments stay in the
// torch::optim::AdamW it is given, so checkpoints and resumes are those of
// the unfused step. The kernels are LibTorch 2.x's (_fused_adamw_); on an
// older LibTorch the same clipping and step run unfused.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/optim/adamw.h>

#include <unordered_map>

namespace cloze {

class FusedAdamW {
 public:
  // Whether this LibTorch has the fused kernels for parameters on `device`
  // (where it does not, this class runs the unfused step).
  static bool available(const c10::Device& device);

  explicit FusedAdamW(torch::optim::AdamW& optimizer);

  // As torch::nn::utils::clip_grad_norm_ over every parameter with a
  // gradient: returns the global L2 norm (reading it back to the host) and
  // scales the gradients by max_norm / (norm + 1e-6) when that is below 1.
  double clip_grad_norm(double max_norm);

  // One AdamW step of every parameter group, as torch::optim::AdamW::step().
  void step();

 private:
  torch::optim::AdamW& optimizer_;
  // Each parameter's step count as a float tensor on its device, where the
  // kernel reads it; it mirrors the host count in the optimizer's state, from
  // which it starts (so a resumed run continues it).
  std::unordered_map<const void*, at::Tensor> device_steps_;
};

}  // namespace cloze
