#include "cloze/distributed/collectives.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <ATen/ops/scalar_tensor.h>
#include <torch/version.h>

#include <chrono>
#include <cstdlib>

#include "cloze/core/error.h"

namespace cloze {

namespace {

// LibTorch 2.x split process groups into a front and per-device backends;
// ProcessGroupGloo and ProcessGroupNCCL became backends, which alone are all
// one device's collectives need.
#if TORCH_VERSION_MAJOR >= 2
using DeviceGroup = c10d::Backend;
#else
using DeviceGroup = c10d::ProcessGroup;
#endif

c10::intrusive_ptr<DeviceGroup> gloo_group(const c10::intrusive_ptr<c10d::Store>& store, const World& world,
                                                  std::chrono::milliseconds timeout) {
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  // As torch.distributed: GLOO_SOCKET_IFNAME picks the interface; otherwise
  // the address this host's name resolves to, or loopback.
  const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
  options->devices.push_back(interface != nullptr && *interface != '\0'
                                 ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                                 : c10d::ProcessGroupGloo::createDefaultDevice());
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, world.rank, world.size, options);
}

c10::intrusive_ptr<DeviceGroup> nccl_group(const c10::intrusive_ptr<c10d::Store>& store, const World& world,
                                                  std::chrono::milliseconds timeout) {
#ifdef USE_C10D_NCCL
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, world.rank, world.size, options);
#else
  (void)store, (void)world, (void)timeout;
  throw Error("this LibTorch was built without NCCL, so a distributed run on CUDA cannot start; build cloze "
              "against a CUDA PyTorch's LibTorch (tools/build-cuda), or set run.device = \"cpu\"");
#endif
}

class PendingWork final : public Collectives::Pending {
 public:
  explicit PendingWork(c10::intrusive_ptr<c10d::Work> work) : work_(std::move(work)) {}
  void wait() override { work_->wait(); }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
};

}  // namespace

struct Collectives::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<DeviceGroup> process_group;
};

Collectives::Collectives(const World& world, const c10::Device& device, double timeout_s)
    : world_(world), device_(device), group_(std::make_unique<Group>()) {
  if (!world.distributed()) throw Error("collectives: a run of one process has no one to talk to");
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  const std::string where = world.master_addr + ":" + std::to_string(world.master_port);
  try {
    c10d::TCPStoreOptions options;
    options.port = world.master_port;
    options.isServer = world.leader();
    options.numWorkers = static_cast<std::size_t>(world.size);
    options.timeout = timeout;
    group_->store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, options);
    group_->process_group = device.is_cuda() ? nccl_group(group_->store, world, timeout)
                                             : gloo_group(group_->store, world, timeout);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(world.rank) + " of " + std::to_string(world.size) +
                " cannot join the others through the store at " + where +
                " (MASTER_ADDR, MASTER_PORT): " + e.what());
  }
}

Collectives::~Collectives() = default;

void Collectives::all_reduce_sum(at::Tensor& tensor) { all_reduce_sum_async(tensor)->wait(); }

std::unique_ptr<Collectives::Pending> Collectives::all_reduce_sum_async(at::Tensor& tensor) {
  std::vector<at::Tensor> tensors{tensor};
  return std::make_unique<PendingWork>(group_->process_group->allreduce(tensors));
}

void Collectives::broadcast_from_leader(std::vector<at::Tensor>& tensors) {
  c10d::BroadcastOptions options;
  options.rootRank = 0;
  for (auto& tensor : tensors) {
    std::vector<at::Tensor> one{tensor};
    group_->process_group->broadcast(one, options)->wait();
  }
}

int64_t Collectives::max(int64_t value) {
  std::vector<at::Tensor> tensors{at::scalar_tensor(value, at::TensorOptions(at::kLong).device(device_))};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::MAX;
  group_->process_group->allreduce(tensors, options)->wait();
  return tensors.front().item<int64_t>();
}

void Collectives::barrier() { group_->process_group->barrier()->wait(); }

}  // namespace cloze
