// The objectives that bring a second network: ELECTRA's generator (its
// samples replace exactly the masked units, and the detection loss sends it no
// gradient) and data2vec's teacher (an exact EMA of the encoder that never
// takes a gradient, instance-normalised targets as torch's instance_norm
// computes them, the decay schedule), and the model options and shapes they
// refuse, naming the key.
#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <string>

#include "cloze/core/corrupted.h"
#include "cloze/core/error.h"
#include "cloze/core/grid.h"
#include "cloze/core/params.h"
#include "cloze/core/units.h"
#include "cloze/model/generator.h"
#include "cloze/model/latent_target.h"
#include "cloze/model/loss.h"
#include "cloze/model/model.h"
#include "cloze/model/objective.h"
#include "cloze/train/train_step.h"
#include "toy_tokens.h"

using cloze::Corrupted;
using cloze::DenoisingModel;
using cloze::ModelOptions;
using cloze::ModelShape;
using cloze::ReconstructionMode;
using cloze::UnitKind;
using cloze::UnitSpec;

namespace {

constexpr int64_t vocab = 24;

UnitSpec text_units() { return toy_tokens::units(vocab); }

ModelShape text_shape(int64_t length) {
  return {text_units(), cloze::Grid{{length}}, ReconstructionMode::in_place, length, length};
}

ModelOptions electra_options() {
  ModelOptions options{32, 2, 2, 2.0, 0.0};
  options.generator = 0.5;
  return options;
}

ModelOptions data2vec_options(int64_t layers = 3) {
  ModelOptions options{32, layers, 2, 2.0, 0.0};
  options.target = "latent";
  options.target_layers = 2;
  return options;
}

// BERT-style: a third of the real tokens masked and scored; row 1 ends in
// `padded` filler units.
Corrupted masked_text(int64_t batch, int64_t length, int64_t padded = 0) {
  return toy_tokens::masked(batch, length, vocab, 0.33, padded);
}

std::map<std::string, at::Tensor> generator_parameters(DenoisingModel& model) {
  std::map<std::string, at::Tensor> found;
  for (const auto& item : model->named_parameters())
    if (item.key().rfind("generator.", 0) == 0) found.emplace(item.key(), item.value());
  return found;
}

cloze::Params model_params(const std::string& name, cloze::Value value) {
  cloze::Params params("model", cloze::model_schema());
  params.set(name, std::move(value), "test");
  return params;
}

}  // namespace

TEST_CASE("ELECTRA: the generator's samples replace the masked units and nothing else", "[objective][electra]") {
  at::manual_seed(3);
  const Corrupted masked = masked_text(4, 12, 3);
  const int64_t scored = masked.loss_mask.sum().item<int64_t>();
  // Logits that put all mass on id 5, except the first scored unit's, which
  // are all mass on its own original id.
  at::Tensor logits = at::full({scored, vocab}, -1e4);
  logits.select(1, 5).fill_(1e4);
  const int64_t first_original = masked.target[0][0].item<int64_t>();
  logits[0].fill_(-1e4);
  logits[0][first_original] = 1e4;

  const Corrupted detect = cloze::with_generated_replacements(masked, logits);
  CHECK(detect.mode == ReconstructionMode::detect);
  const at::Tensor expected_input =
      masked.target.masked_fill(masked.loss_mask, 5).index_put_({0, 0}, first_original);
  CHECK(at::equal(detect.input, expected_input));
  // Replaced = changed: a masked unit whose original was 5, or the one that
  // drew its own original, counts as kept, as ELECTRA labels it.
  CHECK(at::equal(detect.target, detect.input.ne(masked.target).to(at::kLong)));
  CHECK(detect.target[0][0].item<int64_t>() == 0);
  CHECK(at::equal(detect.loss_mask, masked.input_padding.logical_not()));
  CHECK(at::equal(detect.input_positions, masked.input_positions));
}

TEST_CASE("ELECTRA: no gradient reaches the generator from the detection loss", "[objective][electra]") {
  at::manual_seed(4);
  DenoisingModel model(electra_options(), text_shape(12));
  const UnitSpec units = text_units();
  const Corrupted masked = masked_text(4, 12, 2);
  REQUIRE(model->generator());
  const at::Tensor logits = model->generator()->forward(masked, model->token_embedding(), model->position_embedding());
  REQUIRE(logits.sizes() == at::IntArrayRef({masked.loss_mask.sum().item<int64_t>(), vocab}));
  const Corrupted detect = cloze::with_generated_replacements(masked, logits);

  cloze::masked_loss(model->forward(detect), detect, units).loss.backward();
  for (const auto& [name, parameter] : generator_parameters(model)) {
    INFO(name);
    CHECK((!parameter.grad().defined() || parameter.grad().abs().max().item<double>() == 0.0));
  }
  // The shared embedding learns from the discriminator.
  CHECK(model->token_embedding().grad().abs().max().item<double>() > 0.0);

  // The generator's own MLM loss does reach every generator tensor.
  for (auto& parameter : model->parameters()) parameter.mutable_grad().reset();
  cloze::masked_loss(logits, masked, units).loss.backward();
  for (const auto& [name, parameter] : generator_parameters(model)) {
    INFO(name);
    REQUIRE(parameter.grad().defined());
    CHECK(parameter.grad().abs().max().item<double>() > 0.0);
  }
}

TEST_CASE("ELECTRA's loss is the generator's MLM loss plus lambda times detection", "[objective][electra]") {
  at::manual_seed(5);
  DenoisingModel model(electra_options(), text_shape(12));
  model->eval();
  const Corrupted masked = masked_text(3, 12);
  at::manual_seed(9);
  const cloze::ObjectiveLoss objective = cloze::objective_loss(model, masked, text_units());
  REQUIRE(objective.parts.size() == 5);
  CHECK(objective.parts[0].first == "generator");
  CHECK(objective.parts[1].first == "detection");
  CHECK(objective.parts[2].first == "replaced");
  CHECK(objective.parts[3].first == "kept");
  CHECK(objective.parts[4].first == "ranked");
  const double expected =
      objective.parts[0].second.loss.item<double>() + 50.0 * objective.parts[1].second.loss.item<double>();
  CHECK(objective.loss.loss.item<double>() == Approx(expected).epsilon(1e-6));
  CHECK(objective.loss.count == 36);  // every unit of 3 rows of 12, detected
  CHECK(objective.parts[0].second.count == masked.loss_mask.sum().item<int64_t>());
  CHECK(objective.parts[2].second.count <= objective.parts[0].second.count);
  // The replaced and the kept units split the detected ones, and so do
  // their right calls and their losses.
  const cloze::MaskedLoss &detection = objective.parts[1].second, &replaced = objective.parts[2].second,
                          &kept = objective.parts[3].second;
  CHECK(replaced.count + kept.count == detection.count);
  CHECK(replaced.correct.item<int64_t>() + kept.correct.item<int64_t>() == detection.correct.item<int64_t>());
  const double summed = (replaced.loss.item<double>() * static_cast<double>(replaced.count) +
                         kept.loss.item<double>() * static_cast<double>(kept.count)) /
                        static_cast<double>(detection.count);
  CHECK(summed == Approx(detection.loss.item<double>()).epsilon(1e-5));
}

TEST_CASE("ELECTRA's detection parts: each side at 0.5, and the ranking against the replaced share",
          "[objective][electra]") {
  at::manual_seed(12);
  Corrupted detect;
  detect.mode = ReconstructionMode::detect;
  detect.loss_mask = at::ones({40, 50}, at::kBool);
  detect.loss_mask[3].narrow(0, 40, 10).fill_(false);  // filler, never scored
  detect.target = (at::rand({40, 50}) < 0.15).to(at::kLong);
  const at::Tensor labels = detect.target.masked_select(detect.loss_mask);  // [M]
  const int64_t replaced = labels.sum().item<int64_t>(), detected = labels.size(0);
  const auto parts_for = [&](const at::Tensor& scores) {
    std::map<std::string, cloze::MaskedLoss> parts;
    for (auto& [name, part] : cloze::detection_parts(scores.unsqueeze(1), detect)) parts[name] = part;
    return parts;
  };

  // A model sure of every unit, and right.
  auto sure = parts_for(labels.to(at::kFloat) * 8.0 - 4.0);
  CHECK(sure["replaced"].count == replaced);
  CHECK(sure["kept"].count == detected - replaced);
  CHECK(sure["replaced"].correct.item<int64_t>() == replaced);
  CHECK(sure["kept"].correct.item<int64_t>() == detected - replaced);
  CHECK(sure["ranked"].count == replaced);
  CHECK(sure["ranked"].correct.item<int64_t>() == replaced);
  CHECK(sure["replaced"].loss.item<double>() == Approx(std::log1p(std::exp(-4.0))));

  // Unsure of every unit but ranking them right: it calls none replaced at
  // 0.5, and its ranking still catches every one.
  auto unsure = parts_for(labels.to(at::kFloat) * 0.5 - 2.0);
  CHECK(unsure["replaced"].correct.item<int64_t>() == 0);
  CHECK(unsure["kept"].correct.item<int64_t>() == detected - replaced);
  CHECK(unsure["ranked"].correct.item<int64_t>() == replaced);

  // Ranking at random catches about the replaced share: 15% of ~300, within
  // 3 standard deviations over 20 draws' mean.
  double caught = 0;
  for (int draw = 0; draw < 20; ++draw)
    caught += static_cast<double>(parts_for(at::randn({detected}))["ranked"].correct.item<int64_t>());
  const double share = static_cast<double>(replaced) / static_cast<double>(detected);
  const double expected = share * static_cast<double>(replaced);
  CHECK(std::abs(caught / 20.0 - expected) < 3.0 * std::sqrt(expected * (1.0 - share) / 20.0));
}

TEST_CASE("data2vec: the teacher is an exact EMA of the encoder and never takes gradients", "[objective][data2vec]") {
  at::manual_seed(6);
  DenoisingModel model(data2vec_options(), text_shape(10));
  const auto teacher = model->teacher();
  REQUIRE(teacher);
  // It starts as the encoder itself.
  const auto student = model->named_parameters();
  for (const auto& item : teacher->named_parameters()) {
    INFO(item.key());
    CHECK(!item.value().requires_grad());
    CHECK(at::equal(item.value(), student[item.key()]));
  }

  // A training step moves the student; the teacher gets no gradient from it.
  const Corrupted batch = masked_text(3, 10, 2);
  cloze::objective_loss(model, batch, text_units()).loss.loss.backward();
  for (const auto& parameter : teacher->parameters()) CHECK(!parameter.grad().defined());
  {
    at::NoGradGuard no_grad;
    for (auto& parameter : model->parameters())
      if (parameter.requires_grad()) parameter.add_(at::randn_like(parameter), 0.01);
  }

  std::map<std::string, at::Tensor> before;
  for (const auto& item : teacher->named_parameters()) before.emplace(item.key(), item.value().clone());
  const double decay = 0.75;
  model->update_teacher(decay);
  for (const auto& item : teacher->named_parameters()) {
    INFO(item.key());
    const at::Tensor expected =
        (before[item.key()].to(at::kDouble) * decay + student[item.key()].to(at::kDouble) * (1 - decay));
    CHECK((item.value().to(at::kDouble) - expected).abs().max().item<double>() < 1e-6);
    CHECK(!at::equal(item.value(), before[item.key()]));
  }
}

TEST_CASE("data2vec: TrainStep moves the teacher after each update by that step's decay", "[objective][data2vec]") {
  at::manual_seed(7);
  DenoisingModel model(data2vec_options(2), text_shape(10));
  cloze::Params train("train", cloze::train_schema());
  train.set("steps", cloze::Value(int64_t{4}), "test");
  train.set("lr", cloze::Value(1e-2), "test");
  const auto options = cloze::TrainOptions::from(train, cloze::Params("eval", cloze::eval_schema()));
  auto optimizer = cloze::make_optimizer(model, options);
  cloze::TrainStep step(model, *optimizer, text_units(), options, c10::Device(c10::kCPU), false);
  const Corrupted batch = masked_text(3, 10);
  const auto teacher_block = [&] { return model->teacher()->named_parameters()["blocks.0.fc1.weight"].clone(); };
  const auto student_block = [&] { return model->named_parameters()["blocks.0.fc1.weight"].clone(); };
  for (int64_t i = 0; i < 3; ++i) {
    const at::Tensor teacher_before = teacher_block();
    REQUIRE(step.run(i, 1e-2, [&] { return batch; }).applied);
    const double decay = cloze::teacher_decay(model->options(), i, 4);
    const at::Tensor expected = teacher_before * decay + student_block() * (1 - decay);
    CHECK((teacher_block() - expected).abs().max().item<double>() < 1e-6);
  }
}

TEST_CASE("data2vec's decay anneals linearly, then holds", "[objective][data2vec]") {
  ModelOptions options = data2vec_options();
  CHECK(cloze::teacher_decay(options, 0, 1000) == 0.999);
  CHECK(cloze::teacher_decay(options, 500, 1000) == Approx(0.99945).epsilon(1e-12));
  CHECK(cloze::teacher_decay(options, 1000, 1000) == 0.9999);
  CHECK(cloze::teacher_decay(options, 5000, 1000) == 0.9999);
  options.ema_anneal_steps = 100;
  CHECK(cloze::teacher_decay(options, 50, 1000) == Approx(0.99945).epsilon(1e-12));
  CHECK(cloze::teacher_decay(options, 100, 1000) == 0.9999);
}

TEST_CASE("data2vec's targets: instance-normalised top blocks, averaged, at the masked units", "[objective][data2vec]") {
  at::manual_seed(8);
  SECTION("instance norm is torch's F.instance_norm over the units, filler left out") {
    const at::Tensor x = at::randn({3, 7, 5}) * 3 + 1;
    const at::Tensor reference =
        at::instance_norm(x.transpose(1, 2), {}, {}, {}, {}, /*use_input_stats=*/true, 0.1, 1e-5, false)
            .transpose(1, 2);
    CHECK(at::allclose(cloze::instance_norm_over_units(x, at::Tensor()), reference, 1e-5, 1e-5));
    // Filler appended to every row changes nothing at the real units.
    const at::Tensor padded = at::cat({x, at::randn({3, 4, 5}) * 100}, 1);
    const at::Tensor padding = at::cat({at::zeros({3, 7}, at::kBool), at::ones({3, 4}, at::kBool)}, 1);
    CHECK(at::allclose(cloze::instance_norm_over_units(padded, padding).narrow(1, 0, 7), reference, 1e-5, 1e-5));
  }
  SECTION("the mean of the top target_layers blocks of the teacher on the clean units") {
    DenoisingModel model(data2vec_options(3), text_shape(10));
    const Corrupted batch = masked_text(2, 10);
    const at::Tensor targets = cloze::latent_targets(*model, batch);
    Corrupted clean = batch;
    clean.input = batch.target;
    at::NoGradGuard no_grad;
    model->teacher()->eval();
    const auto outputs = model->teacher()->block_outputs(clean);
    const at::Tensor expected = (cloze::instance_norm_over_units(outputs[1], at::Tensor()) +
                                 cloze::instance_norm_over_units(outputs[2], at::Tensor())) / 2;
    const at::Tensor rows = batch.loss_mask.reshape({-1}).nonzero().squeeze(1);
    CHECK(at::allclose(targets, expected.reshape({-1, 32}).index_select(0, rows), 1e-6, 1e-6));
    CHECK(!targets.requires_grad());
    // The student's predictions line up with them, one row per masked unit.
    CHECK(model->forward(batch).sizes() == targets.sizes());
  }
}

TEST_CASE("the objectives' options and shapes are refused naming the key", "[objective]") {
  CHECK_THROWS_WITH(ModelOptions::from(model_params("target", cloze::Value(std::string("pixels")))),
                    Catch::Contains("target"));
  cloze::Params too_deep = model_params("target_layers", cloze::Value(int64_t{5}));
  CHECK_THROWS_WITH(ModelOptions::from(too_deep), Catch::Contains("target_layers") && Catch::Contains("layers = 4"));
  cloze::Params both = model_params("target", cloze::Value(std::string("latent")));
  both.set("generator", cloze::Value(0.25), "test");
  CHECK_THROWS_WITH(ModelOptions::from(both), Catch::Contains("generator"));

  const ModelShape fill{text_units(), cloze::Grid{{8}}, ReconstructionMode::fill, 8, 8};
  CHECK_THROWS_WITH(DenoisingModel(data2vec_options(), fill), Catch::Contains("model.target") && Catch::Contains("fill"));
  CHECK_THROWS_WITH(DenoisingModel(electra_options(), fill), Catch::Contains("model.generator"));
  UnitSpec patches;
  patches.kind = UnitKind::continuous;
  patches.unit_dim = 6;
  const ModelShape patches_in_place{patches, cloze::Grid{{8}}, ReconstructionMode::in_place, 8, 8};
  CHECK_THROWS_WITH(DenoisingModel(electra_options(), patches_in_place),
                    Catch::Contains("model.generator") && Catch::Contains("discrete"));
}
