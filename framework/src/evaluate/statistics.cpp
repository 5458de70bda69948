// Student-t intervals over seeds and percentile-bootstrap intervals over eval
// samples, for single scores and for paired differences of two runs.
#include "cloze/evaluate/statistics.h"

#include <boost/math/distributions/students_t.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/core/rng.h"

namespace cloze {

namespace {

void check_confidence(const char* what, double confidence) {
  if (!(confidence > 0 && confidence < 1))  // also refuses NaN
    throw Error(std::string(what) + ": confidence is " + std::to_string(confidence) + ", must lie in (0, 1)");
}

void check_finite(const char* what, const std::vector<double>& values, const char* name) {
  for (std::size_t k = 0; k < values.size(); ++k)
    if (!std::isfinite(values[k]))
      throw Error(std::string(what) + ": " + name + "[" + std::to_string(k) + "] is " + std::to_string(values[k]) +
                  ", must be finite");
}

void check_outcomes(const char* what, const std::vector<uint8_t>& correct, const char* name) {
  if (correct.empty()) throw Error(std::string(what) + ": " + name + " holds no eval sample");
  for (std::size_t i = 0; i < correct.size(); ++i)
    if (correct[i] > 1)
      throw Error(std::string(what) + ": " + name + "[" + std::to_string(i) + "] is " + std::to_string(correct[i]) +
                  ", must be 0 (wrong) or 1 (correct)");
}

void check_resamples(const char* what, int64_t resamples) {
  if (resamples < 1)
    throw Error(std::string(what) + ": resamples is " + std::to_string(resamples) + ", must be at least 1");
}

double mean_of(const std::vector<double>& values) {
  double total = 0;
  for (double v : values) total += v;
  return total / static_cast<double>(values.size());
}

// Sample standard deviation (divisor n - 1); n >= 2.
double std_of(const std::vector<double>& values, double mean) {
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return std::sqrt(squares / static_cast<double>(values.size() - 1));
}

// mean +- t_{(1+c)/2, n-1} * s / sqrt(n); n >= 2. With s = 0 the interval is
// [mean, mean]: every value agrees, and no quantile can widen a zero spread.
Interval t_interval(double mean, double spread, std::size_t n, double confidence) {
  const boost::math::students_t t(static_cast<double>(n - 1));
  const double half = boost::math::quantile(t, (1 + confidence) / 2) * spread / std::sqrt(static_cast<double>(n));
  return {mean - half, mean + half};
}

// The mean of `score(i)` over each resample's n draws of i in [0, n) with
// replacement; `score` returns an integer (0/1 outcome or a -1/0/1 difference)
// so each resample's total is exact. Resample r draws from the Philox stream
// (seed, bootstrap, epoch = r, sample 0), a stream of its own, so no resample
// replays a training draw and none depends on another: the interval is the
// same however it is computed.
template <typename Score>
std::vector<double> resampled_means(std::size_t n, int64_t resamples, uint64_t seed, Score score) {
  std::vector<double> means(static_cast<std::size_t>(resamples));
  for (int64_t r = 0; r < resamples; ++r) {
    SampleRng rng(seed, RngStream::bootstrap, r, 0);
    int64_t total = 0;
    for (std::size_t k = 0; k < n; ++k) total += score(static_cast<std::size_t>(rng.below(n)));
    means[static_cast<std::size_t>(r)] = static_cast<double>(total) / static_cast<double>(n);
  }
  return means;
}

// The q-quantile of sorted values by linear interpolation between order
// statistics: position h = (B - 1) q, x[floor h] + (h - floor h) (x[floor h + 1]
// - x[floor h]) (Hyndman & Fan's type 7, numpy's and R's default).
double quantile_of_sorted(const std::vector<double>& sorted, double q) {
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const auto below = static_cast<std::size_t>(std::floor(h));
  if (below + 1 >= sorted.size()) return sorted.back();
  return sorted[below] + (h - static_cast<double>(below)) * (sorted[below + 1] - sorted[below]);
}

// The percentile interval: the (1 - c)/2 and (1 + c)/2 quantiles of the
// resampled statistics. Sorts `statistics`.
Interval percentile_interval(std::vector<double>& statistics, double confidence) {
  std::sort(statistics.begin(), statistics.end());
  return {quantile_of_sorted(statistics, (1 - confidence) / 2), quantile_of_sorted(statistics, (1 + confidence) / 2)};
}

double accuracy_of(const std::vector<uint8_t>& correct) {
  int64_t total = 0;
  for (uint8_t c : correct) total += c;
  return static_cast<double>(total) / static_cast<double>(correct.size());
}

std::string count_text(std::size_t count, const char* one, const char* many) {
  return std::to_string(count) + " " + (count == 1 ? one : many);
}

}  // namespace

Estimate seed_estimate(const std::vector<double>& per_seed, double confidence) {
  const char* what = "seed_estimate";
  check_confidence(what, confidence);
  if (per_seed.empty()) throw Error("seed_estimate: no seed's score to estimate from");
  check_finite(what, per_seed, "per_seed");

  Estimate estimate;
  estimate.count = static_cast<int64_t>(per_seed.size());
  estimate.mean = mean_of(per_seed);
  if (per_seed.size() == 1) {
    const double unknown = std::numeric_limits<double>::quiet_NaN();
    estimate.std = unknown;
    estimate.interval = {unknown, unknown};
    estimate.method = "1 seed";
    return estimate;
  }
  estimate.std = std_of(per_seed, estimate.mean);
  estimate.interval = t_interval(estimate.mean, estimate.std, per_seed.size(), confidence);
  estimate.method = "t over " + count_text(per_seed.size(), "seed", "seeds");
  return estimate;
}

Estimate bootstrap_estimate(const std::vector<uint8_t>& correct, int64_t resamples, uint64_t seed,
                            double confidence) {
  const char* what = "bootstrap_estimate";
  check_confidence(what, confidence);
  check_resamples(what, resamples);
  check_outcomes(what, correct, "correct");

  std::vector<double> accuracies =
      resampled_means(correct.size(), resamples, seed, [&](std::size_t i) { return int64_t{correct[i]}; });
  Estimate estimate;
  estimate.count = static_cast<int64_t>(correct.size());
  estimate.mean = accuracy_of(correct);  // the observed accuracy, not the resamples' mean
  estimate.std = resamples > 1 ? std_of(accuracies, mean_of(accuracies)) : 0;
  estimate.interval = percentile_interval(accuracies, confidence);
  estimate.method = "bootstrap over " + count_text(correct.size(), "eval sample", "eval samples");
  return estimate;
}

Difference paired_seed_difference(const std::vector<double>& a, const std::vector<double>& b, double confidence) {
  const char* what = "paired_seed_difference";
  check_confidence(what, confidence);
  if (a.size() != b.size())
    throw Error("paired_seed_difference: a has " + std::to_string(a.size()) + " seeds and b " +
                std::to_string(b.size()) + "; pairing needs the same seeds in both");
  if (a.size() < 2)
    throw Error("paired_seed_difference: " + std::to_string(a.size()) +
                " seed(s) give no spread; needs at least 2, or paired_bootstrap_difference for one seed");
  check_finite(what, a, "a");
  check_finite(what, b, "b");

  std::vector<double> differences(a.size());  // [seeds]
  for (std::size_t k = 0; k < a.size(); ++k) differences[k] = a[k] - b[k];
  Difference difference;
  difference.mean = mean_of(differences);
  difference.interval = t_interval(difference.mean, std_of(differences, difference.mean), a.size(), confidence);
  difference.method = "paired t over " + count_text(a.size(), "seed", "seeds");
  return difference;
}

Difference paired_bootstrap_difference(const std::vector<uint8_t>& a_correct, const std::vector<uint8_t>& b_correct,
                                       int64_t resamples, uint64_t seed, double confidence) {
  const char* what = "paired_bootstrap_difference";
  check_confidence(what, confidence);
  check_resamples(what, resamples);
  check_outcomes(what, a_correct, "a_correct");
  check_outcomes(what, b_correct, "b_correct");
  if (a_correct.size() != b_correct.size())
    throw Error("paired_bootstrap_difference: a_correct has " + std::to_string(a_correct.size()) +
                " eval samples and b_correct " + std::to_string(b_correct.size()) +
                "; pairing needs both scored on the same samples");

  std::vector<double> differences = resampled_means(a_correct.size(), resamples, seed, [&](std::size_t i) {
    return int64_t{a_correct[i]} - int64_t{b_correct[i]};
  });
  Difference difference;
  difference.mean = accuracy_of(a_correct) - accuracy_of(b_correct);
  difference.interval = percentile_interval(differences, confidence);
  difference.method = "paired bootstrap over " + count_text(a_correct.size(), "eval sample", "eval samples");
  return difference;
}

}  // namespace cloze
