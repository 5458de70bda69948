// Fill mode (MAE) and the continuous in-place mode (SimMIM) in the framework:
// the fill batch layout, the light decoder seeing kept units only at their own
// positions, SimMIM's mask embedding, sin-cos grid positions, patches, and the
// per-unit normalised targets of norm_pix.
#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>
#include <torch/optim/adamw.h>

#include <catch2/catch.hpp>

#include "cloze/core/batch.h"
#include "cloze/core/error.h"
#include "cloze/corrupt/fill.h"
#include "cloze/corrupt/in_place.h"
#include "cloze/data/patches.h"
#include "cloze/model/loss.h"
#include "cloze/model/model.h"
#include "cloze/model/positions.h"

using cloze::Batch;
using cloze::Corrupted;
using cloze::DenoisingModel;
using cloze::Grid;
using cloze::ModelOptions;
using cloze::ModelShape;
using cloze::ReconstructionMode;
using cloze::UnitKind;
using cloze::UnitSpec;

namespace {

UnitSpec patch_units(int64_t unit_dim, bool normalize = false) {
  UnitSpec units;
  units.kind = UnitKind::continuous;
  units.unit_dim = unit_dim;
  units.normalize_targets = normalize;
  return units;
}

UnitSpec token_units() {
  UnitSpec units;
  units.vocab_size = 12;
  units.pad_id = 0;
  units.special_ids = {0};
  return units;
}

Batch patch_batch(int64_t rows, const Grid& grid, int64_t unit_dim) {
  Batch batch;
  batch.units = at::randn({rows, grid.numel(), unit_dim});
  batch.padding = at::zeros({rows, grid.numel()}, at::kBool);
  batch.labels = at::full({rows}, -1, at::kLong);
  batch.grid = grid;
  for (int64_t row = 0; row < rows; ++row) batch.sample_ids.push_back(row);
  return batch;
}

// Each row hides a different `hidden` units, so every row keeps the same count.
at::Tensor random_drop(int64_t rows, int64_t units, int64_t hidden) {
  const at::Tensor order = at::rand({rows, units}).argsort(/*dim=*/int64_t{1});
  return order.lt(hidden);
}

// A light decoder narrower than the encoder, as MAE's.
ModelOptions fill_options() {
  ModelOptions options{32, 2, 4, 4.0, 0.0};
  options.decoder_layers = 1;
  options.decoder_dim = 16;
  options.decoder_heads = 2;
  return options;
}

// At BERT's init (std 0.02) a kept unit moves a dropped unit's prediction by
// a few parts in 1e5; larger weights make every path through the model show.
void amplify(DenoisingModel& model) {
  at::NoGradGuard no_grad;
  for (auto& parameter : model->parameters())
    if (parameter.dim() == 2 && parameter.requires_grad()) parameter.normal_(0.0, 0.3);
}

ModelShape fill_shape(const UnitSpec& units, const Grid& grid) {
  return {units, grid, ReconstructionMode::fill, grid.numel(), grid.numel()};
}

}  // namespace

TEST_CASE("fill_corrupted keeps each row's kept units in grid order", "[fill]") {
  Batch batch;
  batch.units = at::arange(1, 13, at::kLong).view({2, 6});
  batch.padding = at::zeros({2, 6}, at::kBool);
  batch.padding[1].narrow(0, 4, 2).fill_(true);  // row 1 ends after 4 units
  batch.grid = Grid{{6}};
  const at::Tensor dropped = at::tensor({0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1}, at::kLong).view({2, 6}).to(at::kBool);

  const Corrupted c = cloze::fill_corrupted(batch, dropped);
  CHECK(c.mode == ReconstructionMode::fill);
  // row 0 keeps positions 0, 2, 5; row 1 keeps 1, 2 (4 is padding, 5 padding and dropped)
  CHECK(c.input_positions[0].equal(at::tensor({0, 2, 5}, at::kLong)));
  CHECK(c.input_positions[1].narrow(0, 0, 2).equal(at::tensor({1, 2}, at::kLong)));
  CHECK(c.input[0].equal(at::tensor({1, 3, 6}, at::kLong)));
  CHECK(c.input[1].narrow(0, 0, 2).equal(at::tensor({8, 9}, at::kLong)));
  CHECK(c.input_padding.equal(at::tensor({0, 0, 0, 0, 0, 1}, at::kLong).view({2, 3}).to(at::kBool)));
  CHECK(c.target.equal(batch.units));
  CHECK(c.loss_mask.equal(dropped.logical_and(batch.padding.logical_not())));
  CHECK(c.target_padding.equal(batch.padding));
  CHECK_THROWS_AS(cloze::fill_corrupted(batch, dropped.narrow(1, 0, 5)), cloze::Error);
}

TEST_CASE("fill_corrupted gathers whole patches and needs no padding for equal keep counts", "[fill]") {
  at::manual_seed(1);
  const Batch batch = patch_batch(3, Grid{{4, 4}}, 5);
  const at::Tensor dropped = random_drop(3, 16, 12);
  const Corrupted c = cloze::fill_corrupted(batch, dropped);
  REQUIRE(c.input.sizes() == at::IntArrayRef({3, 4, 5}));
  CHECK_FALSE(c.input_padding.any().item<bool>());
  for (int64_t row = 0; row < 3; ++row) {
    CHECK(c.input[row].equal(batch.units[row].index_select(0, c.input_positions[row])));
    CHECK_FALSE(dropped[row].index_select(0, c.input_positions[row]).any().item<bool>());
  }
  CHECK(c.loss_mask.sum().item<int64_t>() == 3 * 12);
}

TEST_CASE("masked_in_place zeroes the hidden patches and marks them for the mask embedding", "[fill]") {
  at::manual_seed(2);
  const Batch batch = patch_batch(2, Grid{{2, 3}}, 4);
  const at::Tensor masked = random_drop(2, 6, 3);
  const Corrupted c = cloze::masked_in_place(batch, masked);
  CHECK(c.mode == ReconstructionMode::in_place);
  CHECK(c.input_masked.equal(masked));
  CHECK(c.loss_mask.equal(masked));
  CHECK(c.input.index({masked}).abs().sum().item<double>() == 0.0);
  CHECK(c.input.index({masked.logical_not()}).equal(batch.units.index({masked.logical_not()})));
  CHECK(c.target.equal(batch.units));
}

TEST_CASE("patchify and unpatchify invert each other in MAE's value order", "[patches]") {
  at::manual_seed(3);
  const at::Tensor planes = at::randn({2, 3, 8, 12});
  const at::Tensor patches = cloze::patchify(planes, 4);
  REQUIRE(patches.sizes() == at::IntArrayRef({2, 6, 48}));
  CHECK(cloze::unpatchify(patches, 4, 3, Grid{{2, 3}}).equal(planes));
  // Unit 4 is grid cell (1, 1); its value 13 is row 1, column 0, channel 1 of the patch.
  CHECK(patches[1][4][13].item<float>() == planes[1][1][4 + 1][4 + 0].item<float>());
  CHECK_THROWS_AS(cloze::patchify(planes, 5), cloze::Error);
}

TEST_CASE("normalised units have zero mean and unit variance, and denormalise back", "[patches]") {
  at::manual_seed(4);
  const at::Tensor units = at::randn({5, 16}) * 3.0 + 2.0;
  const at::Tensor normalized = cloze::normalize_units(units);
  CHECK(normalized.mean(-1).abs().max().item<double>() < 1e-5);
  CHECK((normalized.var(-1) - 1.0).abs().max().item<double>() < 1e-4);
  CHECK(cloze::denormalize_units(normalized, units).allclose(units, 1e-4, 1e-4));
}

TEST_CASE("sin-cos positions give each grid axis its own sin and cos bands", "[positions]") {
  const Grid grid{{3, 4}};
  const at::Tensor table = cloze::sincos_positions(grid, 16);  // 8 values per axis: 4 sin, 4 cos
  REQUIRE(table.sizes() == at::IntArrayRef({12, 16}));
  // Units on one grid row share the row axis's half; units in one column the column's.
  CHECK(table[5].narrow(0, 0, 8).equal(table[6].narrow(0, 0, 8)));
  CHECK(table[1].narrow(0, 8, 8).equal(table[9].narrow(0, 8, 8)));
  CHECK_FALSE(table[1].narrow(0, 0, 8).equal(table[5].narrow(0, 0, 8)));
  // Coordinate 0: every sine 0, every cosine 1; coordinate 1 at the first frequency: sin(1).
  CHECK(table[0].narrow(0, 0, 4).abs().max().item<float>() == 0.0f);
  CHECK(table[0].narrow(0, 4, 4).eq(1.0f).all().item<bool>());
  CHECK(table[4][0].item<float>() == Approx(std::sin(1.0)));
  CHECK_THROWS_WITH(cloze::sincos_positions(grid, 18), Catch::Contains("multiple of 4"));
}

TEST_CASE("positions: fixed sin-cos on 2-d grids by default, learned on request", "[positions][model]") {
  const Grid grid{{2, 4}};
  DenoisingModel fixed(fill_options(), fill_shape(patch_units(6), grid));
  const auto params = fixed->named_parameters();
  CHECK_FALSE(params["pos_embed.weight"].requires_grad());
  CHECK(params["pos_embed.weight"].equal(cloze::sincos_positions(grid, 32)));
  CHECK(params["decoder_pos_embed.weight"].equal(cloze::sincos_positions(grid, 16)));

  ModelOptions learned_options = fill_options();
  learned_options.positions = "learned";
  DenoisingModel learned(learned_options, fill_shape(patch_units(6), grid));
  CHECK(learned->named_parameters()["pos_embed.weight"].requires_grad());
}

TEST_CASE("fill mode: the light decoder reconstructs the dropped units from the kept ones", "[fill][model]") {
  at::manual_seed(5);
  const Grid grid{{4, 4}};
  DenoisingModel model(fill_options(), fill_shape(patch_units(6), grid));
  amplify(model);
  model->eval();
  at::NoGradGuard no_grad;
  const Batch batch = patch_batch(2, grid, 6);
  const Corrupted c = cloze::fill_corrupted(batch, random_drop(2, 16, 12));
  const at::Tensor predictions = model->forward(c);
  CHECK(predictions.sizes() == at::IntArrayRef({24, 6}));
  CHECK(model->encode(c).size(1) == 4);  // the encoder ran on the 4 kept units only

  SECTION("the order of the kept units does not matter, their values do") {
    Corrupted shuffled = c;
    const at::Tensor order = at::tensor({2, 0, 3, 1}, at::kLong);
    shuffled.input = c.input.index_select(1, order);
    shuffled.input_positions = c.input_positions.index_select(1, order);
    const double reordered = (model->forward(shuffled) - predictions).abs().max().item<double>();

    Corrupted changed = c;
    changed.input = c.input + 1.0;
    const double moved = (model->forward(changed) - predictions).abs().max().item<double>();
    const double scale = predictions.abs().max().item<double>();
    INFO("reordered " << reordered << ", changed " << moved << ", predictions up to " << scale);
    CHECK(reordered < 1e-5 * scale);
    CHECK(moved > 0.05 * scale);
  }
  SECTION("filler input slots change nothing") {
    Corrupted padded = c;
    padded.input = at::cat({c.input, at::randn({2, 1, 6})}, 1);
    padded.input_positions = at::cat({c.input_positions, c.input_positions.narrow(1, 0, 1)}, 1);
    padded.input_padding = at::cat({c.input_padding, at::ones({2, 1}, at::kBool)}, 1);
    CHECK(model->forward(padded).allclose(predictions, 1e-4, 1e-5));
  }
  SECTION("the dropped units' values never reach the model") {
    Batch changed = batch;
    changed.units = batch.units.masked_fill(c.loss_mask.unsqueeze(-1), 9.0);
    CHECK(model->forward(cloze::fill_corrupted(changed, c.loss_mask)).equal(predictions));
  }
}

TEST_CASE("fill mode learns a fixed batch of patches and of tokens", "[fill][model][slow]") {
  at::manual_seed(6);
  auto overfit = [](DenoisingModel& model, const Corrupted& c, const UnitSpec& units) {
    torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(3e-3).weight_decay(0.0));
    double first = 0, last = 0;
    for (int step = 0; step < 150; ++step) {
      optimizer.zero_grad();
      const auto loss = cloze::masked_loss(model->forward(c), c, units);
      loss.loss.backward();
      optimizer.step();
      last = loss.loss.item<double>();
      if (step == 0) first = last;
    }
    INFO("loss " << first << " -> " << last);
    CHECK(last < 0.1 * first);
  };
  SECTION("patches, a learned-position decoder") {
    const Grid grid{{3, 3}};
    ModelOptions options = fill_options();
    options.positions = "learned";
    DenoisingModel model(options, fill_shape(patch_units(4), grid));
    overfit(model, cloze::fill_corrupted(patch_batch(4, grid, 4), random_drop(4, 9, 5)), patch_units(4));
  }
  SECTION("tokens, deletion with known positions") {
    const Grid grid{{10}};
    Batch batch;
    batch.units = at::randint(1, 12, {4, 10}, at::kLong);
    batch.padding = at::zeros({4, 10}, at::kBool);
    batch.padding[3].narrow(0, 7, 3).fill_(true);
    batch.grid = grid;
    DenoisingModel model(fill_options(), fill_shape(token_units(), grid));
    overfit(model, cloze::fill_corrupted(batch, random_drop(4, 10, 3)), token_units());
  }
}

TEST_CASE("SimMIM: a learned mask embedding replaces the marked patches", "[model]") {
  at::manual_seed(7);
  const Grid grid{{2, 4}};
  DenoisingModel model(ModelOptions{32, 1, 4, 4.0, 0.0},
                       ModelShape{patch_units(6), grid, ReconstructionMode::in_place, 8, 8});
  model->eval();
  at::NoGradGuard no_grad;
  const Batch batch = patch_batch(2, grid, 6);
  const at::Tensor masked = random_drop(2, 8, 4);
  const Corrupted c = cloze::masked_in_place(batch, masked);
  const at::Tensor predictions = model->forward(c);

  Corrupted leaked = c;  // what sits under the mask embedding does not matter
  leaked.input = batch.units;
  CHECK(model->forward(leaked).equal(predictions));
  Corrupted unmarked = c;  // without the marks the model reads the zeros instead
  unmarked.input_masked = at::Tensor();
  CHECK_FALSE(model->forward(unmarked).allclose(predictions, 1e-4, 1e-5));
}

TEST_CASE("norm_pix: the loss compares against each target patch normalised on its own", "[loss]") {
  at::manual_seed(8);
  Corrupted c;
  c.target = at::randn({2, 3, 8});
  c.loss_mask = at::tensor({1, 0, 1, 1, 1, 0}, at::kLong).view({2, 3}).to(at::kBool);
  const at::Tensor predictions = at::randn({4, 8});
  const double plain = cloze::masked_loss(predictions, c, patch_units(8)).loss.item<double>();
  const double normalized = cloze::masked_loss(predictions, c, patch_units(8, true)).loss.item<double>();
  CHECK(plain != Approx(normalized));

  Corrupted rescaled = c;  // a patch's own scale and offset do not change its normalised target
  rescaled.target = c.target * 5.0 - 3.0;
  CHECK(cloze::masked_loss(predictions, rescaled, patch_units(8, true)).loss.item<double>() ==
        Approx(normalized).epsilon(1e-4));
}
