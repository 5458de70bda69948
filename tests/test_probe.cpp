// The linear probe: logistic regression that separates separable classes,
// stays at chance on random labels, is deterministic and blind to feature
// scale; encoder features pooled over real units only, from labelled samples
// only, cut to the model's position table; raw features as a bag of ids or
// the flattened units.
#include <ATen/Functions.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "cloze/error.h"
#include "cloze/grid.h"
#include "cloze/modality.h"
#include "cloze/model.h"
#include "cloze/probe.h"
#include "cloze/units.h"

using cloze::Features;
using cloze::ProbeOptions;
using cloze::UnitKind;
using cloze::UnitSpec;

namespace {

constexpr int64_t vocab = 16, pad_id = 0, unit_dim = 4, classes = 3;

UnitSpec units(UnitKind kind) {
  UnitSpec spec;
  spec.kind = kind;
  if (kind == UnitKind::discrete) {
    spec.vocab_size = vocab;
    spec.pad_id = pad_id;
    spec.special_ids = {pad_id};
  } else {
    spec.unit_dim = unit_dim;
  }
  return spec;
}

// Sample i has class i % 3, and no label (-1) when i % 4 == 3. Its length is
// `length` - i % 3; a batch is as long as its longest row, the rest filler.
// Discrete units: ids from [4 + 4c, 8 + 4c) for class c; continuous ones:
// Gaussian values whose first coordinate has mean c. Filler units hold
// `filler` (an id, or every value of a continuous unit). `cut` keeps only the
// first `cut` units of each sample (0 = all); `seed` draws other units.
class Toy : public cloze::Dataset {
 public:
  Toy(UnitKind kind, int64_t samples, int64_t length, double filler = 0, int64_t cut = 0, uint64_t seed = 0)
      : kind_(kind), samples_(samples), length_(length), filler_(filler), cut_(cut), seed_(seed) {}

  int64_t size() const override { return samples_; }

  static int64_t label(int64_t i) { return i % 4 == 3 ? -1 : i % classes; }
  int64_t length(int64_t i) const {
    const int64_t full = length_ - i % 3;
    return cut_ > 0 ? std::min(full, cut_) : full;
  }

  cloze::Batch collate(const std::vector<int64_t>& indices) const override {
    const auto rows = static_cast<int64_t>(indices.size());
    int64_t longest = 0;
    for (int64_t i : indices) longest = std::max(longest, length(i));
    const bool discrete = kind_ == UnitKind::discrete;
    cloze::Batch batch;
    batch.units = discrete ? at::full({rows, longest}, static_cast<int64_t>(filler_), at::kLong)
                           : at::full({rows, longest, unit_dim}, filler_, at::kFloat);
    batch.padding = at::ones({rows, longest}, at::kBool);
    batch.labels = at::empty({rows}, at::kLong);
    auto padding = batch.padding.accessor<bool, 2>();
    auto labels = batch.labels.accessor<int64_t, 1>();
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = indices[static_cast<std::size_t>(r)], c = i % classes;
      std::mt19937_64 gen(static_cast<uint64_t>(i) * 7919 + 1 + seed_ * 1000003);
      std::normal_distribution<float> normal;
      for (int64_t n = 0; n < length(i); ++n) {
        if (discrete) {
          batch.units.accessor<int64_t, 2>()[r][n] = 4 + 4 * c + static_cast<int64_t>(gen() % 4);
        } else {
          auto values = batch.units.accessor<float, 3>();
          for (int64_t d = 0; d < unit_dim; ++d) values[r][n][d] = normal(gen) + (d == 0 ? static_cast<float>(c) : 0);
        }
        padding[r][n] = false;
      }
      labels[r] = label(i);
    }
    batch.grid.dims = {longest};
    batch.sample_ids = indices;
    return batch;
  }

 private:
  UnitKind kind_;
  int64_t samples_, length_;
  double filler_;
  int64_t cut_;
  uint64_t seed_;
};

// A tiny in-place model whose position table has `table` rows.
cloze::DenoisingModel tiny_model(UnitKind kind, int64_t table, double dropout = 0.1) {
  const cloze::ModelOptions options{16, 1, 2, 2.0, dropout};
  const cloze::ModelShape shape{units(kind), cloze::Grid{{table}}, cloze::ReconstructionMode::in_place, table, table};
  return cloze::DenoisingModel(options, shape);
}

// `per_class` samples of each of 3 Gaussian blobs in 8 dimensions, centres 4 apart.
Features blobs(int64_t per_class) {
  const at::Tensor centres = at::randn({classes, 8}) * 4;  // [C, 8]
  const at::Tensor labels = at::arange(classes, at::kLong).repeat_interleave(per_class);  // [S]
  return {centres.index_select(0, labels) + at::randn({labels.size(0), 8}), labels};
}

std::vector<int64_t> labelled(int64_t samples) {
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < samples; ++i)
    if (Toy::label(i) >= 0) labels.push_back(Toy::label(i));
  return labels;
}

std::vector<int64_t> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kLong).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

}  // namespace

TEST_CASE("the probe separates Gaussian blobs", "[probe]") {
  at::manual_seed(1);
  const Features all = blobs(200);  // 600 samples: even rows train, odd rows eval
  const at::Tensor even = at::arange(0, 600, 2, at::kLong), odd = even + 1;
  const Features train{all.values.index_select(0, even), all.labels.index_select(0, even)};
  const Features eval{all.values.index_select(0, odd), all.labels.index_select(0, odd)};
  const cloze::ProbeResult result = cloze::linear_probe(train, eval);
  INFO("accuracy " << result.accuracy);
  CHECK(result.accuracy >= 0.95);
  CHECK(result.train_samples == 300);
  CHECK(result.eval_samples == 300);
  CHECK(result.classes == 3);
}

TEST_CASE("the probe stays near chance on random labels", "[probe]") {
  at::manual_seed(2);
  const Features train{at::randn({300, 8}), at::randint(0, classes, {300}, at::kLong)};
  const Features eval{at::randn({300, 8}), at::randint(0, classes, {300}, at::kLong)};
  const cloze::ProbeResult result = cloze::linear_probe(train, eval);
  // Chance is 1/3; its spread over 300 eval samples is about 0.027.
  INFO("accuracy " << result.accuracy);
  CHECK(result.accuracy < 1.0 / classes + 0.15);
}

TEST_CASE("the probe is deterministic and blind to feature scale", "[probe]") {
  at::manual_seed(3);
  const Features all = blobs(200);
  const at::Tensor order = at::randperm(600, at::kLong);
  const Features train{all.values.index_select(0, order.narrow(0, 0, 300)),
                       all.labels.index_select(0, order.narrow(0, 0, 300))};
  const Features eval{all.values.index_select(0, order.narrow(0, 300, 300)),
                      all.labels.index_select(0, order.narrow(0, 300, 300))};
  // Few iterations, so the fit has not converged and any drift would show.
  const ProbeOptions options{5, 1e-4};
  const double accuracy = cloze::linear_probe(train, eval, options).accuracy;
  CHECK(cloze::linear_probe(train, eval, options).accuracy == accuracy);

  // Feature 0 scaled by 1000 and shifted by 1e4 in both splits.
  const at::Tensor first = at::arange(8).eq(0).to(at::kFloat);  // [8]: 1 at feature 0
  const at::Tensor scale = 1 + 999 * first, shift = 1e4 * first;
  const Features train_scaled{train.values * scale + shift, train.labels};
  const Features eval_scaled{eval.values * scale + shift, eval.labels};
  CHECK(std::abs(cloze::linear_probe(train_scaled, eval_scaled, options).accuracy - accuracy) < 0.02);
  CHECK(std::abs(cloze::linear_probe(train_scaled, eval_scaled).accuracy -
                 cloze::linear_probe(train, eval).accuracy) < 0.02);

  // A constant feature (std 0) is harmless.
  const Features train_constant{at::cat({train.values, at::full({300, 1}, 5.0)}, 1), train.labels};
  const Features eval_constant{at::cat({eval.values, at::full({300, 1}, 5.0)}, 1), eval.labels};
  CHECK(cloze::linear_probe(train_constant, eval_constant).accuracy >= 0.95);
}

TEST_CASE("the probe refuses features it cannot fit", "[probe]") {
  const Features good{at::randn({10, 4}), at::zeros({10}, at::kLong)};
  CHECK_THROWS_AS(cloze::linear_probe(good, {at::randn({0, 4}), at::zeros({0}, at::kLong)}), cloze::Error);
  CHECK_THROWS_AS(cloze::linear_probe(good, {at::randn({10, 5}), at::zeros({10}, at::kLong)}), cloze::Error);
  CHECK_THROWS_AS(cloze::linear_probe(good, {at::randn({10, 4}), at::full({10}, -1, at::kLong)}), cloze::Error);
  CHECK_THROWS_AS(cloze::linear_probe(good, good, {0, 1e-4}), cloze::Error);
}

TEST_CASE("encoder features: one pooled row per labelled sample", "[probe]") {
  at::manual_seed(4);
  for (const UnitKind kind : {UnitKind::discrete, UnitKind::continuous}) {
    cloze::DenoisingModel model = tiny_model(kind, 12);
    model->train();
    const Toy data(kind, 30, 12);
    // 23 of 30 samples, in batches of 4: the last batch is partial, and the
    // batch {20, 21, 22} ends just before unlabelled sample 23.
    const Features features = cloze::encoder_features(model, data, 23, 4);
    CHECK(features.values.sizes().vec() == std::vector<int64_t>{static_cast<int64_t>(labelled(23).size()), 16});
    CHECK(features.values.scalar_type() == at::kFloat);
    CHECK(to_vector(features.labels) == labelled(23));
    CHECK(model->is_training());  // restored
    // Eval mode inside: dropout is off, so the features repeat exactly.
    CHECK(at::equal(cloze::encoder_features(model, data, 23, 4).values, features.values));
    // Batching does not change a sample's features.
    CHECK(at::allclose(cloze::encoder_features(model, data, 23, 7).values, features.values, 1e-5, 1e-5));
    // max_samples beyond the dataset reads it all.
    CHECK(cloze::encoder_features(model, data, 1000, 8).values.size(0) ==
          static_cast<int64_t>(labelled(30).size()));
  }
}

TEST_CASE("encoder features ignore filler units", "[probe]") {
  at::manual_seed(5);
  for (const UnitKind kind : {UnitKind::discrete, UnitKind::continuous}) {
    cloze::DenoisingModel model = tiny_model(kind, 12);
    const double other = kind == UnitKind::discrete ? 9 : 7.5;
    const Features plain = cloze::encoder_features(model, Toy(kind, 12, 12, 0), 12, 6);
    const Features odd = cloze::encoder_features(model, Toy(kind, 12, 12, other), 12, 6);
    CHECK(at::allclose(plain.values, odd.values, 1e-5, 1e-5));
  }
}

TEST_CASE("encoder features cut inputs to the position table", "[probe]") {
  at::manual_seed(6);
  for (const UnitKind kind : {UnitKind::discrete, UnitKind::continuous}) {
    cloze::DenoisingModel model = tiny_model(kind, 8);
    // Samples of 10 to 12 units on a model that takes 8: the first 8 are read.
    const Features cut = cloze::encoder_features(model, Toy(kind, 12, 12), 12, 6);
    const Features short_samples = cloze::encoder_features(model, Toy(kind, 12, 12, 0, 8), 12, 6);
    CHECK(cut.values.size(0) == static_cast<int64_t>(labelled(12).size()));
    CHECK(at::allclose(cut.values, short_samples.values, 1e-5, 1e-5));
  }
}

TEST_CASE("raw features: a bag of ids, or the flattened units", "[probe]") {
  SECTION("discrete") {
    const Toy data(UnitKind::discrete, 10, 6, /*filler=*/0);
    const Features features = cloze::raw_features(data, units(UnitKind::discrete), 10, 4);
    REQUIRE(features.values.sizes().vec() == std::vector<int64_t>{static_cast<int64_t>(labelled(10).size()), vocab});
    CHECK(to_vector(features.labels) == labelled(10));
    CHECK(at::allclose(features.values.sum(1), at::ones({features.values.size(0)})));
    CHECK(features.values.select(1, pad_id).abs().max().item<float>() == 0);  // filler is not counted
    // Sample 1 (the second row): 5 real units, counted by id.
    const cloze::Batch one = data.collate({1});
    const at::Tensor expected =
        at::bincount(one.units[0].narrow(0, 0, 5), {}, vocab).to(at::kFloat) / 5;
    CHECK(at::allclose(features.values[1], expected));
  }
  SECTION("continuous") {
    // Samples 0-8 in batches of 4: the first two are 12 units long (as their
    // longest row, unlabelled ones included), the last, {8}, 10, so its row is
    // zero-filled to 12 * 4 values.
    const Toy data(UnitKind::continuous, 10, 12, /*filler=*/0);
    const Features features = cloze::raw_features(data, units(UnitKind::continuous), 9, 4);
    std::vector<int64_t> indices;
    for (int64_t i = 0; i < 9; ++i)
      if (Toy::label(i) >= 0) indices.push_back(i);
    const cloze::Batch whole = data.collate(indices);  // 12 units long, filler 0
    CHECK(at::equal(features.values, whole.units.reshape({whole.size(), -1})));
    CHECK(to_vector(features.labels) == labelled(9));
  }
}

TEST_CASE("encoder and raw features of class-dependent units are probed above chance", "[probe]") {
  at::manual_seed(7);
  // Even a random encoder keeps disjoint id ranges apart.
  cloze::DenoisingModel model = tiny_model(UnitKind::discrete, 12);
  const Toy train(UnitKind::discrete, 120, 12), eval(UnitKind::discrete, 60, 12, 0, 0, /*seed=*/1);
  const double encoder = cloze::linear_probe(cloze::encoder_features(model, train, 120, 32),
                                             cloze::encoder_features(model, eval, 60, 32))
                             .accuracy;
  const auto spec = units(UnitKind::discrete);
  const double raw =
      cloze::linear_probe(cloze::raw_features(train, spec, 120, 32), cloze::raw_features(eval, spec, 60, 32)).accuracy;
  CHECK(encoder >= 0.9);
  CHECK(raw >= 0.9);
}

TEST_CASE("probe timing on 5000 x 128 features, 10 classes", "[.][probe][benchmark]") {
  at::manual_seed(8);
  const at::Tensor centres = at::randn({10, 128});
  const auto make = [&](int64_t samples) {
    const at::Tensor labels = at::randint(0, 10, {samples}, at::kLong);
    return Features{centres.index_select(0, labels) + 2 * at::randn({samples, 128}), labels};
  };
  const Features train = make(5000), eval = make(1000);
  const auto start = std::chrono::steady_clock::now();
  const cloze::ProbeResult result = cloze::linear_probe(train, eval);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("linear_probe 5000 x 128, 10 blobs: " << seconds << " s, accuracy " << result.accuracy);
  // Random labels: a flatter loss, still converged within the 100 iterations here.
  const Features noise_train{train.values, at::randint(0, 10, {5000}, at::kLong)};
  const Features noise_eval{eval.values, at::randint(0, 10, {1000}, at::kLong)};
  const auto again = std::chrono::steady_clock::now();
  const double chance = cloze::linear_probe(noise_train, noise_eval).accuracy;
  WARN("linear_probe 5000 x 128, 10 random classes: "
       << std::chrono::duration<double>(std::chrono::steady_clock::now() - again).count() << " s, accuracy " << chance);
}
