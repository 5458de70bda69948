// The shared random draws of cloze/sampling.h against the distributions of the
// code they reproduce: T5's random segmentation, fairseq's span-poisson
// lengths and probabilistic rounding, SpanBERT's truncated geometric.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include "cloze/core/rng.h"
#include "cloze/corrupt/sampling.h"

namespace {

cloze::SampleRng rng_for(int64_t sample) { return cloze::SampleRng(17, cloze::RngStream::corruption, 0, sample); }

}  // namespace

TEST_CASE("random_partition splits uniformly into positive parts") {
  // 5 items in 3 parts: C(4, 2) = 6 splits, each with probability 1/6.
  std::map<std::vector<int64_t>, int64_t> seen;
  std::vector<int64_t> lengths;
  int64_t bad = 0;
  for (int64_t i = 0; i < 60000; ++i) {
    auto rng = rng_for(i);
    cloze::random_partition(5, 3, rng, lengths);
    bad += lengths.size() != 3 || std::accumulate(lengths.begin(), lengths.end(), int64_t{0}) != 5 ||
           *std::min_element(lengths.begin(), lengths.end()) < 1;
    ++seen[lengths];
  }
  CHECK(bad == 0);
  CHECK(seen.size() == 6);
  for (const auto& [split, count] : seen) CHECK(count == Approx(10000).margin(400));

  auto rng = rng_for(0);
  cloze::random_partition(7, 7, rng, lengths);
  CHECK(lengths == std::vector<int64_t>(7, 1));
  cloze::random_partition(7, 1, rng, lengths);
  CHECK(lengths == std::vector<int64_t>{7});
}

TEST_CASE("poisson_span_lengths sums to the budget with Poisson lengths") {
  int64_t bad_sums = 0, zeros = 0, total = 0;
  std::vector<int64_t> lengths;
  const int64_t calls = 100000;
  for (int64_t i = 0; i < calls; ++i) {
    auto rng = rng_for(i);
    cloze::poisson_span_lengths(40, 3.0, rng, lengths);
    bad_sums += std::accumulate(lengths.begin(), lengths.end(), int64_t{0}) != 40;
    // The first length is a plain Poisson(3) draw (trimmed only past 40); the
    // later ones are not: they depend on when the sum reaches the budget.
    zeros += lengths[0] == 0;
    total += lengths[0];
  }
  CHECK(bad_sums == 0);
  // Mean 3 within 0.03 (the standard error is 0.0055), P(0) = e^-3 within
  // 0.003 (standard error 0.0007).
  CHECK(static_cast<double>(total) / calls == Approx(3.0).margin(0.03));
  CHECK(static_cast<double>(zeros) / calls == Approx(std::exp(-3.0)).margin(0.003));
}

TEST_CASE("truncated_geometric follows p q^(k-1) renormalised on 1..max") {
  std::vector<int64_t> counts(11, 0);
  const int64_t n = 200000;
  for (int64_t i = 0; i < n; ++i) {
    auto rng = rng_for(i);
    const int64_t k = cloze::truncated_geometric(0.2, 10, rng);
    REQUIRE(k >= 1);
    REQUIRE(k <= 10);
    ++counts[static_cast<std::size_t>(k)];
  }
  const double mass = 1.0 - std::pow(0.8, 10);
  for (int k = 1; k <= 10; ++k)
    CHECK(static_cast<double>(counts[static_cast<std::size_t>(k)]) / n ==
          Approx(0.2 * std::pow(0.8, k - 1) / mass).margin(0.004));
  auto rng = rng_for(1);
  CHECK(cloze::truncated_geometric(1.0, 10, rng) == 1);
}

TEST_CASE("probabilistic_round is floor or ceiling with mean x") {
  double total = 0;
  int64_t bad = 0;
  for (int64_t i = 0; i < 100000; ++i) {
    auto rng = rng_for(i);
    const int64_t k = cloze::probabilistic_round(2.3, rng);
    bad += k != 2 && k != 3;
    total += static_cast<double>(k);
  }
  CHECK(bad == 0);
  CHECK(total / 100000 == Approx(2.3).margin(0.01));
}

TEST_CASE("choose_without_replacement picks distinct elements uniformly") {
  std::vector<int64_t> hits(10, 0);
  int64_t repeats = 0;
  for (int64_t i = 0; i < 50000; ++i) {
    std::vector<int64_t> pool(10);
    std::iota(pool.begin(), pool.end(), int64_t{0});
    auto rng = rng_for(i);
    cloze::choose_without_replacement(pool, 3, rng);
    repeats += pool[0] == pool[1] || pool[1] == pool[2] || pool[0] == pool[2];
    for (int j = 0; j < 3; ++j) ++hits[static_cast<std::size_t>(pool[static_cast<std::size_t>(j)])];
  }
  CHECK(repeats == 0);
  for (int64_t h : hits) CHECK(h == Approx(15000).margin(600));
}
