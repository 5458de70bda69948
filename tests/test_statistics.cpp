// Intervals on comparison scores: the Student-t interval against published
// t-table values and its 95% coverage on synthetic normal seeds; the percentile
// bootstrap's width and coverage on Bernoulli outcomes; paired differences that
// separate real gaps, not noise, and gain from pairing; deterministic draws for
// a seed; and errors that name what is wrong.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/evaluate/statistics.h"

using cloze::Difference;
using cloze::Estimate;

namespace {

// Matches a cloze::Error whose message contains `part`.
class ErrorContaining : public Catch::MatcherBase<cloze::Error> {
 public:
  explicit ErrorContaining(std::string part) : part_(std::move(part)) {}
  bool match(const cloze::Error& error) const override {
    return std::string(error.what()).find(part_) != std::string::npos;
  }
  std::string describe() const override { return "is a cloze::Error containing \"" + part_ + "\""; }

 private:
  std::string part_;
};

// n outcomes, each 1 with probability p: a uniform in [0, 1) from the top 53
// bits of mt19937_64(seed), below p. Written out rather than
// std::bernoulli_distribution, whose algorithm each standard library chooses,
// so the fixed-seed cases draw the same outcomes everywhere.
std::vector<uint8_t> bernoulli(int64_t n, double p, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<uint8_t> outcomes(static_cast<std::size_t>(n));
  for (auto& outcome : outcomes) outcome = static_cast<double>(gen() >> 11) * 0x1.0p-53 < p ? 1 : 0;
  return outcomes;
}

bool covers(const cloze::Interval& interval, double value) { return interval.low <= value && value <= interval.high; }

// Student-t quantiles, from the closed-form CDFs of Student's t with 2 and 4
// degrees of freedom (Wikipedia, "Student's t-distribution", special cases)
// solved by bisection in python3; they match the published t-table values
// 4.303, 2.776 and 2.132 to the table's 3 decimals.
constexpr double t_975_df2 = 4.302652729749461;
constexpr double t_975_df4 = 2.776445105197793;
constexpr double t_950_df4 = 2.1318467863266477;

}  // namespace

TEST_CASE("seed_estimate: the t interval of {1, 2, 3, 4, 5}", "[statistics]") {
  // mean 3, s = sqrt(10 / 4) = 1.5811388300841898; half-width t * s / sqrt(5).
  const Estimate estimate = cloze::seed_estimate({1, 2, 3, 4, 5});
  CHECK(estimate.mean == Approx(3.0).margin(1e-12));
  CHECK(estimate.std == Approx(1.5811388300841898).epsilon(1e-12));
  CHECK(estimate.count == 5);
  CHECK(estimate.method == "t over 5 seeds");
  const double half = t_975_df4 * 1.5811388300841898 / std::sqrt(5.0);  // 1.963243161477557
  CHECK(estimate.interval.low == Approx(3.0 - half).epsilon(1e-9));
  CHECK(estimate.interval.high == Approx(3.0 + half).epsilon(1e-9));

  // 90%: the 0.95 quantile, half-width 1.5074433190623215.
  const Estimate ninety = cloze::seed_estimate({1, 2, 3, 4, 5}, 0.90);
  CHECK(ninety.interval.low == Approx(3.0 - t_950_df4 * 1.5811388300841898 / std::sqrt(5.0)).epsilon(1e-9));
  CHECK(ninety.interval.high == Approx(3.0 + 1.5074433190623215).epsilon(1e-9));

  // Three seeds: 2 degrees of freedom; {0.70, 0.72, 0.74} has s = 0.02.
  const Estimate three = cloze::seed_estimate({0.70, 0.72, 0.74});
  CHECK(three.method == "t over 3 seeds");
  CHECK(three.std == Approx(0.02).epsilon(1e-9));
  CHECK(three.interval.high - three.mean == Approx(t_975_df2 * 0.02 / std::sqrt(3.0)).epsilon(1e-9));
}

TEST_CASE("seed_estimate: one seed gives its value and no interval", "[statistics]") {
  const Estimate one = cloze::seed_estimate({0.8});
  CHECK(one.mean == 0.8);
  CHECK(one.count == 1);
  CHECK(one.method == "1 seed");
  CHECK(std::isnan(one.std));
  CHECK(std::isnan(one.interval.low));
  CHECK(std::isnan(one.interval.high));
}

TEST_CASE("seed_estimate: the 95% t interval covers the true mean in 95% of experiments", "[statistics]") {
  // 10000 experiments for each of 3 and 5 seeds, N(0.7, 0.02). The coverage
  // count is binomial with sd sqrt(0.95 * 0.05 / 10000) = 0.22%, so +-1% is
  // 4.6 sd; a normal quantile (1.96) instead of t would cover ~81% with 3 seeds.
  std::mt19937_64 gen(20240601);
  std::normal_distribution<double> score(0.7, 0.02);
  for (int seeds : {3, 5}) {
    constexpr int experiments = 10000;
    int covered = 0;
    for (int e = 0; e < experiments; ++e) {
      std::vector<double> values(static_cast<std::size_t>(seeds));
      for (double& v : values) v = score(gen);
      covered += covers(cloze::seed_estimate(values).interval, 0.7) ? 1 : 0;
    }
    INFO(seeds << " seeds: covered " << covered << " of " << experiments);
    CHECK(static_cast<double>(covered) / experiments == Approx(0.95).margin(0.01));
  }
}

TEST_CASE("bootstrap_estimate: accuracy, spread and interval of 700 correct in 1000", "[statistics]") {
  std::vector<uint8_t> correct(1000, 0);
  for (std::size_t i = 0; i < 700; ++i) correct[i] = 1;
  const Estimate estimate = cloze::bootstrap_estimate(correct);
  CHECK(estimate.mean == Approx(0.7).margin(1e-12));
  CHECK(estimate.count == 1000);
  CHECK(estimate.method == "bootstrap over 1000 eval samples");
  // The binomial sd sqrt(0.7 * 0.3 / 1000) = 0.014491; a std estimated from
  // 2000 resamples is within 1 / sqrt(2 * 2000) = 1.6% of it per sd, so 8%.
  CHECK(estimate.std == Approx(0.014491).epsilon(0.08));
  // The normal approximation 0.7 +- 1.96 * 0.014491 = [0.6716, 0.7284];
  // percentile ends fall on multiples of 1/1000 and wander by ~0.002.
  CHECK(estimate.interval.low == Approx(0.6716).margin(0.005));
  CHECK(estimate.interval.high == Approx(0.7284).margin(0.005));
  // A lower confidence gives a narrower interval.
  const Estimate eighty = cloze::bootstrap_estimate(correct, 2000, 0, 0.80);
  CHECK(eighty.interval.high - eighty.interval.low < 0.8 * (estimate.interval.high - estimate.interval.low));
}

TEST_CASE("bootstrap_estimate: the 95% interval covers p in about 95% of experiments", "[statistics]") {
  // 1000 experiments of 500 Bernoulli(0.7) outcomes, 1000 resamples each. The
  // percentile bootstrap undercovers a little: it resamples the sample's
  // plug-in spread (divisor n, not n - 1) and the statistic is discrete, so its
  // coverage sits near 94.5% rather than 95%. The coverage count's sd is
  // sqrt(0.95 * 0.05 / 1000) = 0.69%, so [92%, 97.5%] allows 3.6 sd each way.
  constexpr int experiments = 1000;
  int covered = 0;
  for (int e = 0; e < experiments; ++e) {
    const auto outcomes = bernoulli(500, 0.7, 1000 + static_cast<uint64_t>(e));
    covered += covers(cloze::bootstrap_estimate(outcomes, 1000, static_cast<uint64_t>(e)).interval, 0.7) ? 1 : 0;
  }
  INFO("covered " << covered << " of " << experiments);
  CHECK(covered >= 920);
  CHECK(covered <= 975);
}

TEST_CASE("bootstrap: the same seed gives the same interval", "[statistics]") {
  const auto outcomes = bernoulli(800, 0.6, 7);
  const Estimate first = cloze::bootstrap_estimate(outcomes, 500, 42);
  const Estimate again = cloze::bootstrap_estimate(outcomes, 500, 42);
  CHECK(first.interval.low == again.interval.low);
  CHECK(first.interval.high == again.interval.high);
  CHECK(first.std == again.std);
  // Another seed draws other resamples (the interval's ends may coincide on
  // the 1/800 grid, the resamples' std does not).
  CHECK(cloze::bootstrap_estimate(outcomes, 500, 43).std != first.std);

  const auto other = bernoulli(800, 0.6, 8);
  const Difference d1 = cloze::paired_bootstrap_difference(outcomes, other, 500, 42);
  const Difference d2 = cloze::paired_bootstrap_difference(outcomes, other, 500, 42);
  CHECK(d1.interval.low == d2.interval.low);
  CHECK(d1.interval.high == d2.interval.high);
}

TEST_CASE("paired_seed_difference: overlapping runs are not separated, distinct ones are", "[statistics]") {
  // Differences {-0.01, 0.03, -0.02}: mean 0, interval +-0.0657 (python3).
  const Difference overlap = cloze::paired_seed_difference({0.80, 0.82, 0.78}, {0.81, 0.79, 0.80});
  CHECK(overlap.mean == Approx(0.0).margin(1e-12));
  CHECK(overlap.interval.low == Approx(-0.06572410607728421).epsilon(1e-9));
  CHECK(overlap.interval.high == Approx(0.06572410607728413).epsilon(1e-9));
  CHECK_FALSE(overlap.separated());
  CHECK(overlap.method == "paired t over 3 seeds");

  const Difference better = cloze::paired_seed_difference({0.80, 0.81, 0.82}, {0.70, 0.71, 0.72});
  CHECK(better.mean == Approx(0.1).margin(1e-12));
  CHECK(better.separated());
  CHECK(better.interval.low > 0);
  CHECK(better.interval.low == Approx(0.1).margin(1e-9));  // s = 0 up to rounding: [d, d]

  const Difference worse = cloze::paired_seed_difference({0.70, 0.71, 0.72}, {0.80, 0.81, 0.82});
  CHECK(worse.separated());
  CHECK(worse.interval.high < 0);
}

TEST_CASE("paired_seed_difference: exactly equal differences give [d, d]", "[statistics]") {
  const Difference same = cloze::paired_seed_difference({3.0, 5.0, 9.0}, {1.0, 3.0, 7.0});
  CHECK(same.mean == 2.0);
  CHECK(same.interval.low == 2.0);
  CHECK(same.interval.high == 2.0);
  CHECK(same.separated());
}

TEST_CASE("paired_seed_difference: pairing removes the seed-to-seed spread", "[statistics]") {
  // a beats b by about 0.01 on every seed, while the seeds spread by 0.15.
  const std::vector<double> b{0.60, 0.75, 0.90}, a{0.61, 0.762, 0.908};
  // Unpaired: the t intervals, [0.390, 1.130] and [0.377, 1.123] (python3), overlap.
  const Estimate a_alone = cloze::seed_estimate(a), b_alone = cloze::seed_estimate(b);
  CHECK(a_alone.interval.low < b_alone.interval.high);
  CHECK(b_alone.interval.low < a_alone.interval.high);
  // Paired: differences {0.010, 0.012, 0.008}, mean 0.01, s = 0.002, interval
  // [0.005032, 0.014968] (python3).
  const Difference paired = cloze::paired_seed_difference(a, b);
  CHECK(paired.mean == Approx(0.01).epsilon(1e-9));
  CHECK(paired.interval.low == Approx(0.005031724576499345).epsilon(1e-7));
  CHECK(paired.interval.high == Approx(0.014968275423500672).epsilon(1e-7));
  CHECK(paired.separated());
}

TEST_CASE("paired_bootstrap_difference: identical, distinct and independent runs", "[statistics]") {
  const auto outcomes = bernoulli(1000, 0.7, 11);
  const Difference identical = cloze::paired_bootstrap_difference(outcomes, outcomes);
  CHECK(identical.mean == 0.0);
  CHECK(identical.interval.low == 0.0);
  CHECK(identical.interval.high == 0.0);
  CHECK_FALSE(identical.separated());
  CHECK(identical.method == "paired bootstrap over 1000 eval samples");

  // All correct against every other one correct: 1 - 0.5, with a spread of
  // sqrt(0.25 / 1000) = 0.0158, so about 0.5 +- 0.031.
  const std::vector<uint8_t> all(1000, 1);
  std::vector<uint8_t> half(1000, 0);
  for (std::size_t i = 0; i < half.size(); i += 2) half[i] = 1;
  const Difference better = cloze::paired_bootstrap_difference(all, half);
  CHECK(better.mean == Approx(0.5).margin(1e-12));
  CHECK(better.separated());
  CHECK(better.interval.low == Approx(0.469).margin(0.006));
  CHECK(better.interval.high == Approx(0.531).margin(0.006));
  CHECK(cloze::paired_bootstrap_difference(half, all).interval.high < 0);

  // Two independent Bernoulli(0.7) runs (fixed seeds): the same accuracy, the
  // interval about +-0.04 around a small observed difference.
  const auto other = bernoulli(1000, 0.7, 12);
  const Difference independent = cloze::paired_bootstrap_difference(outcomes, other);
  INFO("observed difference " << independent.mean << ", interval [" << independent.interval.low << ", "
                              << independent.interval.high << "]");
  CHECK_FALSE(independent.separated());
  CHECK(independent.interval.high - independent.interval.low == Approx(0.08).margin(0.015));
}

TEST_CASE("paired_bootstrap_difference: pairing separates a small gap on shared samples", "[statistics]") {
  // b is a with 20 of a's correct answers turned wrong: 0.02 apart. Alone,
  // each accuracy's interval is about +-0.028 and they overlap; paired, the
  // per-sample differences are 0 but for those 20, an interval of about
  // 0.02 +- 0.009.
  auto a = bernoulli(1000, 0.7, 21);
  auto b = a;
  int turned = 0;
  for (std::size_t i = 0; i < b.size() && turned < 20; ++i)
    if (b[i] == 1) {
      b[i] = 0;
      ++turned;
    }
  const Estimate a_alone = cloze::bootstrap_estimate(a), b_alone = cloze::bootstrap_estimate(b);
  CHECK(a_alone.interval.low < b_alone.interval.high);
  const Difference paired = cloze::paired_bootstrap_difference(a, b);
  CHECK(paired.mean == Approx(0.02).margin(1e-12));
  CHECK(paired.separated());
  CHECK(paired.interval.low > 0.005);
}

TEST_CASE("statistics refuse inputs they cannot estimate from", "[statistics]") {
  const std::vector<uint8_t> outcomes{1, 0, 1};
  CHECK_THROWS_MATCHES(cloze::seed_estimate({}), cloze::Error, ErrorContaining("no seed"));
  CHECK_THROWS_MATCHES(cloze::seed_estimate({0.5, std::nan("")}), cloze::Error, ErrorContaining("per_seed[1]"));
  CHECK_THROWS_MATCHES(cloze::seed_estimate({0.5, 0.6}, 1.0), cloze::Error, ErrorContaining("confidence"));
  CHECK_THROWS_MATCHES(cloze::seed_estimate({0.5, 0.6}, 0.0), cloze::Error, ErrorContaining("(0, 1)"));

  CHECK_THROWS_MATCHES(cloze::bootstrap_estimate({}), cloze::Error, ErrorContaining("no eval sample"));
  CHECK_THROWS_MATCHES(cloze::bootstrap_estimate(outcomes, 0), cloze::Error, ErrorContaining("resamples is 0"));
  CHECK_THROWS_MATCHES(cloze::bootstrap_estimate({1, 2}), cloze::Error, ErrorContaining("correct[1] is 2"));

  CHECK_THROWS_MATCHES(cloze::paired_seed_difference({0.8, 0.7}, {0.8}), cloze::Error,
                       ErrorContaining("a has 2 seeds and b 1"));
  CHECK_THROWS_MATCHES(cloze::paired_seed_difference({0.8}, {0.7}), cloze::Error, ErrorContaining("at least 2"));
  CHECK_THROWS_MATCHES(cloze::paired_seed_difference({}, {}), cloze::Error, ErrorContaining("at least 2"));
  const double infinite = std::numeric_limits<double>::infinity();
  CHECK_THROWS_MATCHES(cloze::paired_seed_difference({0.8, infinite}, {0.7, 0.6}), cloze::Error,
                       ErrorContaining("a[1]"));

  CHECK_THROWS_MATCHES(cloze::paired_bootstrap_difference({}, {}), cloze::Error, ErrorContaining("no eval sample"));
  CHECK_THROWS_MATCHES(cloze::paired_bootstrap_difference(outcomes, {1, 0}), cloze::Error,
                       ErrorContaining("a_correct has 3 eval samples and b_correct 2"));
  CHECK_THROWS_MATCHES(cloze::paired_bootstrap_difference(outcomes, outcomes, -1), cloze::Error,
                       ErrorContaining("resamples"));
  CHECK_THROWS(cloze::paired_bootstrap_difference(outcomes, outcomes, 10, 0, std::nan("")));
}
