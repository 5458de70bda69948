#include "cloze/core/rng.h"

#include <utility>

#include <cmath>

namespace cloze {
namespace {

// SplitMix64 finaliser: spreads (seed, stream, epoch) over the 64-bit key so
// nearby seeds give unrelated streams.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t derived_seed(uint64_t seed, uint64_t part) { return mix(mix(seed) ^ mix(part)); }

// Philox key = mix(seed, stream, epoch); counter subsequence = sample index.
SampleRng::SampleRng(uint64_t seed, RngStream stream, int64_t epoch, int64_t sample)
    : engine_(mix(mix(mix(seed) ^ static_cast<uint64_t>(stream)) ^ static_cast<uint64_t>(epoch)),
              static_cast<uint64_t>(sample), 0) {}

uint64_t SampleRng::next_u64() {
  const uint64_t hi = engine_();
  return (hi << 32) | engine_();
}

double SampleRng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

float SampleRng::uniform_f() { return static_cast<float>(engine_() >> 8) * 0x1.0p-24f; }

uint64_t SampleRng::below_wide(uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return x % n;
}

int64_t SampleRng::poisson(double lambda) {
  const double threshold = std::exp(-lambda);
  int64_t k = 0;
  double product = uniform();
  while (product > threshold) {
    ++k;
    product *= uniform();
  }
  return k;
}

void shuffle_for_epoch(std::vector<int64_t>& items, uint64_t seed, int64_t epoch) {
  SampleRng rng(seed, RngStream::data_order, epoch, 0);
  for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

}  // namespace cloze
