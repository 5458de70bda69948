// The clipping and AdamW update of one training step. On CUDA with LibTorch
// 2.x they run as a few multi-tensor kernels over all parameters, what
// torch.optim.AdamW(fused=True) and clip_grad_norm_'s foreach path launch,
// instead of about ten small kernels per parameter tensor: for BERT-base, some
// 2,000 launches a step. Elsewhere (the CPU, LibTorch 1.13) they are LibTorch's
// own clip_grad_norm_ and AdamW::step(). Either way the moments stay in the
// torch::optim::AdamW it is given, so checkpoints and resumes are the same.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/optim/adamw.h>

#include <unordered_map>
#include <vector>

namespace cloze {

class AdamWStep {
 public:
  // Whether this LibTorch has the fused kernels for parameters on `device`.
  static bool fused_on(const c10::Device& device);

  // Fused when the optimizer's parameters live where fused_on() holds.
  explicit AdamWStep(torch::optim::AdamW& optimizer);

  bool fused() const { return fused_; }

  // As torch::nn::utils::clip_grad_norm_ over `parameters` (those without a
  // gradient are left out): returns the global L2 norm (reading it back to
  // the host) and scales the gradients by max_norm / (norm + 1e-6) when that
  // is below 1.
  double clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm);

  // One AdamW step of every parameter group, as torch::optim::AdamW::step().
  void step();

 private:
  torch::optim::AdamW& optimizer_;
  const bool fused_;
  // Fused: each parameter's step count as a float tensor on its device, where
  // the kernel reads it; it mirrors the host count in the optimizer's state,
  // from which it starts (so a resumed run continues it).
  std::unordered_map<const void*, at::Tensor> device_steps_;

  double fused_clip_grad_norm(const std::vector<at::Tensor>& parameters, double max_norm);
  void fused_step();
};

}  // namespace cloze
