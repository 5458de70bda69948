#include "cloze/train/device.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/Tensor.h>
#include <malloc.h>
#include <sched.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <algorithm>
#include <array>
#include <thread>

#ifdef CLOZE_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

#include "cloze/core/error.h"

// LibTorch 2.4 replaced the CUDA-only autocast calls with per-device ones.
#define CLOZE_TORCH_HAS_DEVICE_AUTOCAST \
  (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4))

namespace cloze {

c10::Device resolve_device(const std::string& name) {
  const bool have_cuda = torch::cuda::is_available();
  if (name == "auto") return have_cuda ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU);
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda") {
    if (!have_cuda) throw Error("run.device = \"cuda\" but no CUDA device is available to this LibTorch");
    return c10::Device(c10::kCUDA);
  }
  throw Error("run.device = \"" + name + "\": expected auto, cpu or cuda");
}

namespace {

// Every tensor of a batch, so that each pass over them names them once.
std::array<at::Tensor*, 9> tensors_of(Corrupted& c) {
  return {&c.input,  &c.input_positions, &c.input_padding,  &c.target, &c.loss_mask,
          &c.decoder_input, &c.input_masked, &c.target_padding, &c.entry};
}

// A padding mask that masks nothing still costs the fused attention kernels
// their fastest path (flash attention takes no mask), so on the way to a GPU
// it is dropped: the model reads an undefined padding as "all real". It is
// looked at on the host, before the copy, where that costs no synchronisation.
void drop_empty_padding(at::Tensor& padding) {
  if (padding.defined() && padding.device().is_cpu() && !padding.any().item<bool>()) padding = at::Tensor();
}

}  // namespace

Corrupted pinned(const Corrupted& c) {
  Corrupted out = c;
  for (at::Tensor* tensor : tensors_of(out))
    if (tensor->defined() && tensor->device().is_cpu() && !tensor->is_pinned()) *tensor = tensor->pin_memory();
  return out;
}

Corrupted to_device(const Corrupted& c, const c10::Device& device) {
  Corrupted out = device.is_cuda() ? pinned(c) : c;
  if (device.is_cuda()) {
    drop_empty_padding(out.input_padding);
    drop_empty_padding(out.target_padding);
  }
  for (at::Tensor* tensor : tensors_of(out))
    if (tensor->defined() && tensor->device() != device) *tensor = tensor->to(device, /*non_blocking=*/true);
  return out;
}

int set_threads(int64_t requested, int sharing) {
  int threads = static_cast<int>(requested);
  if (threads <= 0) {
    cpu_set_t set;
    threads = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                          : static_cast<int>(std::thread::hardware_concurrency());
    threads /= std::max(sharing, 1);
  }
  at::set_num_threads(std::max(threads, 1));
  return at::get_num_threads();
}

void synchronize(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

#ifdef CLOZE_CUDA
namespace {

c10::DeviceIndex index_of(const c10::Device& device) {
  return device.has_index() ? device.index() : c10::cuda::current_device();
}

}  // namespace

int64_t peak_memory_bytes(const c10::Device& device) {
  if (!device.is_cuda()) return 0;
  // Element 0 of each statistic is the aggregate over the allocator's pools.
  return c10::cuda::CUDACachingAllocator::getDeviceStats(index_of(device)).allocated_bytes[0].peak;
}

void reset_peak_memory(const c10::Device& device) {
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(index_of(device));
}
#else
int64_t peak_memory_bytes(const c10::Device&) { return 0; }
void reset_peak_memory(const c10::Device&) {}
#endif

AutocastGuard::AutocastGuard(const c10::Device& device, bool enabled) : active_(enabled && device.is_cuda()) {
  if (!active_) return;
#if CLOZE_TORCH_HAS_DEVICE_AUTOCAST
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(true);
#endif
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
#if CLOZE_TORCH_HAS_DEVICE_AUTOCAST
  at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
  at::autocast::set_enabled(false);
#endif
  at::autocast::clear_cache();
}

void keep_freed_host_memory() {
#ifdef __GLIBC__
  // Blocks up to glibc's largest mmap threshold (32 MiB on 64-bit) come from
  // the heap, and the heap is not trimmed below 1 GiB of free space.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

}  // namespace cloze
