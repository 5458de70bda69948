// Counter-based randomness for corruptions and data order.
//
// Every random choice is keyed by (seed, stream, epoch, sample index) and drawn
// from Philox-4x32-10, so it does not depend on which thread or batch computes
// it: the same seed gives the same corrupted batches with any number of loader
// threads, and a resumed run continues the exact stream.
#pragma once

#include <ATen/core/PhiloxRNGEngine.h>

#include <cstdint>
#include <vector>

namespace cloze {

// Independent purposes draw from distinct streams, so adding draws to one never
// shifts another.
enum class RngStream : uint64_t { corruption = 1, data_order = 2, model_init = 3, dropout = 4, mixture = 5,
                                 bootstrap = 6, evaluation = 7, augmentation = 8 };

// A seed for one part of a whole (the second stage of a chain), unrelated to
// `seed` and to the seeds of the other parts.
uint64_t derived_seed(uint64_t seed, uint64_t part);

class SampleRng {
 public:
  SampleRng(uint64_t seed, RngStream stream, int64_t epoch, int64_t sample);

  uint32_t next_u32() { return engine_(); }
  uint64_t next_u64();
  double uniform();                  // [0, 1) with 53 random bits
  float uniform_f();                 // [0, 1) with 24 random bits
  uint64_t below(uint64_t n);        // uniform in [0, n), unbiased; n > 0
  int64_t poisson(double lambda);    // Knuth for small lambda (< 30)

 private:
  uint64_t below_wide(uint64_t n);  // below() for n >= 2^32
  at::Philox4_32 engine_;  // Philox-4x32 with 10 rounds
};

// Inline because corruptions draw it per unit or span; one 32-bit draw for
// every n below 2^32. Lemire's multiply-shift with rejection: unbiased.
inline uint64_t SampleRng::below(uint64_t n) {
  if (n > 0xFFFFFFFFULL) return below_wide(n);
  uint64_t product = static_cast<uint64_t>(engine_()) * n;
  auto low = static_cast<uint32_t>(product);
  if (low < n) {
    const auto threshold = static_cast<uint32_t>((0x100000000ULL - n) % n);
    while (low < threshold) {
      product = static_cast<uint64_t>(engine_()) * n;
      low = static_cast<uint32_t>(product);
    }
  }
  return product >> 32;
}

// `items` in the order of epoch `epoch`: Fisher-Yates driven by
// SampleRng(seed, RngStream::data_order, epoch, 0). The loader visits an
// epoch's samples in this order, and fine-tuning its labelled ones.
void shuffle_for_epoch(std::vector<int64_t>& items, uint64_t seed, int64_t epoch);

}  // namespace cloze
