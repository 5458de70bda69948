// Where a run computes: device choice from the config, moving batches there,
// and bf16 autocast on CUDA.
#pragma once

#include <c10/core/Device.h>

#include <string>

#include "cloze/corrupted.h"

namespace cloze {

// "auto" → CUDA when available, else CPU; "cuda" without a GPU is an error.
c10::Device resolve_device(const std::string& name);

// The same batch on `device`; copies are non-blocking from pinned memory.
Corrupted to_device(const Corrupted& corrupted, const c10::Device& device);

// Sets the intra-op thread count; 0 = the cores available to this process,
// divided among the `sharing` processes of a data-parallel run on this machine.
int set_threads(int64_t requested, int sharing = 1);

// Keeps freed host memory in the process for reuse instead of handing large
// blocks back to the kernel at once, as glibc does by default: every step
// frees and reallocates the same activations, and memory that comes back from
// the kernel is faulted in and zeroed page by page. Call once, before training.
void keep_freed_host_memory();

// bf16 autocast for the lifetime of the guard when `enabled` and on CUDA.
class AutocastGuard {
 public:
  AutocastGuard(const c10::Device& device, bool enabled);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_;
};

}  // namespace cloze
