// Fine-tuning: the encoder and a linear head trained end to end on the labelled
// train split with AdamW under warmup and cosine decay, then scored on eval.
#include "cloze/evaluate/finetune.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/core/rng.h"
#include "cloze/evaluate/labelled_batches.h"
#include "cloze/train/schedule.h"
#include "cloze/train/train_step.h"

namespace cloze {

namespace {

void check(const FinetuneOptions& o) {
  const auto refuse = [](const std::string& key, const std::string& value, const std::string& allowed) {
    throw Error("finetune: " + key + " is " + value + ", " + allowed);
  };
  if (o.steps <= 0) refuse("steps", std::to_string(o.steps), "must be positive");
  if (o.lrs.empty()) refuse("lrs", "empty", "must hold at least one learning rate");
  for (const double lr : o.lrs)
    if (!(lr > 0)) refuse("lrs", "holding " + std::to_string(lr), "every learning rate must be > 0");
  if (!(o.validation_fraction > 0 && o.validation_fraction < 1))
    refuse("validation_fraction", std::to_string(o.validation_fraction), "must be in (0, 1)");
  if (o.batch_size <= 0) refuse("batch_size", std::to_string(o.batch_size), "must be positive");
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

// The labelled train samples split into those fitted on and a held-out
// validation share (at least one sample), drawn with a fixed key: the same
// samples for every seed and every run, so their choices are made alike.
std::pair<std::vector<int64_t>, std::vector<int64_t>> held_out(std::vector<int64_t> indices, double fraction) {
  const auto count = static_cast<int64_t>(indices.size());
  const int64_t validation = std::max<int64_t>(1, std::llround(fraction * static_cast<double>(count)));
  if (validation >= count)
    throw Error("finetune: " + std::to_string(count) + " labelled train samples are too few to hold out " +
                std::to_string(validation) + " for choosing the learning rate and fit on the rest");
  SampleRng rng(0, RngStream::evaluation, 1, 0);
  for (int64_t i = 0; i < validation; ++i)
    std::swap(indices[static_cast<std::size_t>(i)],
              indices[static_cast<std::size_t>(i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(count - i))))]);
  std::vector<int64_t> held(indices.begin(), indices.begin() + validation), fit(indices.begin() + validation, indices.end());
  std::sort(held.begin(), held.end());
  std::sort(fit.begin(), fit.end());
  return {std::move(fit), std::move(held)};
}

std::vector<at::Tensor> snapshot(DenoisingModel& model) {
  std::vector<at::Tensor> copies;
  for (const auto& parameter : model->parameters()) copies.push_back(parameter.detach().clone());
  return copies;
}

void restore(DenoisingModel& model, const std::vector<at::Tensor>& copies) {
  at::NoGradGuard no_grad;
  const auto parameters = model->parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(copies[i]);
}

struct Head {
  at::Tensor weight, bias;  // [C, dim], [C]
};

// The head every candidate starts from: the linear probe on the frozen
// encoder's features of the fitted samples (LP-FT), or N(0, 0.02) weights
// (BERT's initializer range) and zero bias drawn from the seed. Made on the
// CPU, then moved, so that it starts alike on every device.
Head initial_head(DenoisingModel& model, PooledEncoder& encoder, const Dataset& train,
                  const std::vector<int64_t>& fit, int64_t classes, const FinetuneOptions& options) {
  Head head;
  if (options.head_from_probe) {
    std::tie(head.weight, head.bias) =
        fit_linear_head(encoder_features(model, train, fit, options.batch_size), classes).folded();
  } else {
    at::Generator generator = at::detail::createCPUGenerator(options.seed);
    head = {at::empty({classes, encoder.dim()}).normal_(0, 0.02, generator), at::zeros({classes})};
  }
  return {head.weight.to(encoder.device()), head.bias.to(encoder.device())};
}

// The encoder and a copy of `start` trained end to end on `fit` for
// options.steps steps at peak learning rate `lr`.
Head train_candidate(DenoisingModel& model, PooledEncoder& encoder, const Dataset& train,
                     const std::vector<int64_t>& fit, const Head& start, double lr, const FinetuneOptions& options) {
  Head head{start.weight.clone().requires_grad_(), start.bias.clone().requires_grad_()};
  std::vector<at::Tensor> parameters{head.weight, head.bias};
  for (const auto& parameter : model->parameters()) parameters.push_back(parameter);
  const auto adamw = grouped_adamw(parameters, torch::optim::AdamWOptions(lr).weight_decay(options.weight_decay));
  const auto warmup = static_cast<int64_t>(std::llround(options.warmup_fraction * static_cast<double>(options.steps)));
  const LrSchedule schedule{lr, warmup, options.steps, "cosine", 0.0};

  model->train();
  at::AutoGradMode grad(true);
  int64_t step = 0;
  for (int64_t epoch = 0; step < options.steps; ++epoch) {
    std::vector<int64_t> order = fit;
    shuffle_for_epoch(order, options.seed, epoch);
    order.resize(std::min(order.size(), static_cast<std::size_t>((options.steps - step) * options.batch_size)));
    for_each_labelled_batch(train, order, options.batch_size, "finetune", [&](const Batch& batch) {
      torch::manual_seed(SampleRng(options.seed, RngStream::dropout, step, 0).next_u64());
      for (auto& group : adamw->param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(schedule.at(step));
      adamw->zero_grad();
      const at::Tensor logits = at::linear(encoder(batch), head.weight, head.bias);  // [B, C]
      at::cross_entropy_loss(logits, batch.labels.to(encoder.device())).backward();
      adamw->step();
      ++step;
    });
  }
  return {head.weight.detach(), head.bias.detach()};
}

// Per-sample outcomes of classifying `indices` of `data` in eval mode.
std::vector<uint8_t> classify(DenoisingModel& model, const Dataset& data,
                              const std::vector<int64_t>& indices, const Head& head, int64_t batch_size) {
  const Features features = encoder_features(model, data, indices, batch_size);
  at::NoGradGuard no_grad;
  return outcomes(at::linear(features.values, head.weight, head.bias).argmax(1).to(at::kCPU),
                  features.labels.to(at::kCPU));
}

}  // namespace

ProbeResult finetune(DenoisingModel& model, const Dataset& train, const Dataset& eval, int64_t max_train,
                     int64_t max_eval, const FinetuneOptions& options) {
  check(options);
  PooledEncoder encoder(model, "finetune");
  const Labelled train_samples = labelled(train, max_train, options.batch_size, "train");
  const Labelled eval_samples = labelled(eval, max_eval, options.batch_size, "eval");
  const auto [fit, validation] = held_out(train_samples.indices, options.validation_fraction);
  ProbeResult result;
  result.train_samples = static_cast<int64_t>(fit.size());
  result.eval_samples = static_cast<int64_t>(eval_samples.indices.size());
  result.classes = 1 + std::max(train_samples.largest_label, eval_samples.largest_label);

  const TrainingModeGuard mode(model);
  const std::vector<at::Tensor> start = snapshot(model);
  std::vector<at::Tensor> best_weights;
  Head best_head;
  double best_score = -1;
  const Head initial = initial_head(model, encoder, train, fit, result.classes, options);
  for (const double lr : options.lrs) {
    restore(model, start);
    const Head head = train_candidate(model, encoder, train, fit, initial, lr, options);
    const double score = mean_of(classify(model, train, validation, head, options.batch_size));
    if (score > best_score || (score == best_score && lr < result.chosen_lr)) {
      best_score = score;
      best_weights = snapshot(model);
      best_head = head;
      result.chosen_lr = lr;
    }
  }
  restore(model, best_weights);
  result.correct = classify(model, eval, eval_samples.indices, best_head, options.batch_size);
  result.accuracy = mean_of(result.correct);
  return result;
}

}  // namespace cloze
