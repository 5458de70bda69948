// The frozen-feature protocols. The linear probe: logistic regression that
// separates separable classes, stays at chance on random labels, is
// deterministic and blind to feature scale. kNN: the same on blobs and random
// labels, k clamped to the train split, votes weighted by exp(sim / T) (a
// hand-computed case where that differs from a majority), chunking that
// changes nothing against a whole-matrix reference. Both report per-sample
// outcomes whose mean is the accuracy. Encoder features pooled over real units
// only, from labelled samples only, cut to the model's position table; raw
// features as a bag of ids or the flattened units. The samples: all of a
// small split, a fixed uniform subset of a large one.
#include <ATen/Functions.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/core/units.h"
#include "cloze/evaluate/labelled_batches.h"
#include "cloze/evaluate/probe.h"
#include "cloze/model/model.h"
#include "labelled_toy.h"

using cloze::Features;
using cloze::ProbeOptions;
using cloze::UnitKind;
using labelled_toy::classes;
using labelled_toy::pad_id;
using labelled_toy::tiny_model;
using labelled_toy::Toy;
using labelled_toy::units;
using labelled_toy::vocab;

namespace {

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

// The labels of the labelled samples a protocol reads from `data` with
// `max_samples`, and their indices.
std::vector<int64_t> labelled_indices(const cloze::Dataset& data, int64_t max_samples) {
  std::vector<int64_t> indices;
  for (int64_t i : cloze::evaluation_samples(data, max_samples))
    if (Toy::label(i) >= 0) indices.push_back(i);
  return indices;
}
std::vector<int64_t> labelled_among(const cloze::Dataset& data, int64_t max_samples) {
  std::vector<int64_t> labels;
  for (int64_t i : labelled_indices(data, max_samples)) labels.push_back(Toy::label(i));
  return labels;
}

double mean(const std::vector<uint8_t>& correct) {
  int64_t right = 0;
  for (const uint8_t c : correct) right += c;
  return static_cast<double>(right) / static_cast<double>(correct.size());
}

// Weighted kNN written out on the whole similarity matrix at once (no chunks),
// as Wu et al. 2018 and DINO state it: the reference for knn_probe. [S_eval] predictions.
at::Tensor knn_reference(const Features& train, const Features& eval, int64_t k, double temperature) {
  const at::Tensor a = train.values / train.values.norm(2, {1}, true);  // [S, F]
  const at::Tensor b = eval.values / eval.values.norm(2, {1}, true);    // [S_eval, F]
  const auto [nearest, index] = b.mm(a.t()).topk(k, 1);                  // [S_eval, k]
  const at::Tensor one_hot = at::one_hot(train.labels.take(index), classes).to(at::kFloat);  // [S_eval, k, C]
  return (one_hot * (nearest / temperature).exp().unsqueeze(-1)).sum(1).argmax(1);
}

std::vector<uint8_t> outcomes_of(const at::Tensor& predicted, const at::Tensor& labels) {
  const at::Tensor right = predicted.eq(labels).to(at::kByte).contiguous();
  return {right.data_ptr<uint8_t>(), right.data_ptr<uint8_t>() + right.numel()};
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
  // One outcome per eval sample, in order; their mean is the accuracy.
  REQUIRE(result.correct.size() == 300);
  CHECK(mean(result.correct) == result.accuracy);
  CHECK(std::count(result.correct.begin(), result.correct.end(), uint8_t{0}) < 15);
  CHECK(std::all_of(result.correct.begin(), result.correct.end(), [](uint8_t c) { return c <= 1; }));
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

TEST_CASE("the probe's head folds its standardisation into one linear layer", "[probe]") {
  at::manual_seed(4);
  const Features all = blobs(100);
  // Features far from standard, so that the folding has work to do.
  const Features train{all.values * at::linspace(0.1, 50, 8) + at::linspace(-300, 300, 8), all.labels};
  const cloze::LinearHead head = cloze::fit_linear_head(train, 5);  // two classes beyond the labels: never chosen
  CHECK(head.weight.sizes() == at::IntArrayRef{5, 8});
  const auto [weight, bias] = head.folded();
  const at::Tensor logits = head.logits(train.values);               // [S, 5]
  const at::Tensor refolded = at::linear(train.values, weight, bias);  // [S, 5]
  INFO("largest difference " << (logits - refolded).abs().max().item<double>());
  CHECK(at::allclose(refolded, logits, 1e-4, 1e-3));
  CHECK(at::equal(refolded.argmax(1), logits.argmax(1)));
  CHECK_THROWS_WITH(cloze::fit_linear_head(train, 2), Catch::Contains("a train label is 2, the head has 2 classes"));
}

TEST_CASE("the probe refuses features it cannot fit", "[probe]") {
  const Features good{at::randn({10, 4}), at::zeros({10}, at::kLong)};
  CHECK_THROWS_AS(cloze::linear_probe(good, {at::randn({0, 4}), at::zeros({0}, at::kLong)}), cloze::Error);
  CHECK_THROWS_AS(cloze::linear_probe(good, {at::randn({10, 5}), at::zeros({10}, at::kLong)}), cloze::Error);
  CHECK_THROWS_AS(cloze::linear_probe(good, {at::randn({10, 4}), at::full({10}, -1, at::kLong)}), cloze::Error);
  CHECK_THROWS_AS(cloze::linear_probe(good, good, {0, 1e-4}), cloze::Error);
}

// `per_class` samples of each of 3 Gaussian blobs in 16 dimensions, centres
// with about 4 * sqrt(16) = 16 norm, unit noise times `noise`.
Features blobs16(const at::Tensor& centres, int64_t per_class, double noise) {
  const at::Tensor labels = at::arange(classes, at::kLong).repeat_interleave(per_class);  // [S]
  return {centres.index_select(0, labels) + noise * at::randn({labels.size(0), 16}), labels};
}

TEST_CASE("knn separates Gaussian blobs", "[probe][knn]") {
  at::manual_seed(11);
  const at::Tensor centres = at::randn({classes, 16}) * 4;
  const Features train = blobs16(centres, 100, 1.0), eval = blobs16(centres, 50, 1.0);
  const cloze::ProbeResult result = cloze::knn_probe(train, eval);
  INFO("accuracy " << result.accuracy);
  CHECK(result.accuracy >= 0.95);
  CHECK(result.train_samples == 300);
  CHECK(result.eval_samples == 150);
  CHECK(result.classes == 3);
  REQUIRE(result.correct.size() == 150);
  CHECK(mean(result.correct) == result.accuracy);
}

TEST_CASE("knn stays near chance on random labels", "[probe][knn]") {
  at::manual_seed(12);
  const Features train{at::randn({300, 16}), at::randint(0, classes, {300}, at::kLong)};
  const Features eval{at::randn({300, 16}), at::randint(0, classes, {300}, at::kLong)};
  const cloze::ProbeResult result = cloze::knn_probe(train, eval);
  // The eval labels are drawn independently of everything the prediction
  // reads, so each is right with probability exactly 1/3: the accuracy is
  // Binomial(300, 1/3) / 300, of spread 0.027; 0.12 is over 4 spreads.
  INFO("accuracy " << result.accuracy);
  CHECK(std::abs(result.accuracy - 1.0 / classes) < 0.12);
  CHECK(result.correct.size() == 300);
  CHECK(mean(result.correct) == result.accuracy);
}

TEST_CASE("knn weights each neighbour's vote by exp(similarity / T)", "[probe][knn]") {
  // Train rows of unit norm: class 0 at (1, 0); class 1 at (0.8, 0.6) and
  // (0.8, -0.6); class 2 at (-1, 0). Query 0 = (1, 0), class 0: its 3 nearest
  // are class 0 at similarity 1 and both class 1 rows at 0.8. Class 0 gets
  // exp(1 / T), class 1 2 exp(0.8 / T): class 0 wins iff exp(0.2 / T) > 2, that
  // is T < 0.2 / ln 2 = 0.2885; a plain majority (large T) picks class 1.
  // Query 1 = (0.8, 0.6), class 1, is a class 1 row itself: class 1 at every T.
  const Features train{at::tensor({1.0f, 0.0f, 0.8f, 0.6f, 0.8f, -0.6f, -1.0f, 0.0f}).reshape({4, 2}),
                       at::tensor(std::vector<int64_t>{0, 1, 1, 2})};
  // Scaled rows: knn_probe normalises them.
  const Features eval{at::tensor({3.0f, 0.0f, 0.4f, 0.3f}).reshape({2, 2}), at::tensor(std::vector<int64_t>{0, 1})};
  using Outcomes = std::vector<uint8_t>;
  CHECK(cloze::knn_probe(train, eval, {3, 0.05}).correct == Outcomes{1, 1});
  CHECK(cloze::knn_probe(train, eval, {3, 0.25}).correct == Outcomes{1, 1});
  CHECK(cloze::knn_probe(train, eval, {3, 0.35}).correct == Outcomes{0, 1});
  CHECK(cloze::knn_probe(train, eval, {3, 100.0}).correct == Outcomes{0, 1});
  CHECK(cloze::knn_probe(train, eval, {1, 100.0}).correct == Outcomes{1, 1});  // the nearest alone
  // k = 4 adds class 2 at similarity -1 to query 0: exp(-1) = 0.37 moves nothing at T = 1.
  CHECK(cloze::knn_probe(train, eval, {4, 1.0}).correct == Outcomes{0, 1});
  const cloze::ProbeResult result = cloze::knn_probe(train, eval, {3, 0.35});
  CHECK(result.accuracy == 0.5);
  CHECK(result.classes == 3);
}

TEST_CASE("knn clamps k to the train split", "[probe][knn]") {
  at::manual_seed(13);
  // 5 train rows, k = 20: every row votes, as with k = 5.
  const Features train{at::randn({5, 16}), at::tensor(std::vector<int64_t>{0, 1, 2, 1, 0})};
  const Features eval{at::randn({40, 16}), at::randint(0, classes, {40}, at::kLong)};
  const cloze::ProbeResult clamped = cloze::knn_probe(train, eval, {20, 0.07});
  CHECK(clamped.correct == cloze::knn_probe(train, eval, {5, 0.07}).correct);
  CHECK(clamped.correct == outcomes_of(knn_reference(train, eval, 5, 0.07), eval.labels));
  CHECK(clamped.eval_samples == 40);
}

TEST_CASE("knn is deterministic and matches the whole-matrix reference across chunks", "[probe][knn]") {
  at::manual_seed(14);
  const at::Tensor centres = at::randn({classes, 16}) * 4;
  // Noisy blobs, so that neighbours disagree and the vote decides; 2001 train
  // rows make knn_probe take its 3000 eval rows in two chunks (5e6 / 2001 = 2498 rows).
  const Features train = blobs16(centres, 667, 6.0), eval = blobs16(centres, 1000, 6.0);
  REQUIRE(train.values.size(0) * eval.values.size(0) > 5'000'000);
  const cloze::ProbeResult result = cloze::knn_probe(train, eval);
  INFO("accuracy " << result.accuracy);
  CHECK(result.accuracy > 0.5);  // the vote is informative ...
  CHECK(result.accuracy < 0.99);  // ... and not trivial
  CHECK(cloze::knn_probe(train, eval).correct == result.correct);
  CHECK(mean(result.correct) == result.accuracy);
  // The reference's matrix product and its unshifted exp may round a near tie
  // the other way: at most 3 of 3000 outcomes may differ.
  const std::vector<uint8_t> reference =
      outcomes_of(knn_reference(train, eval, 20, 0.07), eval.labels);
  REQUIRE(reference.size() == result.correct.size());
  int64_t differ = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) differ += reference[i] != result.correct[i];
  INFO("outcomes that differ from the reference: " << differ);
  CHECK(differ <= 3);
}

TEST_CASE("knn refuses features and options it cannot use", "[probe][knn]") {
  const Features good{at::randn({10, 4}), at::zeros({10}, at::kLong)};
  CHECK_THROWS_AS(cloze::knn_probe(good, {at::randn({0, 4}), at::zeros({0}, at::kLong)}), cloze::Error);
  CHECK_THROWS_AS(cloze::knn_probe({at::randn({0, 4}), at::zeros({0}, at::kLong)}, good), cloze::Error);
  CHECK_THROWS_AS(cloze::knn_probe(good, {at::randn({10, 5}), at::zeros({10}, at::kLong)}), cloze::Error);
  CHECK_THROWS_AS(cloze::knn_probe(good, {at::randn({10, 4}), at::full({10}, -1, at::kLong)}), cloze::Error);
  CHECK_THROWS_AS(cloze::knn_probe(good, good, {0, 0.07}), cloze::Error);
  CHECK_THROWS_AS(cloze::knn_probe(good, good, {20, 0.0}), cloze::Error);
  CHECK_THROWS_AS(cloze::knn_probe(good, good, {20, -1.0}), cloze::Error);
}

TEST_CASE("encoder features: one pooled row per labelled sample", "[probe]") {
  at::manual_seed(4);
  for (const UnitKind kind : {UnitKind::discrete, UnitKind::continuous}) {
    cloze::DenoisingModel model = tiny_model(kind, 12);
    model->train();
    const Toy data(kind, 30, 12);
    // 23 of 30 samples (a fixed subset), in batches of 4: the last batch is
    // partial; unlabelled samples are dropped.
    const Features features = cloze::encoder_features(model, data, 23, 4);
    CHECK(features.values.sizes().vec() ==
          std::vector<int64_t>{static_cast<int64_t>(labelled_among(data, 23).size()), 16});
    CHECK(features.values.scalar_type() == at::kFloat);
    CHECK(to_vector(features.labels) == labelled_among(data, 23));
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
    // 9 of 10 samples (a fixed subset) in batches of 4: rows 10 or 11 units
    // long are zero-filled to the longest, 12 units * 4 values.
    const Toy data(UnitKind::continuous, 10, 12, /*filler=*/0);
    const Features features = cloze::raw_features(data, units(UnitKind::continuous), 9, 4);
    const auto indices = labelled_indices(data, 9);
    const cloze::Batch whole = data.collate(indices);  // as long as its longest row, filler 0
    REQUIRE(whole.units.size(1) == 12);
    CHECK(at::equal(features.values, whole.units.reshape({whole.size(), -1})));
    CHECK(to_vector(features.labels) == labelled_among(data, 9));
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

TEST_CASE("evaluation samples: all of a small split, a fixed uniform subset of a large one", "[probe]") {
  // Only the size matters to the choice; a split stored class by class would
  // lose its later classes to a prefix.
  struct Sized : cloze::Dataset {
    int64_t samples;
    explicit Sized(int64_t n) : samples(n) {}
    int64_t size() const override { return samples; }
    cloze::Batch collate(const std::vector<int64_t>&) const override { throw cloze::Error("not collated"); }
  };
  std::vector<int64_t> all(100);
  std::iota(all.begin(), all.end(), int64_t{0});
  CHECK(cloze::evaluation_samples(Sized(100), 1000) == all);
  CHECK(cloze::evaluation_samples(Sized(100), 100) == all);
  CHECK(cloze::evaluation_samples(Sized(100), 0).empty());

  const auto chosen = cloze::evaluation_samples(Sized(1000), 100);
  REQUIRE(chosen.size() == 100);
  CHECK(std::adjacent_find(chosen.begin(), chosen.end(), std::greater_equal<int64_t>()) == chosen.end());  // ascending, distinct
  CHECK(chosen.front() >= 0);
  CHECK(chosen.back() < 1000);
  CHECK(cloze::evaluation_samples(Sized(1000), 100) == chosen);  // fixed: no seed to vary
  // Uniform over the split: about 50 in its second half (binomial sd 5).
  const auto late = std::count_if(chosen.begin(), chosen.end(), [](int64_t i) { return i >= 500; });
  CHECK(late >= 35);
  CHECK(late <= 65);
}
