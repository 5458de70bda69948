// span_mask (objectives/span_mask): SpanBERT's exact per-row budget, span
// lengths from the truncated geometric, one replacement draw per span,
// specials never touched, determinism, and its sentences and errors.
#include <catch2/catch.hpp>

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <cmath>
#include <string>
#include <vector>

#include "cloze/core/corruption.h"
#include "sequence_toy.h"
#include "toy_text.h"

namespace {

struct Tally {
  int64_t candidates = 0, selected = 0, bad_budget_rows = 0, touched_fixed = 0, changed_unselected = 0;
  int64_t runs = 0, run_units = 0, mask_runs = 0, random_runs = 0, kept_runs = 0, mixed_mask_runs = 0;
  int64_t bad_replacements = 0;
};

// Runs are maximal stretches of chosen positions: SpanBERT's merged spans.
Tally tally(const cloze::Batch& batch, const cloze::Corrupted& out, double rate) {
  const auto spec = seq_toy::units();
  const at::Tensor units = batch.units.contiguous(), padding = batch.padding.contiguous();
  const at::Tensor input = out.input.contiguous(), loss = out.loss_mask.contiguous();
  const int64_t rows = units.size(0), width = units.size(1);
  Tally t;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t* ids = units.data_ptr<int64_t>() + r * width;
    const bool* pad = padding.data_ptr<bool>() + r * width;
    const int64_t* in = input.data_ptr<int64_t>() + r * width;
    const bool* chosen = loss.data_ptr<bool>() + r * width;
    int64_t n = 0, k = 0;
    for (int64_t i = 0; i < width; ++i) {
      if (pad[i] || spec.is_special(ids[i])) {
        t.touched_fixed += chosen[i] || in[i] != ids[i];
        continue;
      }
      ++n;
      k += chosen[i];
      if (!chosen[i]) t.changed_unselected += in[i] != ids[i];
      if (chosen[i] && in[i] != spec.mask_id && in[i] != ids[i] && (in[i] >= seq_toy::data_vocab || spec.is_special(in[i])))
        ++t.bad_replacements;
    }
    t.bad_budget_rows += k != static_cast<int64_t>(std::ceil(rate * static_cast<double>(n)));
    t.candidates += n;
    t.selected += k;
    for (int64_t i = 0; i < width;) {
      if (!chosen[i]) {
        ++i;
        continue;
      }
      int64_t end = i, masks = 0, changed = 0;
      for (; end < width && chosen[end]; ++end) {
        masks += in[end] == spec.mask_id;
        changed += in[end] != ids[end];
      }
      const int64_t length = end - i;
      ++t.runs;
      t.run_units += length;
      if (masks == length) ++t.mask_runs;
      else if (masks > 0) ++t.mixed_mask_runs;
      else if (changed > 0) ++t.random_runs;
      else ++t.kept_runs;
      i = end;
    }
  }
  return t;
}

double share(int64_t part, int64_t whole) { return static_cast<double>(part) / static_cast<double>(whole); }

}  // namespace

TEST_CASE("span_mask chooses exactly ceil(rate n) units in spans, replaced per span") {
  const toy::Text data(3000, 256, seq_toy::data_vocab);
  cloze::Batch batch = data.collate(seq_toy::iota(data.size()));
  batch.epoch = 1;
  const cloze::Corrupted out = seq_toy::prepared("span_mask")->corrupt(batch, 77);
  REQUIRE(out.mode == cloze::ReconstructionMode::in_place);
  REQUIRE(out.input.sizes() == batch.units.sizes());
  CHECK(out.input_positions.equal(at::arange(batch.units.size(1), at::kLong).expand(batch.units.sizes())));
  CHECK(out.input_padding.equal(batch.padding));
  CHECK(out.target.equal(batch.units));

  const Tally t = tally(batch, out, 0.15);
  REQUIRE(t.candidates > 200000);
  CHECK(t.bad_budget_rows == 0);
  CHECK(t.touched_fixed == 0);
  CHECK(t.changed_unselected == 0);
  CHECK(t.bad_replacements == 0);
  // One draw per span: a span is all [MASK] or has none (a per-unit draw would
  // mix them in most spans longer than one).
  CHECK(t.mixed_mask_runs == 0);
  CHECK(share(t.mask_runs, t.runs) == Approx(0.8).margin(0.015));
  // A random span keeps all its units with odds (1/996)^length: negligible.
  CHECK(share(t.random_runs, t.runs) == Approx(0.1).margin(0.01));
  CHECK(share(t.kept_runs, t.runs) == Approx(0.1).margin(0.01));
}

TEST_CASE("span_mask's spans have SpanBERT's truncated geometric lengths") {
  // Long rows without specials and a low rate, so that spans rarely touch
  // (about 2%) and the trimmed last span of a row is one of about 50 (about
  // 4% shorter): the run lengths then follow the span lengths within 2%.
  const auto rows = seq_toy::plain_rows(100, 20000, 3);
  const cloze::Batch batch = seq_toy::batch_of(rows);
  const Tally t = tally(batch, seq_toy::prepared("span_mask", {{"rate", 0.01}})->corrupt(batch, 8), 0.01);
  REQUIRE(t.runs > 4000);
  CHECK(t.bad_budget_rows == 0);
  // SpanBERT: mean 3.8 at p = 0.2, max 10 (sum k p q^(k-1) / (1 - q^10));
  // clipping instead of truncating would give 4.46.
  double mean = 0, mass = 0;
  for (int k = 1; k <= 10; ++k) {
    mean += k * 0.2 * std::pow(0.8, k - 1);
    mass += 0.2 * std::pow(0.8, k - 1);
  }
  mean /= mass;
  REQUIRE(mean == Approx(3.8).margin(0.05));
  CHECK(share(t.run_units, t.runs) == Approx(mean).margin(0.15));

  // max_span = 1 gives single units, but for the rare ones that touch.
  const Tally single = tally(batch, seq_toy::prepared("span_mask", {{"rate", 0.01}, {"max_span", 1}})->corrupt(batch, 8), 0.01);
  CHECK(share(single.run_units, single.runs) == Approx(1.0).margin(0.05));
}

TEST_CASE("span_mask at rate 1 chooses every candidate and at rate 0 none") {
  const toy::Text data(64, 128, seq_toy::data_vocab);
  const cloze::Batch batch = data.collate(seq_toy::iota(data.size()));
  const Tally every = tally(batch, seq_toy::prepared("span_mask", {{"rate", 1.0}})->corrupt(batch, 2), 1.0);
  CHECK(every.selected == every.candidates);
  CHECK(every.touched_fixed == 0);
  CHECK(tally(batch, seq_toy::prepared("span_mask", {{"rate", 0.0}})->corrupt(batch, 2), 0.0).selected == 0);
}

TEST_CASE("span_mask corrupts a sample the same way in any batch") {
  const toy::Text data(2000, 128, seq_toy::data_vocab);
  const auto corruption = seq_toy::prepared("span_mask");
  cloze::Batch small = data.collate({5, 17, 42});
  cloze::Batch large = data.collate({99, 42, 3, 7, 1000, 1500});
  small.epoch = large.epoch = 2;
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
  CHECK_FALSE(row_of_42(large, 1, 8).second.equal(chosen));
  large.epoch = 3;
  CHECK_FALSE(row_of_42(large, 1, 7).second.equal(chosen));
}

TEST_CASE("span_mask names what the units lack and refuses bad parameters") {
  const auto corruption = seq_toy::make("span_mask");
  CHECK(corruption->incompatibility(seq_toy::units()).empty());
  cloze::UnitSpec patches;
  patches.kind = cloze::UnitKind::continuous;
  CHECK_THAT(corruption->incompatibility(patches), Catch::Contains("continuous"));
  cloze::UnitSpec no_mask = seq_toy::units();
  no_mask.mask_id = -1;
  CHECK_THAT(corruption->incompatibility(no_mask), Catch::Contains("no [MASK] id"));
  CHECK(seq_toy::make("span_mask", {{"mask", 0.0}})->incompatibility(no_mask).empty());
  CHECK_THROWS_WITH(seq_toy::make("span_mask")->corrupt(seq_toy::batch_of({{5}}), 1), Catch::Contains("before prepare"));
  CHECK_THROWS_WITH(seq_toy::prepared("span_mask")->corrupt(seq_toy::batch_of({{5, -3}}), 1),
                    Catch::Contains("sample 0, unit 1 has id -3, outside the vocabulary"));

  CHECK_THROWS_WITH(seq_toy::make("span_mask", {{"geometric_p", 0.0}}), Catch::Contains("corruption.geometric_p"));
  CHECK_THROWS_WITH(seq_toy::make("span_mask", {{"max_span", int64_t{0}}}), Catch::Contains("corruption.max_span"));
  CHECK_THROWS_WITH(seq_toy::make("span_mask", {{"rate", 1.5}}), Catch::Contains("corruption.rate = 1.5"));
  CHECK_THROWS_WITH(seq_toy::make("span_mask", {{"mask", 0.8}, {"random", 0.3}}),
                    Catch::Contains("corruption.random") && Catch::Contains("mask + random"));
}
