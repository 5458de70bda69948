// Fine-tuning: the encoder and a linear head trained end to end on the labelled
// train split with AdamW under warmup and cosine decay, then scored on eval.
#include "cloze/finetune.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cloze/error.h"
#include "cloze/labelled_batches.h"
#include "cloze/rng.h"
#include "cloze/schedule.h"

namespace cloze {

namespace {

void check(const FinetuneOptions& o) {
  const auto refuse = [](const std::string& key, const std::string& value, const std::string& allowed) {
    throw Error("finetune: " + key + " is " + value + ", " + allowed);
  };
  if (o.epochs <= 0) refuse("epochs", std::to_string(o.epochs), "must be positive");
  if (o.batch_size <= 0) refuse("batch_size", std::to_string(o.batch_size), "must be positive");
  if (!(o.lr > 0)) refuse("lr", std::to_string(o.lr), "must be > 0");
  if (!(o.weight_decay >= 0)) refuse("weight_decay", std::to_string(o.weight_decay), "must be >= 0");
  if (!(o.warmup_fraction >= 0 && o.warmup_fraction <= 1))
    refuse("warmup_fraction", std::to_string(o.warmup_fraction), "must be in [0, 1]");
}

struct Labelled {
  std::vector<int64_t> indices;  // dataset indices of the labelled samples, ascending
  int64_t largest_label = -1;
};

// The labelled samples among the first `max_samples` of `data`.
Labelled labelled(const Dataset& data, int64_t max_samples, int64_t batch_size, const std::string& split) {
  Labelled found;
  for_each_labelled_batch(data, evaluation_samples(data, max_samples), batch_size, "finetune", [&](const Batch& batch) {
    found.indices.insert(found.indices.end(), batch.sample_ids.begin(), batch.sample_ids.end());
    found.largest_label = std::max(found.largest_label, batch.labels.max().item<int64_t>());
  });
  if (found.indices.empty())
    throw Error("finetune: the " + split + " split holds no labelled sample among its first " +
                std::to_string(std::min(data.size(), max_samples)));
  return found;
}

// `indices` in the order of epoch `epoch`: Fisher-Yates from (seed, epoch), as the loader shuffles.
std::vector<int64_t> shuffled(std::vector<int64_t> indices, uint64_t seed, int64_t epoch) {
  SampleRng rng(seed, RngStream::data_order, epoch, 0);
  for (std::size_t i = indices.size(); i > 1; --i) std::swap(indices[i - 1], indices[rng.below(i)]);
  return indices;
}

// AdamW over the encoder's parameters and the head: weight decay on matrices
// and embeddings (dim >= 2), none on biases and norms, as the trainer groups them.
std::unique_ptr<torch::optim::AdamW> make_adamw(DenoisingModel& model, const at::Tensor& head_weight,
                                                const at::Tensor& head_bias, const FinetuneOptions& o) {
  std::vector<at::Tensor> decayed{head_weight}, not_decayed{head_bias};
  for (const auto& parameter : model->parameters())
    if (parameter.requires_grad()) (parameter.dim() >= 2 ? decayed : not_decayed).push_back(parameter);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decayed, std::make_unique<torch::optim::AdamWOptions>(
                                   torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay)));
  groups.emplace_back(not_decayed,
                      std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(o.lr).weight_decay(0)));
  return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(o.lr));
}

}  // namespace

ProbeResult finetune(DenoisingModel& model, const Dataset& train, const Dataset& eval, int64_t max_train,
                     int64_t max_eval, const FinetuneOptions& options) {
  check(options);
  PooledEncoder encoder(model, "finetune");
  const Labelled train_samples = labelled(train, max_train, options.batch_size, "train");
  const Labelled eval_samples = labelled(eval, max_eval, options.batch_size, "eval");
  ProbeResult result;
  result.train_samples = static_cast<int64_t>(train_samples.indices.size());
  result.eval_samples = static_cast<int64_t>(eval_samples.indices.size());
  result.classes = 1 + std::max(train_samples.largest_label, eval_samples.largest_label);

  // The head on the CPU from the seed, then moved, so it starts alike on every device.
  at::Generator generator = at::detail::createCPUGenerator(options.seed);
  const at::Tensor weight =
      at::empty({result.classes, encoder.dim()}).normal_(0, 0.02, generator).to(encoder.device()).requires_grad_();
  const at::Tensor bias = at::zeros({result.classes}, at::TensorOptions().device(encoder.device())).requires_grad_();
  const auto adamw = make_adamw(model, weight, bias, options);

  const int64_t batches_per_epoch = (result.train_samples + options.batch_size - 1) / options.batch_size;
  const int64_t steps = options.epochs * batches_per_epoch;
  const auto warmup = static_cast<int64_t>(std::llround(options.warmup_fraction * static_cast<double>(steps)));
  const LrSchedule schedule{options.lr, warmup, steps, "cosine", 0.0};

  const TrainingModeGuard mode(model);
  model->train();
  at::AutoGradMode grad(true);
  int64_t step = 0;
  for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    const auto order = shuffled(train_samples.indices, options.seed, epoch);
    for_each_labelled_batch(train, order, options.batch_size, "finetune", [&](const Batch& batch) {
      torch::manual_seed(SampleRng(options.seed, RngStream::dropout, step, 0).next_u64());
      for (auto& group : adamw->param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(schedule.at(step));
      adamw->zero_grad();
      const at::Tensor logits = at::linear(encoder(batch), weight, bias);  // [B, C]
      at::cross_entropy_loss(logits, batch.labels.to(encoder.device())).backward();
      adamw->step();
      ++step;
    });
  }

  model->eval();
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> predicted, labels;
  for_each_labelled_batch(eval, eval_samples.indices, options.batch_size, "finetune", [&](const Batch& batch) {
    predicted.push_back(at::linear(encoder(batch), weight, bias).argmax(1).to(at::kCPU));  // [B]
    labels.push_back(batch.labels);
  });
  result.correct = outcomes(at::cat(predicted), at::cat(labels));
  result.accuracy = mean_of(result.correct);
  return result;
}

}  // namespace cloze
