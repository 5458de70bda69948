// token_mask (objectives/token_mask): counts against the published formula,
// the 80/10/10 split, whole words, determinism per (seed, epoch, sample), and
// the sentences and errors it gives for what it cannot do.
#include <catch2/catch.hpp>

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/params.h"
#include "toy_text.h"

namespace {

constexpr int64_t vocab = 1000;
constexpr int64_t ordinary = vocab - toy::first_ordinary;

std::vector<int64_t> all_samples(int64_t count) {
  std::vector<int64_t> indices(static_cast<std::size_t>(count));
  std::iota(indices.begin(), indices.end(), int64_t{0});
  return indices;
}

// What may be chosen together in one row, as [begin, end) positions: single
// candidates (neither padding nor special), or with whole_word, words: a
// word-starting candidate and the candidates right after it that do not
// start one.
std::vector<std::pair<int64_t, int64_t>> groups(const int64_t* ids, const bool* padding, int64_t length,
                                                const cloze::UnitSpec& spec, bool whole_word) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t n = 0; n < length; ++n) {
    if (padding[n] || spec.is_special(ids[n])) continue;
    if (whole_word && !out.empty() && out.back().second == n && !spec.begins_word[static_cast<std::size_t>(ids[n])])
      out.back().second = n + 1;
    else
      out.emplace_back(n, n + 1);
  }
  return out;
}

struct Tally {
  int64_t candidates = 0, selected = 0, masked = 0, randomized = 0, kept = 0;
  int64_t groups = 0, chosen_groups = 0, partial_groups = 0;
  double expected_groups = 0;    // sum over rows of rate * n_groups
  int64_t bad_count_rows = 0;    // rows whose chosen groups are neither floor(rate n) nor, if rate n is not whole, + 1
  int64_t touched_fixed = 0;     // special or padding units selected or changed
  int64_t changed_unselected = 0;
  int64_t bad_replacements = 0;  // random replacements that are special or outside the vocabulary
};

Tally tally(const cloze::Batch& batch, const cloze::Corrupted& out, const cloze::UnitSpec& spec, double rate,
            bool whole_word) {
  const at::Tensor units = batch.units.contiguous();
  const at::Tensor padding = batch.padding.contiguous();
  const at::Tensor input = out.input.contiguous();
  const at::Tensor loss = out.loss_mask.contiguous();
  const int64_t rows = units.size(0), length = units.size(1);
  Tally t;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t* ids = units.data_ptr<int64_t>() + r * length;
    const bool* pad = padding.data_ptr<bool>() + r * length;
    const int64_t* in = input.data_ptr<int64_t>() + r * length;
    const bool* chosen = loss.data_ptr<bool>() + r * length;

    const auto row_groups = groups(ids, pad, length, spec, whole_word);
    int64_t chosen_here = 0;
    for (const auto& [begin, end] : row_groups) {
      int64_t hits = 0;
      for (int64_t n = begin; n < end; ++n) hits += chosen[n];
      if (hits == end - begin) ++chosen_here;
      else if (hits > 0) ++t.partial_groups;
    }
    const double exact = rate * static_cast<double>(row_groups.size());
    const auto low = static_cast<int64_t>(std::floor(exact));
    if (!(chosen_here == low || (chosen_here == low + 1 && exact != static_cast<double>(low)))) ++t.bad_count_rows;
    t.groups += static_cast<int64_t>(row_groups.size());
    t.chosen_groups += chosen_here;
    t.expected_groups += exact;

    for (int64_t n = 0; n < length; ++n) {
      if (pad[n] || spec.is_special(ids[n])) {
        if (chosen[n] || in[n] != ids[n]) ++t.touched_fixed;
        continue;
      }
      ++t.candidates;
      if (!chosen[n]) {
        if (in[n] != ids[n]) ++t.changed_unselected;
        continue;
      }
      ++t.selected;
      if (in[n] == spec.mask_id) {
        ++t.masked;
      } else if (in[n] == ids[n]) {
        ++t.kept;
      } else {
        ++t.randomized;
        if (in[n] < 0 || in[n] >= spec.vocab_size || spec.is_special(in[n])) ++t.bad_replacements;
      }
    }
  }
  return t;
}

double share(int64_t part, int64_t whole) { return static_cast<double>(part) / static_cast<double>(whole); }

}  // namespace

TEST_CASE("token_mask chooses rate of the candidates, then [MASK] / random id / keep") {
  const auto spec = toy::units(vocab);
  const toy::Text data(2048, 128, vocab);
  auto corruption = toy::token_mask();
  corruption->prepare(spec);
  cloze::Batch batch = data.collate(all_samples(data.size()));
  batch.epoch = 3;
  const cloze::Corrupted out = corruption->corrupt(batch, 1234);

  REQUIRE(out.mode == cloze::ReconstructionMode::in_place);
  REQUIRE(out.input.sizes() == batch.units.sizes());
  REQUIRE(out.input.scalar_type() == at::kLong);
  CHECK(out.input_positions.equal(at::arange(batch.units.size(1), at::kLong).expand(batch.units.sizes())));
  CHECK(out.input_padding.equal(batch.padding));
  CHECK(out.target.equal(batch.units));

  const Tally t = tally(batch, out, spec, 0.15, false);
  REQUIRE(t.candidates >= 100000);
  CHECK(t.touched_fixed == 0);
  CHECK(t.changed_unselected == 0);
  CHECK(t.bad_replacements == 0);
  // Per row, k = floor(rate * n + u): floor(rate * n) or one more.
  CHECK(t.bad_count_rows == 0);
  // Probabilistic rounding is unbiased: the total is within 5 standard
  // deviations (at most 0.5 * sqrt(rows)) of sum(rate * n); plain floor would
  // fall short by about rows / 2.
  CHECK(std::abs(static_cast<double>(t.chosen_groups) - t.expected_groups) < 2.5 * std::sqrt(2048.0));
  CHECK(share(t.selected, t.candidates) == Approx(0.15).margin(0.003));
  CHECK(share(t.masked, t.selected) == Approx(0.8).margin(0.01));
  // A random replacement draws the original id again one time in `ordinary`.
  CHECK(share(t.randomized, t.selected) == Approx(0.1 * (1.0 - 1.0 / ordinary)).margin(0.01));
  CHECK(share(t.kept, t.selected) == Approx(0.1 + 0.1 / ordinary).margin(0.01));
}

TEST_CASE("whole_word chooses complete words at the rate of words") {
  const auto spec = toy::units(vocab);
  const toy::Text data(2048, 128, vocab);
  cloze::Batch batch = data.collate(all_samples(data.size()));
  batch.epoch = 1;

  auto corruption = toy::token_mask({{"whole_word", true}});
  corruption->prepare(spec);
  const Tally t = tally(batch, corruption->corrupt(batch, 99), spec, 0.15, true);
  REQUIRE(t.groups >= 100000);
  REQUIRE(t.groups < t.candidates);  // the toy vocabulary has words of several pieces
  CHECK(t.partial_groups == 0);
  CHECK(t.bad_count_rows == 0);
  CHECK(share(t.chosen_groups, t.groups) == Approx(0.15).margin(0.003));
  CHECK(t.touched_fixed == 0);
  CHECK(t.changed_unselected == 0);
  CHECK(t.bad_replacements == 0);
  // The [MASK] / random / keep draw stays per unit.
  CHECK(share(t.masked, t.selected) == Approx(0.8).margin(0.01));
  CHECK(share(t.randomized, t.selected) == Approx(0.1 * (1.0 - 1.0 / ordinary)).margin(0.01));

  // Without whole_word the same words are split, so the check above can fail.
  auto by_token = toy::token_mask();
  by_token->prepare(spec);
  CHECK(tally(batch, by_token->corrupt(batch, 99), spec, 0.15, true).partial_groups > 0);
}

TEST_CASE("rate 0 chooses nothing and rate 1 chooses every candidate") {
  const auto spec = toy::units(vocab);
  const toy::Text data(64, 128, vocab);
  const cloze::Batch batch = data.collate(all_samples(data.size()));

  auto none = toy::token_mask({{"rate", 0.0}});
  none->prepare(spec);
  CHECK(tally(batch, none->corrupt(batch, 5), spec, 0.0, false).selected == 0);

  auto every = toy::token_mask({{"rate", 1.0}});
  every->prepare(spec);
  const Tally t = tally(batch, every->corrupt(batch, 5), spec, 1.0, false);
  CHECK(t.selected == t.candidates);
  CHECK(t.touched_fixed == 0);
}

TEST_CASE("a sample is corrupted the same way in any batch") {
  const auto spec = toy::units(vocab);
  const toy::Text data(2000, 128, vocab);
  auto corruption = toy::token_mask();
  corruption->prepare(spec);

  cloze::Batch small = data.collate({5, 17, 42});
  cloze::Batch large = data.collate({99, 42, 3, 7, 1000, 1500});
  small.epoch = large.epoch = 2;
  // The batches pad to different widths, so rows sit at different offsets.
  REQUIRE(small.units.size(1) != large.units.size(1));
  const int64_t length = static_cast<int64_t>(data.sample(42).size());

  const auto row_of_42 = [&](const cloze::Batch& batch, int64_t row, uint64_t seed) {
    const cloze::Corrupted out = corruption->corrupt(batch, seed);
    return std::make_pair(out.input[row].slice(0, 0, length), out.loss_mask[row].slice(0, 0, length));
  };
  const auto [input, chosen] = row_of_42(small, 2, 7);
  REQUIRE(chosen.sum().item<int64_t>() > 0);

  const auto [input_again, chosen_again] = row_of_42(large, 1, 7);
  CHECK(input_again.equal(input));
  CHECK(chosen_again.equal(chosen));

  // Another seed or another epoch draws another corruption.
  CHECK_FALSE(row_of_42(large, 1, 8).second.equal(chosen));
  large.epoch = 3;
  CHECK_FALSE(row_of_42(large, 1, 7).second.equal(chosen));
}

TEST_CASE("incompatibility names what the units lack") {
  const auto corruption = toy::token_mask();
  CHECK(corruption->incompatibility(toy::units(vocab)).empty());

  cloze::UnitSpec patches;
  patches.kind = cloze::UnitKind::continuous;
  patches.unit_dim = 768;
  const std::string continuous = corruption->incompatibility(patches);
  CHECK_THAT(continuous, Catch::Contains("continuous") && Catch::Contains("patch"));

  cloze::UnitSpec no_mask = toy::units(vocab);
  no_mask.mask_id = -1;
  CHECK_THAT(corruption->incompatibility(no_mask), Catch::Contains("no [MASK]"));
  CHECK(toy::token_mask({{"mask", 0.0}})->incompatibility(no_mask).empty());

  cloze::UnitSpec bytes = toy::units(vocab);
  bytes.begins_word.clear();
  CHECK(corruption->incompatibility(bytes).empty());
  CHECK_THAT(toy::token_mask({{"whole_word", true}})->incompatibility(bytes), Catch::Contains("no word starts"));
}

TEST_CASE("bad parameters are refused naming the key") {
  CHECK_NOTHROW(toy::token_mask({{"mask", 0.7}, {"random", 0.3}}));
  CHECK_THROWS_WITH(toy::token_mask({{"rate", 1.5}}), Catch::Contains("corruption.rate = 1.5"));
  CHECK_THROWS_WITH(toy::token_mask({{"rate", -0.1}}), Catch::Contains("corruption.rate"));
  CHECK_THROWS_WITH(toy::token_mask({{"mask", 1.2}}), Catch::Contains("corruption.mask"));
  CHECK_THROWS_WITH(toy::token_mask({{"mask", 0.8}, {"random", 0.3}}),
                    Catch::Contains("corruption.random") && Catch::Contains("mask + random"));
}

TEST_CASE("prepare and corrupt refuse what they cannot use") {
  const toy::Text data(8, 32, vocab);
  const cloze::Batch batch = data.collate({0, 1});

  auto unprepared = toy::token_mask();
  CHECK_THROWS_WITH(unprepared->corrupt(batch, 1), Catch::Contains("before prepare"));

  cloze::UnitSpec patches;
  patches.kind = cloze::UnitKind::continuous;
  CHECK_THROWS_WITH(unprepared->prepare(patches), Catch::Contains("continuous"));

  auto small_vocab = toy::token_mask();
  small_vocab->prepare(toy::units(10));  // the toy ids reach 999
  CHECK_THROWS_WITH(small_vocab->corrupt(batch, 1), Catch::Contains("outside the vocabulary"));
}
