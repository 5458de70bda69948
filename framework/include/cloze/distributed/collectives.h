// The collectives a data-parallel run needs, on c10d's process groups: the
// ranks meet through a TCPStore at MASTER_ADDR:MASTER_PORT (rank 0 serves it,
// as under torchrun), then talk through ProcessGroupGloo on the CPU, or
// ProcessGroupNCCL on CUDA where the LibTorch was built with it. The c10d and
// Gloo headers stay in collectives.cpp.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "cloze/distributed/world.h"

namespace cloze {

class Collectives {
 public:
  // Rendezvous with the other ranks of `world` (which must be distributed) for
  // tensors on `device`; throws cloze::Error naming the address when the
  // store cannot be reached within `timeout_s`. A collective waits as long
  // for the slowest rank: 30 minutes, as torch.distributed, covers rank 0
  // evaluating or saving a large checkpoint while the others wait.
  Collectives(const World& world, const c10::Device& device, double timeout_s = 1800);
  ~Collectives();
  Collectives(const Collectives&) = delete;
  Collectives& operator=(const Collectives&) = delete;

  int rank() const { return world_.rank; }
  int size() const { return world_.size; }

  // Sums `tensor` over the ranks, in place; blocks until done.
  void all_reduce_sum(at::Tensor& tensor);

  // A sum over the ranks running in the background: wait() blocks until
  // `tensor` holds it.
  class Pending {
   public:
    virtual ~Pending() = default;
    virtual void wait() = 0;
  };
  std::unique_ptr<Pending> all_reduce_sum_async(at::Tensor& tensor);

  // Overwrites `tensors` on every rank with rank 0's.
  void broadcast_from_leader(std::vector<at::Tensor>& tensors);

  // The largest of every rank's `value`, on every rank.
  int64_t max(int64_t value);

  void barrier();

 private:
  struct Group;  // the c10d store and process group
  World world_;
  c10::Device device_;  // where the tensors it reduces live
  std::unique_ptr<Group> group_;
};

}  // namespace cloze
