// Evaluation on frozen features: freeze the pretrained encoder, mean-pool its
// units, and classify the held-out split from the labelled train split, by a
// logistic-regression head (the linear probe of MAE, Audio-MAE and BERT's
// feature-based evaluation) or by weighted k nearest neighbours (the kNN of
// DINO and solo-learn). The two baselines go through the same protocols: a
// randomly initialised encoder (encoder_features on an untrained model) and
// the raw inputs (raw_features). Fine-tuning end to end is in finetune.h.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "cloze/core/modality.h"
#include "cloze/core/units.h"
#include "cloze/model/model.h"

namespace cloze {

// One row per labelled sample.
struct Features {
  at::Tensor values;  // [S, F] float32
  at::Tensor labels;  // [S] int64, each >= 0
};

// The encoder's output for clean (uncorrupted) samples, mean-pooled over each
// sample's real (non-padding) units: values [S, dim], on the device of the
// model's parameters. The samples are evaluation_samples(data, max_samples)
// (labelled_batches.h: all of them, or a fixed uniform subset), collated
// batch_size at a time; those labelled -1 are dropped. The encoder sees each batch's own units at positions 0 .. N-1, cut
// to the first rows-of-the-position-table units when the grid is longer (T5's
// raw chunks are longer than its encoder inputs). Runs without gradients in
// eval mode; the model's training mode is restored afterwards.
Features encoder_features(DenoisingModel& model, const Dataset& data, int64_t max_samples, int64_t batch_size);
// The same for the samples at `indices` (in that order) instead.
Features encoder_features(DenoisingModel& model, const Dataset& data, const std::vector<int64_t>& indices,
                          int64_t batch_size);

// The raw inputs as features, with the same choice of samples and the same
// label rule, on the CPU. Discrete units: a bag of ids, the count of each id
// over the sample's real units divided by their number ([S, vocab], each row
// sums to 1). Continuous units: the units flattened, [S, N * D], filler units
// zeroed and rows zero-filled to the longest N seen.
Features raw_features(const Dataset& data, const UnitSpec& units, int64_t max_samples, int64_t batch_size);

struct ProbeOptions {
  int64_t iterations = 100;  // L-BFGS iterations (full batch)
  double l2 = 1e-4;          // weight decay on W, not on the bias
};

// The outcome of an evaluation protocol (linear_probe, knn_probe, finetune).
struct ProbeResult {
  double accuracy = 0;  // on eval, in [0, 1]: the mean of `correct`
  int64_t train_samples = 0, eval_samples = 0;
  int64_t classes = 0;  // 1 + the largest label in either split
  std::vector<uint8_t> correct;  // 1 where the eval sample was classified right, in eval order
  double chosen_lr = 0;          // fine-tuning: the candidate learning rate that validation chose
};

// A multinomial logistic-regression head as linear_probe fits it: on features
// standardised by the train split's per-feature mean and std.
struct LinearHead {
  at::Tensor weight, bias;  // [C, F], [C] float32 on the CPU, over standardised features
  at::Tensor mean, spread;  // [F] float64: the train split's mean and std (std 0 -> 1)

  // [S, F] features (any device) -> [S, C] logits on the CPU.
  at::Tensor logits(const at::Tensor& values) const;
  // The same map as one linear layer on unstandardised features, weight
  // [C, F] / spread and bias b - (weight / spread) . mean, in float32: a
  // head to train further end to end (finetune.h).
  std::pair<at::Tensor, at::Tensor> folded() const;
};

// Fits the head for `classes` classes on the train features: standardised,
// W and b started at zero and fitted on the CPU with L-BFGS (strong Wolfe
// line search) on mean cross-entropy + l2 * ||W||^2. Deterministic: the
// problem is convex and the start fixed, so it takes no seed. Throws
// cloze::Error on an empty split or a label outside [0, classes).
LinearHead fit_linear_head(const Features& train, int64_t classes, const ProbeOptions& options = {});

// Multinomial logistic regression (fit_linear_head, its classes 1 + the
// largest label in either split) scored on the eval split. Throws
// cloze::Error on an empty split or features that do not line up.
ProbeResult linear_probe(const Features& train, const Features& eval, const ProbeOptions& options = {});

struct KnnOptions {
  int64_t k = 20;             // neighbours; more than the train split holds counts them all
  double temperature = 0.07;  // of the vote weights exp(similarity / temperature)
};

// Weighted k nearest neighbours (Wu et al. 2018, as DINO and solo-learn
// evaluate): both splits' rows L2-normalised, each eval row's cosine similarity
// to every train row, and its k most similar train rows each vote for their
// class with weight exp(similarity / temperature); the class with the largest
// sum of votes is predicted (the lowest such class on a tie). On the device of
// the train features, eval rows a chunk at a time so that a chunk's similarity
// matrix holds at most 5e6 entries (solo-learn's bound). Deterministic. Throws
// cloze::Error on an empty split, features that do not line up, k <= 0 or a
// temperature <= 0.
ProbeResult knn_probe(const Features& train, const Features& eval, const KnnOptions& options = {});

}  // namespace cloze
