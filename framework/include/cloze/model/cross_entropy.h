// Mean cross-entropy of logits against target ids, with a backward pass that
// writes the gradient once.
//
// LibTorch 1.13's CPU cross_entropy is log_softmax then nll_loss: forward
// writes an [M, V] log-probability tensor, and backward zero-fills another
// [M, V] tensor, scatters into it and reads both again in
// log_softmax_backward. With a vocabulary of thousands these passes are
// memory-bound. Here forward keeps only each row's log-sum-exp, and backward
// writes softmax - one-hot, scaled, in one pass. Rows are processed in blocks
// small enough to stay in cache, each block by one thread, so the result is
// the same with any thread count.
#pragma once

#include <ATen/core/Tensor.h>

namespace cloze {

// logits: [M, V] float; targets: [M] int64, each in [0, V). Returns the mean
// over rows of logsumexp(logits[i]) - logits[i, targets[i]], differentiable
// in logits. Float32 CPU logits take the blocked path; any other, LibTorch's
// at::cross_entropy_loss. M > 0.
at::Tensor cross_entropy(const at::Tensor& logits, const at::Tensor& targets);

}  // namespace cloze
