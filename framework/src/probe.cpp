// The linear probe: frozen features from the encoder or the raw inputs, and a
// multinomial logistic regression fitted on them with full-batch L-BFGS.
#include "cloze/probe.h"

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>
#include <torch/optim/lbfgs.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "cloze/error.h"
#include "cloze/shape_text.h"

namespace cloze {

namespace {

// Calls `each` on batches of dataset indices 0 .. min(size, max_samples) - 1,
// `batch_size` at a time, keeping only the rows whose label is not -1; a batch
// with no labelled row is skipped.
void for_each_labelled_batch(const Dataset& data, int64_t max_samples, int64_t batch_size,
                             const std::function<void(const Batch&)>& each) {
  if (batch_size <= 0) throw Error("probe: batch_size is " + std::to_string(batch_size) + ", must be positive");
  const int64_t samples = std::min(data.size(), max_samples);
  for (int64_t first = 0; first < samples; first += batch_size) {
    std::vector<int64_t> indices(static_cast<std::size_t>(std::min(batch_size, samples - first)));
    std::iota(indices.begin(), indices.end(), first);
    Batch batch = data.collate(indices);
    if (!batch.labels.defined() || batch.labels.dim() != 1 || batch.labels.size(0) != batch.size())
      throw Error("probe: the dataset's batch has labels " + shape_of(batch.labels) + " for units " +
                  shape_of(batch.units) + ", expected [B]");
    const at::Tensor labels = batch.labels.to(at::kLong);
    const at::Tensor keep = labels.ne(-1).nonzero().squeeze(1);  // [B']
    if (keep.numel() == 0) continue;
    if (keep.numel() < batch.size()) {
      batch.units = batch.units.index_select(0, keep);
      batch.padding = batch.padding.index_select(0, keep);
      if (!batch.sample_ids.empty()) {
        std::vector<int64_t> ids;
        const auto rows = keep.accessor<int64_t, 1>();
        for (int64_t k = 0; k < rows.size(0); ++k) ids.push_back(batch.sample_ids[static_cast<std::size_t>(rows[k])]);
        batch.sample_ids = ids;
      }
    }
    batch.labels = labels.index_select(0, keep);
    each(batch);
  }
}

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

}  // namespace

Features encoder_features(DenoisingModel& model, const Dataset& data, int64_t max_samples, int64_t batch_size) {
  // The encoder's position table, read by name so the model needs no accessor:
  // its rows are the longest input the encoder takes (ModelShape::max_input_length).
  const auto parameters = model->named_parameters();
  const at::Tensor* table = parameters.find("pos_embed.weight");
  if (table == nullptr) throw Error("probe: the model has no pos_embed.weight, the encoder's position table");
  const int64_t max_length = table->size(0), dim = table->size(1);
  const c10::Device device = table->device();

  const bool was_training = model->is_training();
  model->eval();
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> values, labels;
  for_each_labelled_batch(data, max_samples, batch_size, [&](const Batch& batch) {
    const int64_t rows = batch.size(), length = std::min(batch.units.size(1), max_length);
    Corrupted clean;
    clean.input = batch.units.narrow(1, 0, length).to(device);                // [B, N] or [B, N, D]
    clean.input_padding = batch.padding.narrow(1, 0, length).to(device);      // [B, N]
    clean.input_positions = at::arange(length, clean.input_padding.options().dtype(at::kLong))
                                .expand({rows, length})
                                .contiguous();                                // [B, N]
    const at::Tensor hidden = model->encode(clean).to(at::kFloat);            // [B, N, dim]
    const at::Tensor real = clean.input_padding.logical_not().unsqueeze(-1).to(at::kFloat);  // [B, N, 1]
    const at::Tensor pooled = (hidden * real).sum(1) / real.sum(1).clamp_min(1);             // [B, dim]
    values.push_back(pooled);
    labels.push_back(batch.labels.to(device));
  });
  if (was_training) model->train();
  return gathered(values, labels, dim, at::TensorOptions().dtype(at::kFloat).device(device));
}

Features raw_features(const Dataset& data, const UnitSpec& units, int64_t max_samples, int64_t batch_size) {
  const bool discrete = units.kind == UnitKind::discrete;
  if (discrete && units.vocab_size <= 0)
    throw Error("probe: discrete units need a vocabulary, but vocab_size is " + std::to_string(units.vocab_size));
  std::vector<at::Tensor> values, labels;
  int64_t width = discrete ? units.vocab_size : 0;
  for_each_labelled_batch(data, max_samples, batch_size, [&](const Batch& batch) {
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

ProbeResult linear_probe(const Features& train, const Features& eval, const ProbeOptions& options) {
  check(train, "train");
  check(eval, "eval");
  if (train.values.size(1) != eval.values.size(1))
    throw Error("probe: train features have " + std::to_string(train.values.size(1)) + " columns, eval features " +
                std::to_string(eval.values.size(1)));
  if (options.iterations <= 0)
    throw Error("probe: iterations is " + std::to_string(options.iterations) + ", must be positive");
  if (options.l2 < 0) throw Error("probe: l2 is " + std::to_string(options.l2) + ", must be >= 0");

  const at::Tensor train_labels = train.labels.to(at::kCPU, at::kLong);  // [S]
  const at::Tensor eval_labels = eval.labels.to(at::kCPU, at::kLong);    // [S_eval]
  ProbeResult result;
  result.train_samples = train_labels.size(0);
  result.eval_samples = eval_labels.size(0);
  result.classes = 1 + std::max(train_labels.max().item<int64_t>(), eval_labels.max().item<int64_t>());

  // Statistics in double, so a large offset does not eat a small spread.
  const at::Tensor train_values = train.values.to(at::kCPU, at::kDouble);  // [S, F]
  const at::Tensor mean = train_values.mean(0);                            // [F]
  at::Tensor spread = train_values.std(0, /*unbiased=*/false);             // [F]
  spread = at::where(spread.gt(0), spread, at::ones_like(spread));
  const at::Tensor x = standardised(train_values, mean, spread);                   // [S, F]
  const at::Tensor x_eval = standardised(eval.values.to(at::kCPU), mean, spread);  // [S_eval, F]

  at::AutoGradMode grad(true);
  at::Tensor weight = at::zeros({result.classes, x.size(1)}).requires_grad_(true);  // [C, F]
  at::Tensor bias = at::zeros({result.classes}).requires_grad_(true);               // [C]
  torch::optim::LBFGS lbfgs({weight, bias}, torch::optim::LBFGSOptions(1.0)
                                                .max_iter(options.iterations)
                                                .line_search_fn("strong_wolfe"));
  // One step runs up to `iterations` L-BFGS iterations on the full batch.
  lbfgs.step([&] {
    lbfgs.zero_grad();
    const at::Tensor logits = at::linear(x, weight, bias);  // [S, C]
    at::Tensor loss = at::nll_loss(at::log_softmax(logits, 1), train_labels) + options.l2 * weight.pow(2).sum();
    loss.backward();
    return loss;
  });

  at::NoGradGuard no_grad;
  const at::Tensor predicted = at::linear(x_eval, weight, bias).argmax(1);  // [S_eval]
  result.accuracy = predicted.eq(eval_labels).to(at::kDouble).mean().item<double>();
  return result;
}

}  // namespace cloze
