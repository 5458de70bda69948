// Evaluation on frozen features from the encoder or the raw inputs: a
// multinomial logistic regression fitted with full-batch L-BFGS, and weighted
// k nearest neighbours by cosine similarity.
#include "cloze/evaluate/probe.h"

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>
#include <torch/optim/lbfgs.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/core/shape_text.h"
#include "cloze/evaluate/labelled_batches.h"

namespace cloze {

namespace {

Features gathered(const std::vector<at::Tensor>& values, const std::vector<at::Tensor>& labels, int64_t width,
                  const at::TensorOptions& options) {
  if (values.empty()) return {at::empty({0, width}, options), at::empty({0}, options.dtype(at::kLong))};
  return {at::cat(values), at::cat(labels)};
}

// [S, F] -> [S, F] float32, each feature less `mean` [F], over `spread` [F].
at::Tensor standardised(const at::Tensor& values, const at::Tensor& mean, const at::Tensor& spread) {
  return ((values.to(at::kDouble) - mean) / spread).to(at::kFloat);
}

void check(const Features& features, const std::string& split) {
  if (!features.values.defined() || features.values.dim() != 2 || !features.labels.defined() ||
      features.labels.dim() != 1 || features.labels.size(0) != features.values.size(0))
    throw Error("probe: the " + split + " features are " + shape_of(features.values) + " with labels " +
                shape_of(features.labels) + ", expected [S, F] and [S]");
  if (features.values.size(0) == 0) throw Error("probe: the " + split + " split holds no labelled sample");
  if (features.labels.min().item<int64_t>() < 0)
    throw Error("probe: the " + split + " labels hold a negative class; drop unlabelled samples first");
}

// Checks both splits and that their features line up; the result with the
// sample counts and classes filled in.
ProbeResult checked(const Features& train, const Features& eval) {
  check(train, "train");
  check(eval, "eval");
  if (train.values.size(1) != eval.values.size(1))
    throw Error("probe: train features have " + std::to_string(train.values.size(1)) + " columns, eval features " +
                std::to_string(eval.values.size(1)));
  ProbeResult result;
  result.train_samples = train.labels.size(0);
  result.eval_samples = eval.labels.size(0);
  result.classes = 1 + std::max(train.labels.max().item<int64_t>(), eval.labels.max().item<int64_t>());
  return result;
}

// [S, F] -> [S, F] float32, each row scaled to unit L2 norm (a zero row stays zero).
at::Tensor unit_rows(const at::Tensor& values) {
  const at::Tensor rows = values.to(at::kFloat);
  return rows / rows.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
}

}  // namespace

Features encoder_features(DenoisingModel& model, const Dataset& data, int64_t max_samples, int64_t batch_size) {
  return encoder_features(model, data, evaluation_samples(data, max_samples), batch_size);
}

Features encoder_features(DenoisingModel& model, const Dataset& data, const std::vector<int64_t>& indices,
                          int64_t batch_size) {
  PooledEncoder encoder(model, "probe");
  const TrainingModeGuard mode(model);
  model->eval();
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> values, labels;
  for_each_labelled_batch(data, indices, batch_size, "probe", [&](const Batch& batch) {
    values.push_back(encoder(batch));  // [B, dim]
    labels.push_back(batch.labels.to(encoder.device()));
  });
  return gathered(values, labels, encoder.dim(), at::TensorOptions().dtype(at::kFloat).device(encoder.device()));
}

Features raw_features(const Dataset& data, const UnitSpec& units, int64_t max_samples, int64_t batch_size) {
  const bool discrete = units.kind == UnitKind::discrete;
  if (discrete && units.vocab_size <= 0)
    throw Error("probe: discrete units need a vocabulary, but vocab_size is " + std::to_string(units.vocab_size));
  std::vector<at::Tensor> values, labels;
  int64_t width = discrete ? units.vocab_size : 0;
  for_each_labelled_batch(data, evaluation_samples(data, max_samples), batch_size, "probe", [&](const Batch& batch) {
    const at::Tensor real = batch.padding.logical_not().to(at::kCPU);  // [B, N]
    if (discrete) {
      const at::Tensor ids = batch.units.to(at::kCPU).masked_fill(real.logical_not(), 0);  // [B, N]
      if (ids.numel() > 0 && (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= units.vocab_size))
        throw Error("probe: a unit id lies outside the vocabulary of " + std::to_string(units.vocab_size));
      const at::Tensor weights = real.to(at::kFloat);                                        // [B, N]
      at::Tensor counts = at::zeros({batch.size(), units.vocab_size}, at::kFloat).scatter_add_(1, ids, weights);
      values.push_back(counts / weights.sum(1, /*keepdim=*/true).clamp_min(1));              // [B, V]
    } else {
      const at::Tensor flat = batch.units.to(at::kCPU, at::kFloat)
                                  .masked_fill(real.logical_not().unsqueeze(-1), 0)
                                  .reshape({batch.size(), -1});  // [B, N * D]
      values.push_back(flat);
      width = std::max(width, flat.size(1));
    }
    labels.push_back(batch.labels.to(at::kCPU));
  });
  // Text batches are as long as their longest row: zero-fill to the widest.
  for (at::Tensor& rows : values)
    if (rows.size(1) < width) rows = at::constant_pad_nd(rows, {0, width - rows.size(1)});
  return gathered(values, labels, width, at::TensorOptions().dtype(at::kFloat));
}

at::Tensor LinearHead::logits(const at::Tensor& values) const {
  return at::linear(standardised(values.to(at::kCPU), mean, spread), weight, bias);
}

std::pair<at::Tensor, at::Tensor> LinearHead::folded() const {
  const at::Tensor scaled = weight.to(at::kDouble) / spread;  // [C, F]
  return {scaled.to(at::kFloat), (bias.to(at::kDouble) - at::mv(scaled, mean)).to(at::kFloat)};
}

LinearHead fit_linear_head(const Features& train, int64_t classes, const ProbeOptions& options) {
  check(train, "train");
  if (options.iterations <= 0)
    throw Error("probe: iterations is " + std::to_string(options.iterations) + ", must be positive");
  if (options.l2 < 0) throw Error("probe: l2 is " + std::to_string(options.l2) + ", must be >= 0");
  const at::Tensor labels = train.labels.to(at::kCPU, at::kLong);  // [S]
  if (labels.max().item<int64_t>() >= classes)
    throw Error("probe: a train label is " + std::to_string(labels.max().item<int64_t>()) + ", the head has " +
                std::to_string(classes) + " classes");

  // Statistics in double, so a large offset does not eat a small spread.
  LinearHead head;
  const at::Tensor values = train.values.to(at::kCPU, at::kDouble);  // [S, F]
  head.mean = values.mean(0);                                        // [F]
  head.spread = values.std(0, /*unbiased=*/false);                   // [F]
  head.spread = at::where(head.spread.gt(0), head.spread, at::ones_like(head.spread));
  const at::Tensor x = standardised(values, head.mean, head.spread);  // [S, F]

  at::AutoGradMode grad(true);
  at::Tensor weight = at::zeros({classes, x.size(1)}).requires_grad_(true);  // [C, F]
  at::Tensor bias = at::zeros({classes}).requires_grad_(true);               // [C]
  torch::optim::LBFGS lbfgs({weight, bias}, torch::optim::LBFGSOptions(1.0)
                                                .max_iter(options.iterations)
                                                .line_search_fn("strong_wolfe"));
  // One step runs up to `iterations` L-BFGS iterations on the full batch.
  lbfgs.step([&] {
    lbfgs.zero_grad();
    const at::Tensor logits = at::linear(x, weight, bias);  // [S, C]
    at::Tensor loss = at::nll_loss(at::log_softmax(logits, 1), labels) + options.l2 * weight.pow(2).sum();
    loss.backward();
    return loss;
  });
  head.weight = weight.detach();
  head.bias = bias.detach();
  return head;
}

ProbeResult linear_probe(const Features& train, const Features& eval, const ProbeOptions& options) {
  ProbeResult result = checked(train, eval);
  const LinearHead head = fit_linear_head(train, result.classes, options);
  at::NoGradGuard no_grad;
  const at::Tensor predicted = head.logits(eval.values).argmax(1);  // [S_eval]
  result.correct = outcomes(predicted, eval.labels.to(at::kCPU, at::kLong));
  result.accuracy = mean_of(result.correct);
  return result;
}

ProbeResult knn_probe(const Features& train, const Features& eval, const KnnOptions& options) {
  ProbeResult result = checked(train, eval);
  if (options.k <= 0) throw Error("probe: knn k is " + std::to_string(options.k) + ", must be positive");
  if (!(options.temperature > 0))
    throw Error("probe: knn temperature is " + std::to_string(options.temperature) + ", must be > 0");

  const c10::Device device = train.values.device();
  const at::Tensor keys = unit_rows(train.values).t().contiguous();    // [F, S]
  const at::Tensor queries = unit_rows(eval.values.to(device));        // [S_eval, F]
  const at::Tensor train_labels = train.labels.to(device, at::kLong);  // [S]
  const int64_t k = std::min(options.k, result.train_samples);
  // Eval rows per chunk, so that one chunk's similarities hold at most 5e6 entries.
  const int64_t chunk = std::max<int64_t>(1, 5'000'000 / result.train_samples);

  at::NoGradGuard no_grad;
  std::vector<at::Tensor> predicted;
  for (int64_t first = 0; first < result.eval_samples; first += chunk) {
    const int64_t rows = std::min(chunk, result.eval_samples - first);
    const at::Tensor similarity = queries.narrow(0, first, rows).mm(keys);  // [R, S] cosine
    at::Tensor nearest, index;                                              // [R, k] each
    std::tie(nearest, index) = similarity.topk(k, /*dim=*/1);
    // exp((s - s_1) / T), s_1 the row's nearest similarity: exp(s / T) with all
    // of a row's votes scaled alike, so the same argmax, but no overflow at a small T.
    const at::Tensor weight = ((nearest - nearest.narrow(1, 0, 1)) / options.temperature).exp();  // [R, k]
    const at::Tensor votes = at::zeros({rows, result.classes}, weight.options())
                                 .scatter_add_(1, train_labels.take(index), weight);  // [R, C]
    predicted.push_back(votes.argmax(1));                                             // [R]
  }
  result.correct = outcomes(at::cat(predicted), eval.labels);
  result.accuracy = mean_of(result.correct);
  return result;
}

}  // namespace cloze
