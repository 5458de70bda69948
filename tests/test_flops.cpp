// Training FLOPs: the count agrees with the 6 x parameters x tokens rule of
// Kaplan et al. (2020) where attention is negligible, grows with the lengths a
// batch really runs, and falls in fill mode with the share of units the
// encoder sees, as MAE's cost argument says.
#include <ATen/Functions.h>

#include <catch2/catch.hpp>
#include <string>

#include "cloze/core/error.h"
#include "cloze/model/flops.h"
#include "cloze/model/model.h"

namespace {

cloze::UnitSpec patches(int64_t unit_dim) {
  cloze::UnitSpec units;
  units.kind = cloze::UnitKind::continuous;
  units.unit_dim = unit_dim;
  return units;
}

// An in-place batch of `rows` x `length` continuous units, every unit scored.
cloze::Corrupted in_place(int64_t rows, int64_t length, int64_t unit_dim) {
  cloze::Corrupted batch;
  batch.input = at::zeros({rows, length, unit_dim});
  batch.input_positions = at::arange(length).expand({rows, length});
  batch.target = batch.input;
  batch.loss_mask = at::ones({rows, length}, at::kBool);
  return batch;
}

}  // namespace

TEST_CASE("training FLOPs are 6 x parameters x units when sequences are short", "[flops]") {
  // dim 256 and 16 units: attention's 4 n^2 d is n / (6 d) = 1% of the 24 n d^2
  // of the linear layers, so the parameter rule should hold to within 2%.
  const cloze::ModelOptions options{256, 4, 4, 4.0, 0.0};
  const cloze::UnitSpec units = patches(48);
  const cloze::ModelShape shape{units, cloze::Grid{{16}}, cloze::ReconstructionMode::in_place, 16, 16};
  cloze::DenoisingModelImpl model(options, shape);
  // The weights every unit multiplies: the stem, the blocks and the head
  // (biases, norms, positions and the mask embedding are not multiplies).
  double weights = 0;
  for (const auto& named : model.named_parameters())
    if (named.value().dim() == 2 && named.key().find("pos_embed") == std::string::npos)
      weights += static_cast<double>(named.value().numel());
  const int64_t rows = 8, length = 16;
  const double counted = cloze::training_flops(options, units, in_place(rows, length, 48));
  const double rule = 6 * weights * static_cast<double>(rows * length);
  CHECK(counted / rule == Approx(1.0).epsilon(0.02));
  CHECK(counted > rule);  // attention adds to the rule, never takes away
}

TEST_CASE("training FLOPs follow the lengths processed: batch, scored units, and fill mode's kept units", "[flops]") {
  const cloze::ModelOptions options{64, 2, 4, 4.0, 0.0, /*decoder_layers=*/1};
  const cloze::UnitSpec units = patches(16);
  const auto full = in_place(4, 64, 16);
  const double base = cloze::training_flops(options, units, full);
  CHECK(cloze::training_flops(options, units, in_place(8, 64, 16)) == Approx(2 * base));  // linear in rows

  auto fewer_scored = full;
  fewer_scored.loss_mask = at::zeros({4, 64}, at::kBool);
  CHECK(cloze::training_flops(options, units, fewer_scored) < base);  // the head runs only where scored

  // Fill mode, 25% kept: the encoder runs on 16 units, the one-block decoder
  // on all 64. Cheaper than in place, and cheaper still with a smaller kept set.
  const auto fill = [&](int64_t kept) {
    cloze::Corrupted batch;
    batch.mode = cloze::ReconstructionMode::fill;
    batch.input = at::zeros({4, kept, 16});
    batch.input_positions = at::arange(kept).expand({4, kept});
    batch.target = at::zeros({4, 64, 16});
    batch.loss_mask = at::ones({4, 64}, at::kBool);
    return cloze::training_flops(options, units, batch);
  };
  CHECK(fill(16) < base);
  CHECK(fill(16) < fill(32));
  CHECK_THROWS_AS(cloze::training_flops(options, units, cloze::Corrupted{}), cloze::Error);
}

// The second networks: ELECTRA's generator adds its own forward and backward
// (6 x its weights per unit, the rule again), data2vec's teacher one forward
// of the encoder (2 x its weights per unit), each checked against the
// parameter count of the modules the model builds.
TEST_CASE("training FLOPs count ELECTRA's generator and data2vec's teacher", "[flops]") {
  const int64_t rows = 8, length = 16, vocab = 64;
  const auto weights_under = [](const cloze::DenoisingModelImpl& model, const std::string& prefix) {
    double weights = 0;
    for (const auto& named : model.named_parameters())
      if (named.value().dim() == 2 && named.key().rfind(prefix, 0) == 0) weights += static_cast<double>(named.value().numel());
    return weights;
  };
  SECTION("ELECTRA") {
    cloze::UnitSpec units;
    units.vocab_size = vocab;
    cloze::ModelOptions options{256, 4, 4, 4.0, 0.0};
    options.generator = 0.5;
    const cloze::ModelShape shape{units, cloze::Grid{{length}}, cloze::ReconstructionMode::in_place, length, length};
    cloze::DenoisingModelImpl model(options, shape);
    cloze::Corrupted batch;
    batch.input = at::zeros({rows, length}, at::kLong);
    batch.input_positions = at::arange(length).expand({rows, length});
    batch.target = batch.input;
    batch.loss_mask = at::ones({rows, length}, at::kBool);  // every unit masked: the generator's head runs on all
    const double counted = cloze::training_flops(options, units, batch);
    // Discriminator: blocks and its detection head; generator: projection, blocks, head and the tied vocabulary.
    const double discriminator = weights_under(model, "blocks.") + weights_under(model, "head_dense.") +
                                 weights_under(model, "detect_out.");
    const double generator = weights_under(model, "generator.") + static_cast<double>(vocab * 256);
    CHECK(counted / (6 * (discriminator + generator) * static_cast<double>(rows * length)) == Approx(1.0).epsilon(0.03));
    options.generator = 0;
    CHECK(counted > cloze::training_flops(options, units, batch));
  }
  SECTION("data2vec") {
    cloze::ModelOptions options{256, 4, 4, 4.0, 0.0};
    options.target = "latent";
    const cloze::UnitSpec units = patches(48);
    const cloze::ModelShape shape{units, cloze::Grid{{length}}, cloze::ReconstructionMode::in_place, length, length};
    cloze::DenoisingModelImpl model(options, shape);
    const double student = weights_under(model, "unit_proj.") + weights_under(model, "blocks.") +
                           weights_under(model, "head_out.");
    const double teacher = weights_under(model, "teacher.unit_proj.") + weights_under(model, "teacher.blocks.");
    const double counted = cloze::training_flops(options, units, in_place(rows, length, 48));
    CHECK(counted / ((6 * student + 2 * teacher) * static_cast<double>(rows * length)) == Approx(1.0).epsilon(0.03));
  }
}
