// The denoising model and the masked loss: shapes, scoring only where
// loss_mask is true, padding never attended to, BERT's tied head and init,
// option validation, and tiny models that overfit a fixed batch.
#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>
#include <torch/optim/adamw.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "cloze/corrupted.h"
#include "cloze/error.h"
#include "cloze/grid.h"
#include "cloze/loss.h"
#include "cloze/model.h"
#include "cloze/params.h"
#include "cloze/units.h"

using cloze::Corrupted;
using cloze::DenoisingModel;
using cloze::ModelOptions;
using cloze::ReconstructionMode;
using cloze::UnitKind;
using cloze::UnitSpec;

namespace {

constexpr int64_t pad_id = 0, mask_id = 1, vocab = 16;

ModelOptions tiny_options(double dropout = 0.0) { return {32, 2, 4, 4.0, dropout}; }

UnitSpec text_units() {
  UnitSpec units;
  units.kind = UnitKind::discrete;
  units.vocab_size = vocab;
  units.pad_id = pad_id;
  units.mask_id = mask_id;
  units.special_ids = {pad_id, mask_id};
  return units;
}

UnitSpec patch_units(int64_t unit_dim) {
  UnitSpec units;
  units.kind = UnitKind::continuous;
  units.unit_dim = unit_dim;
  return units;
}

// A BERT-style batch of `batch` rows of `length` tokens: about a quarter of the
// real tokens replaced by [MASK] and scored; the last `padded` units of row 1
// are filler.
Corrupted text_batch(int64_t batch, int64_t length, int64_t padded = 0) {
  Corrupted c;
  const at::Tensor tokens = at::randint(2, vocab, {batch, length}, at::kLong);
  c.input_padding = at::zeros({batch, length}, at::kBool);
  if (padded > 0) c.input_padding[1].narrow(0, length - padded, padded).fill_(true);
  c.loss_mask = (at::rand({batch, length}) < 0.25).logical_and_(c.input_padding.logical_not());
  c.loss_mask.index_put_({0, 0}, true);  // at least one scored unit
  c.target = tokens.masked_fill(c.input_padding, pad_id);
  c.input = c.target.masked_fill(c.loss_mask, mask_id);
  c.input_positions = at::arange(length, at::kLong).expand({batch, length}).contiguous();
  return c;
}

// Patches of `unit_dim` values; the scored ones zeroed in the input, as SimMIM does.
Corrupted patch_batch(int64_t batch, int64_t length, int64_t unit_dim) {
  Corrupted c;
  c.target = at::randn({batch, length, unit_dim});
  c.loss_mask = at::rand({batch, length}) < 0.3;
  c.loss_mask.index_put_({0, 0}, true);
  c.input = c.target.masked_fill(c.loss_mask.unsqueeze(-1), 0.0);
  c.input_padding = at::zeros({batch, length}, at::kBool);
  c.input_positions = at::arange(length, at::kLong).expand({batch, length}).contiguous();
  return c;
}

cloze::Params model_params(const std::string& name, cloze::Value value) {
  cloze::Params params("model", cloze::model_schema());
  params.set(name, std::move(value), "test");
  return params;
}

// Trains `model` on one fixed batch; returns {first loss, last loss}.
std::pair<double, double> overfit(DenoisingModel& model, const Corrupted& batch, UnitKind kind, int steps) {
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(3e-3).weight_decay(0.0));
  double first = 0, last = 0;
  for (int step = 0; step < steps; ++step) {
    optimizer.zero_grad();
    const cloze::MaskedLoss loss = cloze::masked_loss(model->forward(batch), batch, kind);
    loss.loss.backward();
    optimizer.step();
    last = loss.loss.item<double>();
    if (step == 0) first = last;
  }
  return {first, last};
}

}  // namespace

TEST_CASE("model output shapes", "[model]") {
  at::manual_seed(1);
  SECTION("discrete units") {
    DenoisingModel model(tiny_options(), text_units(), cloze::Grid{{12}}, ReconstructionMode::in_place);
    const Corrupted batch = text_batch(3, 12, 4);
    const int64_t scored = batch.loss_mask.sum().item<int64_t>();
    CHECK(model->encode(batch).sizes() == at::IntArrayRef({3, 12, 32}));
    const at::Tensor logits = model->forward(batch);
    CHECK(logits.sizes() == at::IntArrayRef({scored, vocab}));
  }
  SECTION("continuous units on a 2-d grid") {
    DenoisingModel model(tiny_options(), patch_units(6), cloze::Grid{{2, 4}}, ReconstructionMode::in_place);
    const Corrupted batch = patch_batch(2, 8, 6);
    const int64_t scored = batch.loss_mask.sum().item<int64_t>();
    CHECK(model->encode(batch).sizes() == at::IntArrayRef({2, 8, 32}));
    CHECK(model->forward(batch).sizes() == at::IntArrayRef({scored, 6}));
  }
}

TEST_CASE("predictions follow loss_mask in row-major order", "[model]") {
  at::manual_seed(2);
  DenoisingModel model(tiny_options(), text_units(), cloze::Grid{{10}}, ReconstructionMode::in_place);
  model->eval();
  const Corrupted batch = text_batch(3, 10);
  Corrupted everywhere = batch;
  everywhere.loss_mask = at::ones({3, 10}, at::kBool);
  at::NoGradGuard no_grad;
  const at::Tensor all = model->forward(everywhere);  // [30, V]
  const at::Tensor some = model->forward(batch);
  CHECK(some.size(0) == batch.loss_mask.sum().item<int64_t>());
  CHECK(some.allclose(all.index_select(0, batch.loss_mask.reshape({-1}).nonzero().squeeze(1)), 1e-5, 1e-6));
}

TEST_CASE("the loss counts masked positions only", "[model][loss]") {
  at::manual_seed(3);
  DenoisingModel model(tiny_options(), text_units(), cloze::Grid{{16}}, ReconstructionMode::in_place);
  model->eval();
  const Corrupted batch = text_batch(4, 16);
  at::NoGradGuard no_grad;
  const at::Tensor logits = model->forward(batch);
  const cloze::MaskedLoss base = cloze::masked_loss(logits, batch, UnitKind::discrete);
  CHECK(base.count == batch.loss_mask.sum().item<int64_t>());
  CHECK(logits.size(0) == base.count);

  Corrupted changed = batch;  // other targets where the loss does not count
  changed.target = batch.target.masked_scatter(batch.loss_mask.logical_not(),
                                               (batch.target + 5).remainder(vocab).masked_select(
                                                   batch.loss_mask.logical_not()));
  REQUIRE_FALSE(changed.target.equal(batch.target));
  CHECK(cloze::masked_loss(logits, changed, UnitKind::discrete).loss.item<double>() == base.loss.item<double>());

  Corrupted scored = batch;  // another target where it does count
  scored.target = batch.target.clone();
  scored.target.index_put_({0, 0}, (batch.target.index({0, 0}) + 1).remainder(vocab));
  CHECK(cloze::masked_loss(logits, scored, UnitKind::discrete).loss.item<double>() != base.loss.item<double>());
}

TEST_CASE("padded keys get no attention", "[model]") {
  at::manual_seed(4);
  DenoisingModel model(tiny_options(), text_units(), cloze::Grid{{10}}, ReconstructionMode::in_place);
  model->eval();
  at::NoGradGuard no_grad;
  const Corrupted batch = text_batch(2, 10, 4);
  const at::Tensor real = batch.input_padding.logical_not();
  const at::Tensor before = model->encode(batch);

  SECTION("filler inputs do not reach real positions") {
    Corrupted changed = batch;
    changed.input = batch.input.masked_fill(batch.input_padding, 7);
    const at::Tensor after = model->encode(changed);
    REQUIRE_FALSE(after.equal(before));  // the filler positions themselves did change
    CHECK(after.index({real}).allclose(before.index({real}), 1e-5, 1e-6));
  }
  SECTION("a real input does reach the other real positions") {
    Corrupted changed = batch;
    changed.input = batch.input.clone();
    changed.input.index_put_({1, 0}, (batch.input.index({1, 0}) + 1).remainder(vocab));
    const at::Tensor after = model->encode(changed);
    CHECK_FALSE(after[1][1].allclose(before[1][1], 1e-5, 1e-6));
  }
  SECTION("a row of filler only stays finite") {
    Corrupted all_filler = batch;
    all_filler.input_padding = batch.input_padding.clone();
    all_filler.input_padding[0].fill_(true);
    CHECK(model->encode(all_filler).isfinite().all().item<bool>());
  }
}

TEST_CASE("dropout acts in training mode only", "[model]") {
  at::manual_seed(9);
  DenoisingModel model(tiny_options(0.5), text_units(), cloze::Grid{{8}}, ReconstructionMode::in_place);
  const Corrupted batch = text_batch(2, 8);
  at::NoGradGuard no_grad;
  CHECK_FALSE(model->forward(batch).equal(model->forward(batch)));
  model->eval();
  CHECK(model->forward(batch).equal(model->forward(batch)));
}

TEST_CASE("the vocabulary head is tied to the token embedding", "[model]") {
  at::manual_seed(5);
  DenoisingModel model(tiny_options(), text_units(), cloze::Grid{{8}}, ReconstructionMode::in_place);
  int64_t vocab_matrices = 0;
  for (const auto& item : model->named_parameters())
    if (item.value().sizes() == at::IntArrayRef({vocab, 32})) ++vocab_matrices;
  CHECK(vocab_matrices == 1);

  // Id 15 never appears in the input, so only the decoder can give its
  // embedding row a gradient.
  Corrupted batch = text_batch(2, 8);
  batch.input = batch.input.clamp_max(14);
  batch.target = batch.target.clamp_max(14);
  cloze::masked_loss(model->forward(batch), batch, UnitKind::discrete).loss.backward();
  const at::Tensor grad = model->named_parameters()["token_embed.weight"].grad();
  REQUIRE(grad.defined());
  CHECK(grad[15].abs().sum().item<double>() > 0);
}

TEST_CASE("weights start as BERT's", "[model]") {
  at::manual_seed(6);
  DenoisingModel model(ModelOptions{64, 1, 4, 4.0, 0.1}, text_units(), cloze::Grid{{8}}, ReconstructionMode::in_place);
  const auto params = model->named_parameters();
  for (const char* name : {"blocks.0.attn.qkv.weight", "blocks.0.fc1.weight", "token_embed.weight", "pos_embed.weight",
                           "head_dense.weight"}) {
    INFO(name);
    CHECK(std::abs(params[name].std().item<double>() - 0.02) < 0.003);
  }
  for (const char* name : {"blocks.0.attn.qkv.bias", "blocks.0.attn.proj.bias", "blocks.0.fc2.bias", "head_bias",
                           "norm.bias"}) {
    INFO(name);
    CHECK(params[name].abs().max().item<double>() == 0.0);
  }
  for (const char* name : {"blocks.0.norm1.weight", "norm.weight", "head_norm.weight"}) {
    INFO(name);
    CHECK(params[name].eq(1).all().item<bool>());
  }
}

TEST_CASE("a tiny model overfits a fixed masked batch", "[model][slow]") {
  at::manual_seed(7);
  DenoisingModel model(tiny_options(), text_units(), cloze::Grid{{16}}, ReconstructionMode::in_place);
  const Corrupted batch = text_batch(4, 16, 3);
  const auto [first, last] = overfit(model, batch, UnitKind::discrete, 200);
  INFO("loss " << first << " -> " << last);
  CHECK(first > 0.9 * std::log(static_cast<double>(vocab)));  // starts near chance
  CHECK(last < 0.1 * first);
  model->eval();
  at::NoGradGuard no_grad;
  const cloze::MaskedLoss trained = cloze::masked_loss(model->forward(batch), batch, UnitKind::discrete);
  CHECK(trained.correct.item<int64_t>() == trained.count);
}

TEST_CASE("continuous units train with mean squared error", "[model][slow]") {
  at::manual_seed(8);
  DenoisingModel model(tiny_options(), patch_units(6), cloze::Grid{{2, 6}}, ReconstructionMode::in_place);
  const Corrupted batch = patch_batch(4, 12, 6);
  const auto [first, last] = overfit(model, batch, UnitKind::continuous, 200);
  INFO("loss " << first << " -> " << last);
  CHECK(last < 0.1 * first);
}

TEST_CASE("masked_loss values", "[loss]") {
  Corrupted c;
  c.loss_mask = at::tensor({0, 1, 1, 0, 1, 0}).to(at::kBool).view({2, 3});
  SECTION("cross-entropy and correct count on ids") {
    c.target = at::tensor(std::vector<int64_t>{0, 2, 1, 0, 0, 0}).view({2, 3});
    // scored targets in row-major order: 2, 1, 0
    const at::Tensor logits = at::tensor({0.0f, 0.0f, 5.0f,    // right
                                          3.0f, 0.0f, 0.0f,    // wrong (says 0, target 1)
                                          2.0f, 1.0f, 0.0f})   // right
                                  .view({3, 3});
    const cloze::MaskedLoss m = cloze::masked_loss(logits, c, UnitKind::discrete);
    CHECK(m.count == 3);
    CHECK(m.correct.item<int64_t>() == 2);
    const at::Tensor expected = -at::log_softmax(logits, 1)
                                     .gather(1, at::tensor(std::vector<int64_t>{2, 1, 0}).unsqueeze(1))
                                     .mean();
    CHECK(m.loss.item<double>() == Approx(expected.item<double>()));
  }
  SECTION("bf16 predictions are scored in float32") {
    c.target = at::zeros({2, 3}, at::kLong);
    const at::Tensor logits = at::randn({3, 4}).to(at::kBFloat16);
    const cloze::MaskedLoss m = cloze::masked_loss(logits, c, UnitKind::discrete);
    CHECK(m.loss.scalar_type() == at::kFloat);
    CHECK(m.loss.item<double>() == Approx(at::cross_entropy_loss(logits.to(at::kFloat), at::zeros({3}, at::kLong))
                                              .item<double>()));
  }
  SECTION("mean squared error over every value") {
    c.target = at::arange(12, at::kFloat).view({2, 3, 2});
    const at::Tensor values = at::zeros({3, 2});
    const cloze::MaskedLoss m = cloze::masked_loss(values, c, UnitKind::continuous);
    CHECK(m.count == 3);
    // scored rows hold 2,3 / 4,5 / 8,9
    CHECK(m.loss.item<double>() == Approx((4 + 9 + 16 + 25 + 64 + 81) / 6.0));
    CHECK(m.correct.item<int64_t>() == 0);
  }
  SECTION("nothing scored: a zero loss that still backpropagates") {
    c.loss_mask = at::zeros({2, 3}, at::kBool);
    c.target = at::zeros({2, 3}, at::kLong);
    const at::Tensor logits = at::randn({0, 5}).requires_grad_();
    const cloze::MaskedLoss m = cloze::masked_loss(logits, c, UnitKind::discrete);
    CHECK(m.count == 0);
    CHECK(m.loss.item<double>() == 0.0);
    CHECK(m.correct.item<int64_t>() == 0);
    m.loss.backward();
    CHECK(logits.grad().defined());
  }
  SECTION("a prediction count that disagrees with loss_mask") {
    c.target = at::zeros({2, 3}, at::kLong);
    CHECK_THROWS_WITH(cloze::masked_loss(at::zeros({2, 4}), c, UnitKind::discrete),
                      Catch::Contains("loss_mask marks 3"));
  }
}

TEST_CASE("model options are validated naming the key", "[model]") {
  const auto defaults = ModelOptions::from(cloze::Params("model", cloze::model_schema()));
  CHECK(defaults.dim % defaults.heads == 0);
  CHECK_THROWS_WITH(ModelOptions::from(model_params("heads", int64_t{3})), Catch::Contains("model.heads = 3"));
  CHECK_THROWS_WITH(ModelOptions::from(model_params("heads", int64_t{0})), Catch::Contains("model.heads"));
  CHECK_THROWS_WITH(ModelOptions::from(model_params("dim", int64_t{-8})), Catch::Contains("model.dim"));
  CHECK_THROWS_WITH(ModelOptions::from(model_params("layers", int64_t{0})), Catch::Contains("model.layers"));
  CHECK_THROWS_WITH(ModelOptions::from(model_params("mlp_ratio", 0.0)), Catch::Contains("model.mlp_ratio"));
  CHECK_THROWS_WITH(ModelOptions::from(model_params("dropout", 1.0)), Catch::Contains("model.dropout"));
  CHECK_NOTHROW(ModelOptions::from(model_params("dropout", 0.0)));
}

TEST_CASE("the model refuses what it cannot build", "[model]") {
  CHECK_THROWS_WITH(DenoisingModel(tiny_options(), text_units(), cloze::Grid{{8}}, ReconstructionMode::fill),
                    Catch::Contains("reconstruction mode 'fill' is not supported yet"));
  CHECK_THROWS_WITH(DenoisingModel(tiny_options(), text_units(), cloze::Grid{{8}}, ReconstructionMode::sequence),
                    Catch::Contains("'sequence'"));
  CHECK_THROWS_WITH(DenoisingModel(tiny_options(), patch_units(0), cloze::Grid{{8}}, ReconstructionMode::in_place),
                    Catch::Contains("unit_dim"));
  DenoisingModel model(tiny_options(), patch_units(6), cloze::Grid{{8}}, ReconstructionMode::in_place);
  Corrupted wrong = patch_batch(2, 8, 5);
  CHECK_THROWS_WITH(model->forward(wrong), Catch::Contains("[B, N, 6]"));
}
