#include "cloze/evaluate/evaluation.h"

#include <ATen/Functions.h>
#include <torch/utils.h>

#include <algorithm>

#include "cloze/core/error.h"
#include "cloze/io/weights.h"
#include "cloze/model/model.h"

namespace cloze {

namespace {

constexpr int64_t kFeatureBatch = 256;
constexpr int64_t kUnigramBatches = 8;

Score score_of(const ProbeResult& result) { return {result.accuracy, result.correct, result.chosen_lr}; }

// The model training started from: the run's seed, the same initialisation.
DenoisingModel initial_model(const Experiment& experiment, const Pipeline& pipeline) {
  torch::manual_seed(static_cast<uint64_t>(experiment.section("run").integer("seed")));
  return build_model(experiment, pipeline);
}

DenoisingModel trained_model(const Experiment& experiment, const Pipeline& pipeline, const std::filesystem::path& weights) {
  DenoisingModel model = build_model(experiment, pipeline);
  import_weights(*model, weights);
  return model;
}

// The train split's most frequent class, scored on the eval labels.
double majority_accuracy(const at::Tensor& train_labels, const at::Tensor& eval_labels, int64_t classes) {
  const int64_t majority = at::bincount(train_labels.to(at::kCPU), {}, classes).argmax().item<int64_t>();
  return eval_labels.to(at::kCPU).eq(majority).to(at::kDouble).mean().item<double>();
}

}  // namespace

double unigram_accuracy(const Pipeline& pipeline, int64_t batch_size, int64_t batches) {
  const auto scored_targets = [&](Split split) {
    auto loader = pipeline.loader(split, std::min(batch_size, pipeline.samples(split)));
    std::vector<at::Tensor> targets;
    for (int64_t i = 0; i < std::min(batches, loader->batches_per_epoch()); ++i) {
      const Corrupted c = loader->next().corrupted;
      targets.push_back(c.target.masked_select(c.loss_mask));
    }
    return at::cat(targets);
  };
  const at::Tensor train = scored_targets(Split::train), eval = scored_targets(Split::eval);
  if (train.numel() == 0 || eval.numel() == 0) throw Error("unigram baseline: the batches score no unit");
  const int64_t vocab = std::max(train.max().item<int64_t>(), eval.max().item<int64_t>()) + 1;
  const int64_t most_frequent = at::bincount(train, {}, vocab).argmax().item<int64_t>();
  return eval.eq(most_frequent).to(at::kDouble).mean().item<double>();
}

void evaluate_encoder(const Experiment& experiment, const Pipeline& pipeline, const std::filesystem::path& weights,
                      const EvaluationOptions& options, RunResult& into) {
  const Dataset& train = pipeline.labelled_dataset(Split::train);
  const Dataset& eval = pipeline.labelled_dataset(Split::eval);
  const auto features = [&](DenoisingModel& model) {
    return std::pair{encoder_features(model, train, options.train_samples, kFeatureBatch),
                     encoder_features(model, eval, options.eval_samples, kFeatureBatch)};
  };
  DenoisingModel trained = trained_model(experiment, pipeline, weights);
  DenoisingModel initial = initial_model(experiment, pipeline);
  // References, not structured bindings: a C++17 lambda (on clang) cannot capture those.
  const auto trained_features = features(trained), initial_features = features(initial);
  const Features& trained_train = trained_features.first;
  const Features& trained_eval = trained_features.second;
  const Features& initial_train = initial_features.first;
  const Features& initial_eval = initial_features.second;
  into.classes = 1 + std::max(trained_train.labels.max().item<int64_t>(), trained_eval.labels.max().item<int64_t>());
  into.majority_accuracy = majority_accuracy(trained_train.labels, trained_eval.labels, into.classes);

  const bool needs_raw = std::any_of(options.protocols.begin(), options.protocols.end(),
                                     [](const std::string& p) { return p != "finetune"; });
  Features raw_train, raw_eval;
  if (needs_raw) {
    raw_train = raw_features(train, pipeline.units(), options.train_samples, kFeatureBatch);
    raw_eval = raw_features(eval, pipeline.units(), options.eval_samples, kFeatureBatch);
  }
  // The frozen-feature protocols score the three encoders alike.
  const auto on_features = [&](const auto& probe) {
    return ProtocolScores{score_of(probe(trained_train, trained_eval)), score_of(probe(initial_train, initial_eval)),
                          score_of(probe(raw_train, raw_eval))};
  };
  for (const auto& protocol : options.protocols) {
    ProtocolScores scores;
    if (protocol == "linear") {
      scores = on_features([](const Features& fit, const Features& scored) { return linear_probe(fit, scored); });
    } else if (protocol == "knn") {
      scores = on_features([&](const Features& fit, const Features& scored) { return knn_probe(fit, scored, options.knn); });
    } else if (protocol == "finetune") {
      FinetuneOptions finetune = options.finetune;
      finetune.seed = static_cast<uint64_t>(experiment.section("run").integer("seed"));
      // Fine-tuning changes the weights: each side starts from a fresh copy.
      DenoisingModel pretrained = trained_model(experiment, pipeline, weights);
      scores.trained = score_of(cloze::finetune(pretrained, train, eval, options.train_samples, options.eval_samples, finetune));
      DenoisingModel scratch = initial_model(experiment, pipeline);
      scores.random_init = score_of(cloze::finetune(scratch, train, eval, options.train_samples, options.eval_samples, finetune));
    } else {
      throw Error("evaluation: unknown protocol '" + protocol + "'; known: linear, knn, finetune");
    }
    into.protocols[protocol] = std::move(scores);
  }
  const UnitSpec& units = pipeline.units();
  // Guessing the most frequent id is the baseline of a masked accuracy, which detection and latent targets lack.
  if (units.kind == UnitKind::discrete && pipeline.corruption()->mode() != ReconstructionMode::detect &&
      ModelOptions::from(experiment.section("model")).scores_corruption_target())
    into.unigram_accuracy =
        unigram_accuracy(pipeline, experiment.section("train").integer("batch_size"), kUnigramBatches);
}

}  // namespace cloze
