// Intervals on comparison scores, so a report can say whether two runs differ
// beyond noise. Over seeds: Student-t intervals of the mean (few seeds, scores
// roughly normal). Over the eval samples of one seed: the percentile bootstrap
// (Efron & Tibshirani 1993, ch. 13), which needs no normality. Differences are
// paired: two runs share each seed's data order and the eval set, so comparing
// seed k with seed k (or sample i with sample i) removes the noise they share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cloze {

struct Interval {
  double low = 0, high = 0;
};

// A score's central value and its uncertainty.
struct Estimate {
  double mean = 0;
  // Over seeds: the sample standard deviation (divisor n - 1). Over eval
  // samples (the bootstrap): the bootstrap distribution's std.
  double std = 0;
  Interval interval;   // the confidence interval (95% by default)
  int64_t count = 0;   // seeds, or eval samples for the bootstrap
  std::string method;  // "t over 3 seeds", "bootstrap over 1000 eval samples"
};

// Mean over seeds with a Student-t interval: mean +- t_{(1+c)/2, n-1} * s / sqrt(n).
// One value has no spread to measure, so rather than a false [v, v] it gives
// the value with std and interval NaN and method "1 seed"; for one seed, use
// bootstrap_estimate on its eval samples. Throws cloze::Error on an empty
// vector, a non-finite value, or confidence outside (0, 1).
Estimate seed_estimate(const std::vector<double>& per_seed, double confidence = 0.95);

// Accuracy of per-sample outcomes (1 = correct, 0 = wrong) with a percentile
// bootstrap interval from `resamples` resamples of the eval samples with
// replacement. Deterministic for a seed (counter-based Philox draws). Throws
// cloze::Error on empty input, an outcome other than 0 or 1, resamples < 1, or
// confidence outside (0, 1).
Estimate bootstrap_estimate(const std::vector<uint8_t>& correct, int64_t resamples = 2000, uint64_t seed = 0,
                            double confidence = 0.95);

// The difference a - b between two runs scored on the same eval samples.
struct Difference {
  double mean = 0;     // mean of a - b
  Interval interval;   // confidence interval of the mean difference
  std::string method;  // "paired t over 3 seeds", "paired bootstrap over 1000 eval samples"
  // True when the interval excludes zero: the two runs differ beyond noise.
  bool separated() const { return interval.low > 0 || interval.high < 0; }
};

// Paired over seeds: seed k of a against seed k of b (they share the seed's
// data order and eval set); a Student-t interval of the per-seed differences.
// If all differences are identical (s = 0), the interval is [d, d]. Throws
// cloze::Error on unequal sizes, fewer than 2 seeds, a non-finite value, or
// confidence outside (0, 1).
Difference paired_seed_difference(const std::vector<double>& a, const std::vector<double>& b,
                                  double confidence = 0.95);

// Paired bootstrap over the eval samples of one seed: each resample draws
// sample indices with replacement, the same indices for a and b; the interval
// is the percentile interval of accuracy(a) - accuracy(b). Throws cloze::Error
// on empty or unequal sizes, an outcome other than 0 or 1, resamples < 1, or
// confidence outside (0, 1).
Difference paired_bootstrap_difference(const std::vector<uint8_t>& a_correct, const std::vector<uint8_t>& b_correct,
                                       int64_t resamples = 2000, uint64_t seed = 0, double confidence = 0.95);

}  // namespace cloze
