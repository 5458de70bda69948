// How a pretrained encoder is scored: the sweep's protocols applied alike to
// the trained weights, to the same architecture at its initialisation (the
// weights training started from) and, for the feature protocols, to the raw
// inputs; and the task's own baselines. `cloze compare` calls it after each
// seed's training, `cloze probe RUN_DIR` on any finished run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cloze/config/experiment.h"
#include "cloze/data/pipeline.h"
#include "cloze/evaluate/comparison.h"
#include "cloze/evaluate/finetune.h"
#include "cloze/evaluate/probe.h"

namespace cloze {

struct EvaluationOptions {
  std::vector<std::string> protocols{"linear"};  // names from known_protocols() (cloze/sweep.h)
  int64_t train_samples = 2000;                  // labelled samples each protocol trains on
  int64_t eval_samples = 1000;                   // and is scored on
  KnnOptions knn;
  FinetuneOptions finetune;                      // its seed is set from the run's
};

// Scores the weights in `weights` (a model.safetensors of `experiment`) and
// fills into.protocols, majority_accuracy, classes and, for discrete units
// outside detect mode, unigram_accuracy. `pipeline` is built from
// `experiment`. Throws cloze::Error naming the protocol or file that fails.
void evaluate_encoder(const Experiment& experiment, const Pipeline& pipeline, const std::filesystem::path& weights,
                      const EvaluationOptions& options, RunResult& into);

// The unigram predictor's masked accuracy: the share of the scored target
// units of up to `batches` eval batches that equal the id most frequent among
// the scored targets of as many train batches. What a model on the unigram
// plateau scores; a model that learned context scores above it.
double unigram_accuracy(const Pipeline& pipeline, int64_t batch_size, int64_t batches);

}  // namespace cloze
