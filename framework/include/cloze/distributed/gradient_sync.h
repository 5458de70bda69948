// Sums a model's gradients over the ranks of a data-parallel run while
// backward is still running, as DistributedDataParallel does: the parameters
// are grouped into buckets of about `bucket_bytes`, last layers first (the
// order backward reaches them), and a bucket's all-reduce starts as soon as
// backward has finished every gradient in it. Buckets start strictly in order,
// so every rank issues the same collectives in the same sequence. (c10d's own
// Reducer would do this, but its header needs distributed-autograd headers
// that Debian's LibTorch does not ship.)
//
// Gradient accumulation all-reduces once per optimizer step: only the
// backward after arm() is summed, and the micro-batches before it accumulate
// locally.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "cloze/distributed/collectives.h"

namespace cloze {

class GradientSync {
 public:
  // `parameters`: those that train, in the model's order.
  GradientSync(std::vector<at::Tensor> parameters, Collectives& collectives, int64_t bucket_bytes = 25 << 20);
  ~GradientSync();  // removes its hooks from the parameters
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // The next backward's gradients are summed over the ranks.
  void arm();
  // After that backward: starts the buckets that backward did not complete
  // (parameters it did not reach count as zero), waits for every sum and
  // writes it into the gradients.
  void finish();

  int64_t buckets() const;
  // Buckets whose all-reduce has started since arm(): read between backward
  // and finish(), those that overlapped backward.
  int64_t buckets_started() const;

 private:
  struct State;  // see gradient_sync.cpp
  std::shared_ptr<State> state_;
};

}  // namespace cloze
