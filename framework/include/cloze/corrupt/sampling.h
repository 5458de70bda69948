// Random draws that corruptions share, all from a SampleRng so that they stay
// keyed by (seed, epoch, sample). Each names the reference it reproduces.
#pragma once

#include <cstdint>
#include <vector>

#include "cloze/core/rng.h"

namespace cloze {

// floor(x + u), u ~ U[0, 1): fairseq's probabilistic rounding, E = x exactly.
int64_t probabilistic_round(double x, SampleRng& rng);

// Partial Fisher-Yates: afterwards pool[0, count) is a uniform sample of
// `count` distinct elements of the pool, in random order. count <= pool.size().
void choose_without_replacement(std::vector<int64_t>& pool, int64_t count, SampleRng& rng);

// T5's _random_segmentation (random_spans_noise_mask): `items` split into
// `parts` positive lengths, uniformly over all such splits (the parts - 1 cuts
// are a uniform subset of the items - 1 gaps). 1 <= parts <= items.
void random_partition(int64_t items, int64_t parts, SampleRng& rng, std::vector<int64_t>& lengths);

// fairseq's span-poisson lengths (add_whole_word_mask): Poisson(lambda) draws
// until their sum reaches `budget`, the last one trimmed so the sum is exactly
// `budget`. Zero lengths stay in. budget >= 1, lambda > 0.
void poisson_span_lengths(int64_t budget, double lambda, SampleRng& rng, std::vector<int64_t>& lengths);

// SpanBERT's span length: P(k) proportional to p (1 - p)^(k - 1) on
// k = 1..max_length, the geometric truncated and renormalised (not clipped),
// drawn by inverting its CDF. 0 < p <= 1, max_length >= 1.
int64_t truncated_geometric(double p, int64_t max_length, SampleRng& rng);

}  // namespace cloze
