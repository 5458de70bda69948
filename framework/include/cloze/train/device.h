// Where a run computes: device choice from the config, moving batches there,
// and bf16 autocast on CUDA.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>

#include "cloze/core/corrupted.h"

namespace cloze {

// "auto" → CUDA when available, else CPU; "cuda" without a GPU is an error.
c10::Device resolve_device(const std::string& name);

// The same batch on `device`; copies are non-blocking from pinned memory. On
// CUDA a padding mask that masks nothing is left out (the model reads that as
// no padding), so attention can take its mask-free flash kernel.
Corrupted to_device(const Corrupted& corrupted, const c10::Device& device);

// The same batch in page-locked host memory, which a copy to a GPU reads
// without staging it first (needs CUDA).
Corrupted pinned(const Corrupted& corrupted);

// Sets the intra-op thread count; 0 = the cores available to this process,
// divided among the `sharing` processes of a data-parallel run on this machine.
int set_threads(int64_t requested, int sharing = 1);

// Keeps freed host memory in the process for reuse instead of handing large
// blocks back to the kernel at once, as glibc does by default: every step
// frees and reallocates the same activations, and memory that comes back from
// the kernel is faulted in and zeroed page by page. Call once, before training.
void keep_freed_host_memory();

// Waits for the work queued on `device` (nothing to wait for on the CPU), so
// that a host clock read after it times that work.
void synchronize(const c10::Device& device);

// The most memory the caching allocator has held for tensors on `device`
// since the last reset_peak_memory (0 on the CPU, where there is no such
// allocator to ask).
int64_t peak_memory_bytes(const c10::Device& device);
void reset_peak_memory(const c10::Device& device);

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
