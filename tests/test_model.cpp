// The denoising model and the masked loss: shapes, scoring only where
// loss_mask is true, padding never attended to, BERT's tied head and init,
// option validation, and tiny models that overfit a fixed batch; the fused
// attention against a manual softmax; the encoder-decoder of sequence mode:
// causality, cross-attention padding, greedy generation of a learned task.
#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>
#include <torch/optim/adamw.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "cloze/core/corrupted.h"
#include "cloze/core/error.h"
#include "cloze/core/grid.h"
#include "cloze/core/params.h"
#include "cloze/core/units.h"
#include "cloze/model/loss.h"
#include "cloze/model/model.h"
#include "cloze/model/transformer.h"
#include "cloze/train/decoding_score.h"
#include "toy_tokens.h"

using cloze::Corrupted;
using cloze::DenoisingModel;
using cloze::ModelOptions;
using cloze::ModelShape;
using cloze::ReconstructionMode;
using cloze::UnitKind;
using cloze::UnitSpec;

namespace {

using toy_tokens::mask_id;
using toy_tokens::pad_id;
constexpr int64_t vocab = 16;

ModelOptions tiny_options(double dropout = 0.0) { return {32, 2, 4, 4.0, dropout}; }

UnitSpec text_units() { return toy_tokens::units(vocab); }

// A shape whose position tables fit the grid exactly, as for BERT-style corruptions.
ModelShape shape_for(const UnitSpec& units, const cloze::Grid& grid,
                     ReconstructionMode mode = ReconstructionMode::in_place) {
  return {units, grid, mode, grid.numel(), grid.numel()};
}

UnitSpec patch_units(int64_t unit_dim) {
  UnitSpec units;
  units.kind = UnitKind::continuous;
  units.unit_dim = unit_dim;
  return units;
}

// A BERT-style batch: about a quarter of the real tokens masked and scored.
Corrupted text_batch(int64_t batch, int64_t length, int64_t padded = 0) {
  return toy_tokens::masked(batch, length, vocab, 0.25, padded);
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
std::pair<double, double> overfit(DenoisingModel& model, const Corrupted& batch, const UnitSpec& units, int steps) {
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(3e-3).weight_decay(0.0));
  double first = 0, last = 0;
  for (int step = 0; step < steps; ++step) {
    optimizer.zero_grad();
    const cloze::MaskedLoss loss = cloze::masked_loss(model->forward(batch), batch, units);
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
    DenoisingModel model(tiny_options(), shape_for(text_units(), cloze::Grid{{12}}));
    const Corrupted batch = text_batch(3, 12, 4);
    const int64_t scored = batch.loss_mask.sum().item<int64_t>();
    CHECK(model->encode(batch).sizes() == at::IntArrayRef({3, 12, 32}));
    const at::Tensor logits = model->forward(batch);
    CHECK(logits.sizes() == at::IntArrayRef({scored, vocab}));
  }
  SECTION("continuous units on a 2-d grid") {
    DenoisingModel model(tiny_options(), shape_for(patch_units(6), cloze::Grid{{2, 4}}));
    const Corrupted batch = patch_batch(2, 8, 6);
    const int64_t scored = batch.loss_mask.sum().item<int64_t>();
    CHECK(model->encode(batch).sizes() == at::IntArrayRef({2, 8, 32}));
    CHECK(model->forward(batch).sizes() == at::IntArrayRef({scored, 6}));
  }
}

TEST_CASE("predictions follow loss_mask in row-major order", "[model]") {
  at::manual_seed(2);
  DenoisingModel model(tiny_options(), shape_for(text_units(), cloze::Grid{{10}}));
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
  DenoisingModel model(tiny_options(), shape_for(text_units(), cloze::Grid{{16}}));
  model->eval();
  const Corrupted batch = text_batch(4, 16);
  at::NoGradGuard no_grad;
  const at::Tensor logits = model->forward(batch);
  const cloze::MaskedLoss base = cloze::masked_loss(logits, batch, text_units());
  CHECK(base.count == batch.loss_mask.sum().item<int64_t>());
  CHECK(logits.size(0) == base.count);

  Corrupted changed = batch;  // other targets where the loss does not count
  changed.target = batch.target.masked_scatter(batch.loss_mask.logical_not(),
                                               (batch.target + 5).remainder(vocab).masked_select(
                                                   batch.loss_mask.logical_not()));
  REQUIRE_FALSE(changed.target.equal(batch.target));
  CHECK(cloze::masked_loss(logits, changed, text_units()).loss.item<double>() == base.loss.item<double>());

  Corrupted scored = batch;  // another target where it does count
  scored.target = batch.target.clone();
  scored.target.index_put_({0, 0}, (batch.target.index({0, 0}) + 1).remainder(vocab));
  CHECK(cloze::masked_loss(logits, scored, text_units()).loss.item<double>() != base.loss.item<double>());
}

TEST_CASE("padded keys get no attention", "[model]") {
  at::manual_seed(4);
  DenoisingModel model(tiny_options(), shape_for(text_units(), cloze::Grid{{10}}));
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
  DenoisingModel model(tiny_options(0.5), shape_for(text_units(), cloze::Grid{{8}}));
  const Corrupted batch = text_batch(2, 8);
  at::NoGradGuard no_grad;
  CHECK_FALSE(model->forward(batch).equal(model->forward(batch)));
  model->eval();
  CHECK(model->forward(batch).equal(model->forward(batch)));
}

TEST_CASE("the vocabulary head is tied to the token embedding", "[model]") {
  at::manual_seed(5);
  DenoisingModel model(tiny_options(), shape_for(text_units(), cloze::Grid{{8}}));
  int64_t vocab_matrices = 0;
  for (const auto& item : model->named_parameters())
    if (item.value().sizes() == at::IntArrayRef({vocab, 32})) ++vocab_matrices;
  CHECK(vocab_matrices == 1);

  // Id 15 never appears in the input, so only the decoder can give its
  // embedding row a gradient.
  Corrupted batch = text_batch(2, 8);
  batch.input = batch.input.clamp_max(14);
  batch.target = batch.target.clamp_max(14);
  cloze::masked_loss(model->forward(batch), batch, text_units()).loss.backward();
  const at::Tensor grad = model->named_parameters()["token_embed.weight"].grad();
  REQUIRE(grad.defined());
  CHECK(grad[15].abs().sum().item<double>() > 0);
}

TEST_CASE("weights start as BERT's", "[model]") {
  at::manual_seed(6);
  DenoisingModel model(ModelOptions{64, 1, 4, 4.0, 0.1}, shape_for(text_units(), cloze::Grid{{8}}));
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
  DenoisingModel model(tiny_options(), shape_for(text_units(), cloze::Grid{{16}}));
  const Corrupted batch = text_batch(4, 16, 3);
  const auto [first, last] = overfit(model, batch, text_units(), 200);
  INFO("loss " << first << " -> " << last);
  CHECK(first > 0.9 * std::log(static_cast<double>(vocab)));  // starts near chance
  CHECK(last < 0.1 * first);
  model->eval();
  at::NoGradGuard no_grad;
  const cloze::MaskedLoss trained = cloze::masked_loss(model->forward(batch), batch, text_units());
  CHECK(trained.correct.item<int64_t>() == trained.count);
}

TEST_CASE("continuous units train with mean squared error", "[model][slow]") {
  at::manual_seed(8);
  DenoisingModel model(tiny_options(), shape_for(patch_units(6), cloze::Grid{{2, 6}}));
  const Corrupted batch = patch_batch(4, 12, 6);
  const auto [first, last] = overfit(model, batch, patch_units(6), 200);
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
    const cloze::MaskedLoss m = cloze::masked_loss(logits, c, text_units());
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
    const cloze::MaskedLoss m = cloze::masked_loss(logits, c, text_units());
    CHECK(m.loss.scalar_type() == at::kFloat);
    CHECK(m.loss.item<double>() == Approx(at::cross_entropy_loss(logits.to(at::kFloat), at::zeros({3}, at::kLong))
                                              .item<double>()));
  }
  SECTION("mean squared error over every value") {
    c.target = at::arange(12, at::kFloat).view({2, 3, 2});
    const at::Tensor values = at::zeros({3, 2});
    const cloze::MaskedLoss m = cloze::masked_loss(values, c, patch_units(2));
    CHECK(m.count == 3);
    // scored rows hold 2,3 / 4,5 / 8,9
    CHECK(m.loss.item<double>() == Approx((4 + 9 + 16 + 25 + 64 + 81) / 6.0));
    CHECK(m.correct.item<int64_t>() == 0);
  }
  SECTION("nothing scored: a zero loss that still backpropagates") {
    c.loss_mask = at::zeros({2, 3}, at::kBool);
    c.target = at::zeros({2, 3}, at::kLong);
    const at::Tensor logits = at::randn({0, 5}).requires_grad_();
    const cloze::MaskedLoss m = cloze::masked_loss(logits, c, text_units());
    CHECK(m.count == 0);
    CHECK(m.loss.item<double>() == 0.0);
    CHECK(m.correct.item<int64_t>() == 0);
    m.loss.backward();
    CHECK(logits.grad().defined());
  }
  SECTION("a prediction count that disagrees with loss_mask") {
    c.target = at::zeros({2, 3}, at::kLong);
    CHECK_THROWS_WITH(cloze::masked_loss(at::zeros({2, 4}), c, text_units()),
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
  CHECK_THROWS_WITH(ModelOptions::from(model_params("decoder_layers", int64_t{-1})),
                    Catch::Contains("model.decoder_layers"));
  CHECK(ModelOptions::from(model_params("decoder_layers", int64_t{3})).decoder_depth() == 3);
  CHECK_THROWS_WITH(ModelOptions::from(model_params("positions", std::string("rope"))),
                    Catch::Contains("must be auto, learned or sincos"));
  CHECK_THROWS_WITH(ModelOptions::from(model_params("decoder_dim", int64_t{30})),
                    Catch::Contains("must divide the decoder's width 30"));
  CHECK_FALSE(ModelOptions::from(model_params("tie_embeddings", false)).tie_embeddings);
}

TEST_CASE("the model refuses what it cannot build", "[model]") {
  const cloze::Grid grid{{8}};
  CHECK_THROWS_WITH(DenoisingModel(tiny_options(), ModelShape{text_units(), grid, ReconstructionMode::fill, 8, 0}),
                    Catch::Contains("fill reconstruction needs max_target_length > 0"));
  ModelOptions odd_width{30, 1, 3, 4.0, 0.0};  // 30 does not split into sin and cos bands for 2 axes
  CHECK_THROWS_WITH(DenoisingModel(odd_width, shape_for(patch_units(6), cloze::Grid{{2, 4}})),
                    Catch::Contains("multiple of 4"));
  // text_units() has no bos id for the decoder to start from
  CHECK_THROWS_WITH(DenoisingModel(tiny_options(), shape_for(text_units(), grid, ReconstructionMode::sequence)),
                    Catch::Contains("bos_id is -1"));
  CHECK_THROWS_WITH(DenoisingModel(tiny_options(), shape_for(patch_units(6), grid, ReconstructionMode::sequence)),
                    Catch::Contains("needs discrete units"));
  CHECK_THROWS_WITH(DenoisingModel(tiny_options(), shape_for(patch_units(0), grid)), Catch::Contains("unit_dim"));
  CHECK_THROWS_WITH(DenoisingModel(tiny_options(), ModelShape{text_units(), grid, ReconstructionMode::in_place, 0, 0}),
                    Catch::Contains("max_input_length is 0"));
  DenoisingModel model(tiny_options(), shape_for(patch_units(6), grid));
  Corrupted wrong = patch_batch(2, 8, 5);
  CHECK_THROWS_WITH(model->forward(wrong), Catch::Contains("[B, N, 6]"));
  CHECK_THROWS_WITH(model->generate(patch_batch(2, 8, 6), 4), Catch::Contains("sequence reconstruction"));
}

TEST_CASE("in-place position table has max_input_length rows", "[model]") {
  DenoisingModel model(tiny_options(), ModelShape{text_units(), cloze::Grid{{8}}, ReconstructionMode::in_place, 11, 0});
  CHECK(model->named_parameters()["pos_embed.weight"].size(0) == 11);
}

namespace {

// Q K^T / sqrt(head_dim), softmax where `allowed` ([.., N, S] bool) is true,
// times V, heads merged and projected: what the fused kernel must compute.
at::Tensor manual_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed,
                            const at::Tensor& proj_weight, const at::Tensor& proj_bias) {
  const at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  const at::Tensor out = at::matmul(at::softmax(scores.masked_fill(allowed.logical_not(), -INFINITY), -1), v);
  return at::linear(out.transpose(1, 2).reshape({q.size(0), q.size(2), -1}), proj_weight, proj_bias);
}

// [B, N, heads * head_dim] -> [B, heads, N, head_dim]
at::Tensor heads_of(const at::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, -1}).transpose(1, 2);
}

}  // namespace

TEST_CASE("fused attention matches a manual softmax", "[model][attention]") {
  at::manual_seed(10);
  at::NoGradGuard no_grad;
  const int64_t heads = 2;
  const at::Tensor x = at::randn({2, 5, 16});  // [B, N, dim]

  SECTION("causal self-attention") {
    cloze::Attention attention(16, heads, 0.0, cloze::AttentionKind::self);
    auto params = attention->named_parameters();
    const auto qkv = at::linear(x, params["qkv.weight"], params["qkv.bias"]).split(16, 2);
    const at::Tensor causal = at::ones({5, 5}, at::kBool).tril();
    const at::Tensor expected = manual_attention(heads_of(qkv[0], heads), heads_of(qkv[1], heads),
                                                 heads_of(qkv[2], heads), causal, params["proj.weight"],
                                                 params["proj.bias"]);
    CHECK(attention->forward(x, at::Tensor(), /*causal=*/true).allclose(expected, 1e-5, 1e-6));
    CHECK_FALSE(attention->forward(x, at::Tensor(), /*causal=*/false).allclose(expected, 1e-5, 1e-6));
  }
  SECTION("cross-attention over padded memory") {
    cloze::Attention attention(16, heads, 0.0, cloze::AttentionKind::cross);
    auto params = attention->named_parameters();
    const at::Tensor memory = at::randn({2, 7, 16});  // [B, S, dim]
    at::Tensor padding = at::zeros({2, 7}, at::kBool);
    padding[1].narrow(0, 4, 3).fill_(true);
    const at::Tensor mask = cloze::key_padding_mask(padding);  // [B, 1, 1, S]
    const auto kv = at::linear(memory, params["kv.weight"], params["kv.bias"]).split(16, 2);
    const at::Tensor expected =
        manual_attention(heads_of(at::linear(x, params["q.weight"], params["q.bias"]), heads), heads_of(kv[0], heads),
                         heads_of(kv[1], heads), mask, params["proj.weight"], params["proj.bias"]);
    CHECK(attention->forward(x, memory, mask).allclose(expected, 1e-5, 1e-6));
    CHECK_FALSE(attention->forward(x, memory, at::Tensor()).allclose(expected, 1e-5, 1e-6));
  }
}

namespace {

constexpr int64_t bos_id = 2, eos_id = 3;

UnitSpec seq_units() {
  UnitSpec units = text_units();
  units.bos_id = bos_id;
  units.eos_id = eos_id;
  units.special_ids = {pad_id, mask_id, bos_id, eos_id};
  return units;
}

// Room for inputs of `length` and targets of `length` + 1 (the eos).
ModelShape seq_shape(int64_t length) {
  return {seq_units(), cloze::Grid{{length}}, ReconstructionMode::sequence, length, length + 1};
}

// A sequence-to-sequence batch: each row's input is length - (row % 3) ordinary
// tokens then filler, its target those tokens reversed, then eos, then pad; the
// decoder reads the target shifted right behind bos; every real target token
// (eos included) is scored.
Corrupted reverse_batch(int64_t batch, int64_t length) {
  Corrupted c;
  c.mode = ReconstructionMode::sequence;
  c.input = at::full({batch, length}, pad_id, at::kLong);
  c.input_padding = at::ones({batch, length}, at::kBool);
  c.target = at::full({batch, length + 1}, pad_id, at::kLong);
  c.loss_mask = at::zeros({batch, length + 1}, at::kBool);
  for (int64_t row = 0; row < batch; ++row) {
    const int64_t real = length - row % 3;
    const at::Tensor tokens = at::randint(4, vocab, {real}, at::kLong);
    c.input[row].narrow(0, 0, real).copy_(tokens);
    c.input_padding[row].narrow(0, 0, real).fill_(false);
    c.target[row].narrow(0, 0, real).copy_(tokens.flip(0));
    c.target[row][real] = eos_id;
    c.loss_mask[row].narrow(0, 0, real + 1).fill_(true);
  }
  c.input_positions = at::arange(length, at::kLong).expand({batch, length}).contiguous();
  c.decoder_input = at::cat({at::full({batch, 1}, bos_id, at::kLong), c.target.narrow(1, 0, length)}, 1);
  return c;
}

// Predictions at every target position, [B, N_t, V].
at::Tensor all_predictions(DenoisingModel& model, Corrupted batch) {
  batch.loss_mask = at::ones(batch.decoder_input.sizes(), at::kBool);
  return model->forward(batch).view({batch.decoder_input.size(0), batch.decoder_input.size(1), -1});
}

int64_t count_blocks(DenoisingModel& model, const std::string& prefix) {
  int64_t blocks = 0;
  while (model->named_parameters().contains(prefix + std::to_string(blocks) + ".fc1.weight")) ++blocks;
  return blocks;
}

}  // namespace

TEST_CASE("sequence mode predicts at the decoder's scored positions", "[model][sequence]") {
  at::manual_seed(11);
  DenoisingModel model(tiny_options(), seq_shape(6));
  const Corrupted batch = reverse_batch(3, 6);
  const at::Tensor memory = model->encode(batch);
  CHECK(memory.sizes() == at::IntArrayRef({3, 6, 32}));
  CHECK(model->decode(batch.decoder_input, memory, batch.input_padding).sizes() == at::IntArrayRef({3, 7, 32}));
  const int64_t scored = batch.loss_mask.sum().item<int64_t>();
  REQUIRE(scored < 3 * 7);  // shorter rows leave target padding unscored
  CHECK(model->forward(batch).sizes() == at::IntArrayRef({scored, vocab}));

  Corrupted wrong = batch;
  wrong.loss_mask = at::ones({3, 6}, at::kBool);  // the encoder's length, not the decoder's
  CHECK_THROWS_WITH(model->forward(wrong), Catch::Contains("[B, N_t]"));
  Corrupted too_long = reverse_batch(3, 7);
  too_long.input = too_long.input.narrow(1, 0, 6);
  too_long.input_positions = too_long.input_positions.narrow(1, 0, 6);
  too_long.input_padding = too_long.input_padding.narrow(1, 0, 6);
  CHECK_THROWS_WITH(model->forward(too_long), Catch::Contains("max_target_length"));
}

TEST_CASE("the decoder is causal and reads the encoder", "[model][sequence]") {
  at::manual_seed(12);
  DenoisingModel model(tiny_options(), seq_shape(6));
  model->eval();
  at::NoGradGuard no_grad;
  const Corrupted batch = reverse_batch(2, 6);
  const at::Tensor before = all_predictions(model, batch);  // [B, 7, V]
  const int64_t changed_at = 3;

  SECTION("a decoder input reaches its own and later positions only") {
    Corrupted changed = batch;
    changed.decoder_input = batch.decoder_input.clone();
    changed.decoder_input.select(1, changed_at).add_(1).remainder_(vocab);
    const at::Tensor after = all_predictions(model, changed);
    CHECK(after.narrow(1, 0, changed_at).allclose(before.narrow(1, 0, changed_at), 1e-5, 1e-6));
    for (int64_t t = changed_at; t < 7; ++t) {
      INFO("target position " << t);
      CHECK_FALSE(after.select(1, t).allclose(before.select(1, t), 1e-5, 1e-6));
    }
  }
  SECTION("a real input reaches every target position") {
    Corrupted changed = batch;
    changed.input = batch.input.clone();
    changed.input.index_put_({0, 0}, (batch.input.index({0, 0}) + 1).remainder(vocab));
    const at::Tensor after = all_predictions(model, changed);
    for (int64_t t = 0; t < 7; ++t) {
      INFO("target position " << t);
      CHECK_FALSE(after[0][t].allclose(before[0][t], 1e-5, 1e-6));
    }
  }
  SECTION("filler inputs reach no target position") {
    Corrupted changed = batch;
    changed.input = batch.input.masked_fill(batch.input_padding, 9);
    REQUIRE_FALSE(changed.input.equal(batch.input));
    CHECK(all_predictions(model, changed).allclose(before, 1e-5, 1e-6));
  }
}

TEST_CASE("decoder depth and output layer follow the options", "[model][sequence]") {
  at::manual_seed(13);
  SECTION("decoder_layers defaults to layers") {
    CHECK(ModelOptions::from(cloze::Params("model", cloze::model_schema())).decoder_depth() ==
          ModelOptions::from(cloze::Params("model", cloze::model_schema())).layers);
    DenoisingModel model(tiny_options(), seq_shape(6));
    CHECK(count_blocks(model, "blocks.") == 2);
    CHECK(count_blocks(model, "decoder_blocks.") == 2);
    ModelOptions deeper = tiny_options();
    deeper.decoder_layers = 3;
    DenoisingModel deep(deeper, seq_shape(6));
    CHECK(count_blocks(deep, "decoder_blocks.") == 3);
    CHECK(deep->named_parameters()["decoder_pos_embed.weight"].size(0) == 7);
  }
  SECTION("tie_embeddings: one vocabulary matrix shared by encoder, decoder and head, or a separate head") {
    const auto vocab_matrices = [](DenoisingModel& model) {
      int64_t count = 0;
      for (const auto& item : model->named_parameters())
        if (item.value().sizes() == at::IntArrayRef({vocab, 32})) ++count;
      return count;
    };
    DenoisingModel tied(tiny_options(), seq_shape(6));
    CHECK(vocab_matrices(tied) == 1);
    ModelOptions untied_options = tiny_options();
    untied_options.tie_embeddings = false;
    DenoisingModel untied(untied_options, seq_shape(6));
    CHECK(vocab_matrices(untied) == 2);
    CHECK(untied->named_parameters().contains("head_out.weight"));
    CHECK_FALSE(untied->named_parameters().contains("head_bias"));
  }
}

TEST_CASE("a tiny encoder-decoder learns to reverse and generates it", "[model][sequence][slow]") {
  at::manual_seed(14);
  DenoisingModel model(tiny_options(), seq_shape(6));
  const Corrupted batch = reverse_batch(6, 6);
  {
    at::NoGradGuard no_grad;
    const cloze::DecodingScore untrained = cloze::score_greedy_decoding(model, batch);
    CHECK(untrained.token_accuracy < 0.5);
    CHECK(untrained.exact_match == 0.0);
    model->train();
  }
  const auto [first, last] = overfit(model, batch, text_units(), 300);
  INFO("loss " << first << " -> " << last);
  CHECK(first > 0.9 * std::log(static_cast<double>(vocab)));
  CHECK(last < 0.1 * first);

  model->eval();
  const at::Tensor generated = model->generate(batch, 7);  // [B, L]
  INFO("generated " << generated << "\ntarget " << batch.target);
  // Rows of different lengths: each stops at its eos and is padded after it.
  CHECK(generated.equal(batch.target));
  CHECK(model->generate(batch, 2).equal(batch.target.narrow(1, 0, 2)));
  CHECK_THROWS_WITH(model->generate(batch, 8), Catch::Contains("max_target_length"));

  at::NoGradGuard no_grad;
  const cloze::DecodingScore trained = cloze::score_greedy_decoding(model, batch);
  CHECK(trained.token_accuracy == 1.0);
  CHECK(trained.exact_match == 1.0);
  CHECK(trained.tokens == batch.loss_mask.sum().item<int64_t>());
  Corrupted one_wrong = batch;  // a target token the model cannot know costs that token and its row
  one_wrong.target = batch.target.clone();
  one_wrong.target.index_put_({0, 0}, (batch.target.index({0, 0}) + 1).remainder(vocab));
  const cloze::DecodingScore scored = cloze::score_greedy_decoding(model, one_wrong);
  CHECK(scored.token_accuracy == Approx(1.0 - 1.0 / static_cast<double>(trained.tokens)));
  CHECK(scored.exact_match == Approx(5.0 / 6.0));
}

TEST_CASE("detect mode: one logit per unit, the sigmoid loss, and a tiny model learns to spot replacements",
          "[model][loss]") {
  at::manual_seed(3);
  DenoisingModel model(tiny_options(), shape_for(text_units(), cloze::Grid{{16}}, ReconstructionMode::detect));
  // Replacements are the ids >= 12, which the originals never use: learnable from the unit alone.
  Corrupted batch;
  batch.mode = ReconstructionMode::detect;
  const at::Tensor original = at::randint(2, 12, {4, 16}, at::kLong);
  const at::Tensor replaced = at::rand({4, 16}) < 0.3;
  batch.input = at::where(replaced, at::randint(12, vocab, {4, 16}, at::kLong), original);
  batch.input_positions = at::arange(16, at::kLong).expand({4, 16}).contiguous();
  batch.input_padding = at::zeros({4, 16}, at::kBool);
  batch.target = replaced.to(at::kLong);
  batch.loss_mask = at::ones({4, 16}, at::kBool);

  const at::Tensor logits = model->forward(batch);
  REQUIRE(logits.sizes() == at::IntArrayRef{64, 1});
  const cloze::MaskedLoss loss = cloze::masked_loss(logits, batch, text_units());
  const at::Tensor p = logits.squeeze(1).sigmoid();
  const at::Tensor labels = replaced.reshape({-1}).to(at::kFloat);
  const double expected = -(labels * p.log() + (1 - labels) * (1 - p).log()).mean().item<double>();
  CHECK(loss.loss.item<double>() == Approx(expected).epsilon(1e-5));
  CHECK(loss.count == 64);
  CHECK(loss.correct.item<int64_t>() == logits.squeeze(1).gt(0).eq(replaced.reshape({-1})).sum().item<int64_t>());

  const auto [first, last] = overfit(model, batch, text_units(), 100);
  INFO("loss " << first << " -> " << last);
  CHECK(last < 0.1 * first);
}
