#include "cloze/distributed/gradient_sync.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/zeros_like.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <functional>
#include <mutex>

#include "cloze/core/error.h"

namespace cloze {

namespace {

struct Bucket {
  std::vector<std::size_t> members;  // indices into the parameters
  std::vector<int64_t> offsets;      // of each member in `flat`
  at::Tensor flat;
  std::size_t ready = 0;             // members whose gradient this backward has finished
  std::unique_ptr<Collectives::Pending> sum;
};

}  // namespace

struct GradientSync::State {
  std::vector<at::Tensor> parameters;
  std::vector<std::size_t> bucket_of;  // per parameter
  std::vector<Bucket> buckets;
  Collectives& collectives;
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, uintptr_t>> hooks;  // accumulator, key

  std::mutex mutex;  // hooks may run on the autograd engine's device threads
  bool armed = false;
  std::size_t next_to_start = 0;

  State(std::vector<at::Tensor> params, Collectives& c) : parameters(std::move(params)), collectives(c) {}

  void start(Bucket& bucket) {
    for (std::size_t i = 0; i < bucket.members.size(); ++i) {
      const at::Tensor& parameter = parameters[bucket.members[i]];
      at::Tensor slot = bucket.flat.narrow(0, bucket.offsets[i], parameter.numel());
      const at::Tensor& grad = parameter.grad();
      if (grad.defined())
        slot.copy_(grad.reshape(-1));
      else
        slot.zero_();
    }
    bucket.sum = collectives.all_reduce_sum_async(bucket.flat);
  }

  // Starts, in order, every bucket whose gradients are all there.
  void start_complete_buckets() {
    while (next_to_start < buckets.size() &&
           buckets[next_to_start].ready == buckets[next_to_start].members.size())
      start(buckets[next_to_start++]);
  }

  void gradient_ready(std::size_t parameter) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed) return;
    ++buckets[bucket_of[parameter]].ready;
    start_complete_buckets();
  }
};

namespace {

// Runs after a parameter's AccumulateGrad, when its .grad holds this
// backward's result.
class GradientReady final : public torch::autograd::FunctionPostHook {
 public:
  explicit GradientReady(std::function<void()> ready) : ready_(std::move(ready)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    ready_();
    return outputs;
  }

 private:
  std::function<void()> ready_;
};

}  // namespace

GradientSync::GradientSync(std::vector<at::Tensor> parameters, Collectives& collectives, int64_t bucket_bytes)
    : state_(std::make_shared<State>(std::move(parameters), collectives)) {
  State& s = *state_;
  s.bucket_of.resize(s.parameters.size());
  // Last parameters first: backward finishes them first. A bucket holds one
  // dtype on one device, as its flat buffer must.
  int64_t bytes = 0;
  for (std::size_t i = s.parameters.size(); i-- > 0;) {
    const at::Tensor& parameter = s.parameters[i];
    if (!parameter.requires_grad()) throw Error("gradient sync: parameter " + std::to_string(i) + " does not train");
    const int64_t size = parameter.numel() * static_cast<int64_t>(parameter.element_size());
    const auto same_kind = [&](const at::Tensor& other) {
      return other.scalar_type() == parameter.scalar_type() && other.device() == parameter.device();
    };
    const bool fits = !s.buckets.empty() && bytes + size <= bucket_bytes &&
                      same_kind(s.parameters[s.buckets.back().members.front()]);
    if (!fits) {
      s.buckets.emplace_back();
      bytes = 0;
    }
    Bucket& bucket = s.buckets.back();
    bucket.offsets.push_back(bucket.members.empty() ? 0
                                                    : bucket.offsets.back() +
                                                          s.parameters[bucket.members.back()].numel());
    bucket.members.push_back(i);
    s.bucket_of[i] = s.buckets.size() - 1;
    bytes += size;
  }
  for (Bucket& bucket : s.buckets) {
    const at::Tensor& last = s.parameters[bucket.members.back()];
    bucket.flat = at::empty({bucket.offsets.back() + last.numel()}, last.options().requires_grad(false));
  }
  for (std::size_t i = 0; i < s.parameters.size(); ++i) {
    auto accumulator = torch::autograd::impl::grad_accumulator(s.parameters[i]);
    const std::weak_ptr<State> state = state_;
    const uintptr_t key = accumulator->add_post_hook(std::make_unique<GradientReady>([state, i] {
      if (auto alive = state.lock()) alive->gradient_ready(i);
    }));
    s.hooks.emplace_back(std::move(accumulator), key);
  }
}

GradientSync::~GradientSync() {
  for (auto& [accumulator, key] : state_->hooks) accumulator->del_post_hook(key);
}

void GradientSync::arm() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (Bucket& bucket : state_->buckets) bucket.ready = 0;
  state_->next_to_start = 0;
  state_->armed = true;
}

void GradientSync::finish() {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!s.armed) throw Error("gradient sync: finish() without arm()");
    s.armed = false;
    for (Bucket& bucket : s.buckets) bucket.ready = bucket.members.size();
    s.start_complete_buckets();
  }
  for (Bucket& bucket : s.buckets) {
    bucket.sum->wait();
    bucket.sum.reset();
    for (std::size_t i = 0; i < bucket.members.size(); ++i) {
      at::Tensor& parameter = s.parameters[bucket.members[i]];
      const at::Tensor sum = bucket.flat.narrow(0, bucket.offsets[i], parameter.numel()).view_as(parameter);
      at::Tensor& grad = parameter.mutable_grad();
      if (grad.defined())
        grad.copy_(sum);
      else
        grad = sum.clone();
    }
  }
}

int64_t GradientSync::buckets() const { return static_cast<int64_t>(state_->buckets.size()); }

int64_t GradientSync::buckets_started() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return static_cast<int64_t>(state_->next_to_start);
}

}  // namespace cloze
