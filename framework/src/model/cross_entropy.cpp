#include "cloze/model/cross_entropy.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>

namespace cloze {

namespace {

// Rows per block: a block of a few thousand classes stays within L2, so each
// block's passes read the logits from memory once.
int64_t block_rows(int64_t classes) { return std::max<int64_t>(1, (256 << 10) / (classes * 4)); }

class CrossEntropy : public torch::autograd::Function<CrossEntropy> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* context, const at::Tensor& logits,
                            const at::Tensor& targets) {
    const at::Tensor scores = logits.contiguous();
    const int64_t rows = scores.size(0), step = block_rows(scores.size(1));
    at::Tensor log_sum_exp = at::empty({rows}, scores.options());  // [M]
    at::parallel_for(0, (rows + step - 1) / step, 1, [&](int64_t first_block, int64_t end_block) {
      // Grad mode is per thread: the intra-op threads do not inherit the
      // no-grad of an autograd function's forward and backward, and out=
      // ops refuse inputs that require grad.
      const c10::NoGradGuard no_grad;
      for (int64_t block = first_block; block < end_block; ++block) {
        const int64_t first = block * step, end = std::min(rows, first + step);
        const at::Tensor part = scores.slice(0, first, end);
        const at::Tensor highest = part.amax(1, /*keepdim=*/true);
        at::Tensor out = log_sum_exp.slice(0, first, end);
        out.copy_(at::sub(part, highest).exp_().sum(1).log_().add_(highest.squeeze(1)));
      }
    });
    context->save_for_backward({scores, targets, log_sum_exp});
    const at::Tensor target_scores = scores.gather(1, targets.unsqueeze(1)).squeeze(1);
    return at::sub(log_sum_exp, target_scores).mean();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list grads) {
    const auto saved = context->get_saved_variables();
    const at::Tensor& scores = saved[0];
    const at::Tensor& targets = saved[1];
    const at::Tensor& log_sum_exp = saved[2];
    const int64_t rows = scores.size(0), step = block_rows(scores.size(1));
    // d loss / d logits[i] = (softmax(logits[i]) - onehot(targets[i])) * g / M,
    // and scale * softmax = exp(logits - (logsumexp - log scale)).
    const double scale = grads[0].item<double>() / static_cast<double>(rows);
    const at::Tensor shift = at::sub(log_sum_exp, std::log(std::abs(scale))).unsqueeze(1);  // [M, 1]
    at::Tensor grad = at::empty_like(scores);
    at::parallel_for(0, (rows + step - 1) / step, 1, [&](int64_t first_block, int64_t end_block) {
      const c10::NoGradGuard no_grad;  // as in forward
      for (int64_t block = first_block; block < end_block; ++block) {
        const int64_t first = block * step, end = std::min(rows, first + step);
        at::Tensor part = grad.slice(0, first, end);
        at::sub_out(part, scores.slice(0, first, end), shift.slice(0, first, end)).exp_();
      }
    });
    if (scale < 0) grad.neg_();
    grad.scatter_add_(1, targets.unsqueeze(1), at::full({rows, 1}, -scale, grad.options()));
    return {grad, at::Tensor()};
  }
};

}  // namespace

at::Tensor cross_entropy(const at::Tensor& logits, const at::Tensor& targets) {
  if (!logits.device().is_cpu() || logits.scalar_type() != at::kFloat || logits.dim() != 2 ||
      targets.scalar_type() != at::kLong || !logits.requires_grad())
    return at::cross_entropy_loss(logits, targets);
  return CrossEntropy::apply(logits, targets);
}

}  // namespace cloze
