// Shared random draws for corruptions; see cloze/sampling.h.
#include "cloze/corrupt/sampling.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace cloze {

int64_t probabilistic_round(double x, SampleRng& rng) { return static_cast<int64_t>(std::floor(x + rng.uniform())); }

void choose_without_replacement(std::vector<int64_t>& pool, int64_t count, SampleRng& rng) {
  const auto size = static_cast<int64_t>(pool.size());
  for (int64_t i = 0; i < count; ++i)
    std::swap(pool[static_cast<std::size_t>(i)],
              pool[static_cast<std::size_t>(i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(size - i))))]);
}

void random_partition(int64_t items, int64_t parts, SampleRng& rng, std::vector<int64_t>& lengths) {
  lengths.clear();
  // Selection sampling (Knuth's algorithm S) walks the gaps once and picks
  // each with probability cuts_left / gaps_left: a uniform subset, in order.
  int64_t cuts_left = parts - 1;
  int64_t current = 1;
  for (int64_t gap = 1; gap < items; ++gap) {
    const int64_t gaps_left = items - gap;
    if (cuts_left > 0 && static_cast<int64_t>(rng.below(static_cast<uint64_t>(gaps_left))) < cuts_left) {
      lengths.push_back(current);
      current = 0;
      --cuts_left;
    }
    ++current;
  }
  lengths.push_back(current);
}

void poisson_span_lengths(int64_t budget, double lambda, SampleRng& rng, std::vector<int64_t>& lengths) {
  lengths.clear();
  int64_t total = 0;
  while (total < budget) {
    const int64_t length = std::min(rng.poisson(lambda), budget - total);
    lengths.push_back(length);
    total += length;
  }
}

int64_t truncated_geometric(double p, int64_t max_length, SampleRng& rng) {
  if (p >= 1.0) return 1;
  // P(K <= k) = (1 - q^k) / (1 - q^max), q = 1 - p.
  const double log_q = std::log1p(-p);
  const double tail = -std::expm1(static_cast<double>(max_length) * log_q);  // 1 - q^max
  const double k = std::ceil(std::log1p(-rng.uniform() * tail) / log_q);
  return std::clamp(static_cast<int64_t>(k), int64_t{1}, max_length);
}

}  // namespace cloze
