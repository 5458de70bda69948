// patch_mask (objectives/patch_mask): MAE's exact keep count on any grid,
// SimMIM's in-place output and mask unit, BEiT's blocks (exact count, and
// clustered), Audio-MAE's time / frequency stripes (whole lines, exact
// counts, the union, uniform choice, padded columns), determinism per
// (seed, epoch, sample), padding, and the errors and sentences it gives for
// what it cannot do.
#include <catch2/catch.hpp>

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/params.h"
#include "toy_text.h"

namespace {

// Continuous units of `unit_dim` values each, as patches() makes them.
cloze::UnitSpec patch_units(int64_t unit_dim = 3) {
  cloze::UnitSpec units;
  units.kind = cloze::UnitKind::continuous;
  units.unit_dim = unit_dim;
  return units;
}

// patch_mask with `values`, not yet prepared.
std::shared_ptr<cloze::Corruption> make_patch_mask(const std::map<std::string, cloze::Value>& values = {}) {
  cloze::Params params("corruption", toy::registry().info(cloze::PluginKind::corruption, "patch_mask").schema);
  for (const auto& [name, value] : values) params.set(name, value, "test");
  return toy::registry().make_corruption("patch_mask", params);
}

// patch_mask with `values`, prepared for `units`.
std::shared_ptr<cloze::Corruption> patch_mask(const std::map<std::string, cloze::Value>& values = {},
                                              const cloze::UnitSpec& units = patch_units()) {
  auto corruption = make_patch_mask(values);
  corruption->prepare(units);
  return corruption;
}

std::vector<int64_t> sample_range(int64_t count, int64_t first = 0) {
  std::vector<int64_t> ids(static_cast<std::size_t>(count));
  std::iota(ids.begin(), ids.end(), first);
  return ids;
}

// Continuous units on `dims`, no padding; every value distinct and nonzero,
// so a zeroed or misplaced unit shows.
cloze::Batch patches(const std::vector<int64_t>& dims, const std::vector<int64_t>& sample_ids, int64_t unit_dim = 3) {
  cloze::Batch batch;
  batch.grid.dims = dims;
  const int64_t rows = static_cast<int64_t>(sample_ids.size()), length = batch.grid.numel();
  batch.units = at::arange(rows * length * unit_dim, at::kFloat).add(1.0).reshape({rows, length, unit_dim});
  batch.padding = at::zeros({rows, length}, at::kBool);
  batch.labels = at::full({rows}, -1, at::kLong);
  batch.sample_ids = sample_ids;
  return batch;
}

int64_t keep_count(int64_t units, double ratio) { return std::llround(static_cast<double>(units) * (1.0 - ratio)); }

// [B, N] bool, true at the grid positions a fill-mode output hands the encoder.
at::Tensor kept_of(const cloze::Corrupted& out, int64_t length) {
  at::Tensor kept = at::zeros({out.input_positions.size(0), length}, at::kBool);
  return kept.scatter_(1, out.input_positions, out.input_padding.logical_not());
}

// Of the hidden units of a [rows, cols] grid, the share with at least one
// hidden 4-neighbour, over every row of the batch.
double clustered_share(const at::Tensor& hidden, int64_t rows, int64_t cols) {
  const at::Tensor mask = hidden.contiguous();
  const bool* data = mask.data_ptr<bool>();
  int64_t total = 0, clustered = 0;
  for (int64_t b = 0; b < mask.size(0); ++b) {
    const bool* h = data + b * rows * cols;
    const auto at_cell = [&](int64_t r, int64_t c) {
      return r >= 0 && r < rows && c >= 0 && c < cols && h[r * cols + c];
    };
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        if (!h[r * cols + c]) continue;
        ++total;
        clustered += at_cell(r - 1, c) || at_cell(r + 1, c) || at_cell(r, c - 1) || at_cell(r, c + 1);
      }
  }
  return static_cast<double>(clustered) / static_cast<double>(total);
}

// Lines of a [B, rows, cols] hidden mask: for axis 1 (rows) true where a
// whole row is hidden, [B, rows]; for axis 2 (columns) [B, cols].
at::Tensor whole_lines(const at::Tensor& hidden, int64_t axis) { return hidden.all(3 - axis); }

// Every line along `axis` is hidden entirely or not at all (padding aside:
// `real` is [B, rows, cols], true on non-padding units).
bool lines_whole(const at::Tensor& hidden, const at::Tensor& real, int64_t axis) {
  const at::Tensor any = hidden.any(3 - axis, /*keepdim=*/true);  // [B, 1, cols] or [B, rows, 1]
  return hidden.equal(any.logical_and(real));
}

// The hidden lines a stripe pattern must pick of n: n - round(n (1 - ratio)).
int64_t hidden_lines(int64_t lines, double ratio) { return lines - keep_count(lines, ratio); }

}  // namespace

TEST_CASE("random keeps exactly round(n (1 - ratio)) units per row on any grid") {
  const std::vector<std::vector<int64_t>> grids{{7, 7}, {14, 14}, {8}, {4, 16}};
  for (const auto& dims : grids)
    for (double ratio : {0.75, 0.5, 0.4, 0.1, 0.9}) {
      const cloze::Batch batch = patches(dims, sample_range(16));
      const int64_t length = batch.grid.numel(), keep = keep_count(length, ratio);
      INFO("grid " << batch.grid.to_string() << ", ratio " << ratio);
      const cloze::Corrupted out = patch_mask({{"ratio", ratio}})->corrupt(batch, 11);

      REQUIRE(out.mode == cloze::ReconstructionMode::fill);
      // Every row keeps the same count, so the encoder's input needs no padding.
      REQUIRE(out.input_positions.sizes() == at::IntArrayRef({16, keep}));
      CHECK_FALSE(out.input_padding.any().item<bool>());
      const at::Tensor kept = kept_of(out, length);
      CHECK((kept.sum(1) == keep).all().item<bool>());
      // Kept and hidden are disjoint and cover the grid.
      CHECK_FALSE(kept.logical_and(out.loss_mask).any().item<bool>());
      CHECK(kept.logical_or(out.loss_mask).all().item<bool>());
      CHECK((out.loss_mask.sum(1) == length - keep).all().item<bool>());
      // The encoder sees the batch's own units at their positions.
      CHECK(out.input.equal(batch.units.gather(1, out.input_positions.unsqueeze(-1).expand({-1, -1, 3}))));
      CHECK(out.target.equal(batch.units));
    }
}

TEST_CASE("in_place (SimMIM) zeroes the hidden units and marks them for the mask embedding") {
  const cloze::Batch batch = patches({14, 14}, sample_range(8));
  const cloze::Corrupted out = patch_mask({{"mode", std::string("in_place")}, {"ratio", 0.6}})->corrupt(batch, 3);

  REQUIRE(out.mode == cloze::ReconstructionMode::in_place);
  REQUIRE(out.input.sizes() == batch.units.sizes());
  CHECK(out.loss_mask.equal(out.input_masked));
  CHECK((out.loss_mask.sum(1) == 196 - keep_count(196, 0.6)).all().item<bool>());
  const at::Tensor hidden = out.loss_mask.unsqueeze(-1).expand_as(batch.units);
  CHECK((out.input.masked_select(hidden) == 0).all().item<bool>());
  CHECK(out.input.masked_select(hidden.logical_not()).equal(batch.units.masked_select(hidden.logical_not())));
  CHECK(out.target.equal(batch.units));
}

TEST_CASE("random hides every unit with frequency ratio") {
  // 4000 rows: the standard deviation of one unit's frequency is
  // sqrt(0.75 * 0.25 / 4000) = 0.007, so 0.03 is over 4 of them for each of
  // the 196 units.
  const cloze::Batch batch = patches({14, 14}, sample_range(4000), 1);
  const at::Tensor frequency = patch_mask({}, patch_units(1))->corrupt(batch, 5).loss_mask.to(at::kDouble).mean(0);  // [N]
  CHECK(frequency.mean().item<double>() == Approx(0.75));  // 147 of 196 in every row
  CHECK(frequency.sub(0.75).abs().max().item<double>() < 0.03);
}

TEST_CASE("block (BEiT) hides exactly the target count in clustered blocks") {
  struct Case {
    std::vector<int64_t> dims;
    double ratio;
  };
  // BEiT's own setting is 75 of 196 patches on [14, 14]; ratio 0.4 is the nearest.
  for (const Case& c : {Case{{14, 14}, 0.4}, Case{{14, 14}, 0.2}, Case{{7, 7}, 0.75}, Case{{8, 32}, 0.75},
                        Case{{8, 32}, 0.3}}) {
    const cloze::Batch batch = patches(c.dims, sample_range(300));
    const int64_t length = batch.grid.numel(), hidden = length - keep_count(length, c.ratio);
    INFO("grid " << batch.grid.to_string() << ", ratio " << c.ratio);
    const cloze::Corrupted out =
        patch_mask({{"pattern", std::string("block")}, {"ratio", c.ratio}})->corrupt(batch, 21);
    CHECK((out.loss_mask.sum(1) == hidden).all().item<bool>());
    CHECK_FALSE(out.input_padding.any().item<bool>());
    CHECK_FALSE(kept_of(out, length).logical_and(out.loss_mask).any().item<bool>());

    const double blocks = clustered_share(out.loss_mask, c.dims[0], c.dims[1]);
    CHECK(blocks >= 0.9);
    // Random masking at the same ratio scatters: at 0.2, about 1 - 0.8^4 =
    // 0.59 of its hidden units touch another, so the check above can fail.
    const double scattered = clustered_share(patch_mask({{"ratio", c.ratio}})->corrupt(batch, 21).loss_mask,
                                             c.dims[0], c.dims[1]);
    CHECK(scattered < blocks);
    if (c.ratio <= 0.3) CHECK(scattered < 0.8);
  }
}

TEST_CASE("block reaches its target exactly where BEiT would stop short") {
  // On these grids BEiT's strict h < rows, w < cols check and min_block
  // leave rounds that add nothing; the smaller blocks and the neighbour
  // fallback must still hide exactly n - keep units.
  struct Case {
    std::vector<int64_t> dims;
    double ratio;
    int64_t min_block;
  };
  for (const Case& c : {Case{{4, 4}, 0.9, 16}, Case{{2, 3}, 0.5, 16}, Case{{14, 14}, 0.5, 150},
                        Case{{3, 40}, 0.95, 16}}) {
    const cloze::Batch batch = patches(c.dims, sample_range(100));
    const int64_t length = batch.grid.numel();
    INFO("grid " << batch.grid.to_string() << ", ratio " << c.ratio << ", min_block " << c.min_block);
    const cloze::Corrupted out =
        patch_mask({{"pattern", std::string("block")}, {"ratio", c.ratio}, {"min_block", c.min_block}})
            ->corrupt(batch, 4);
    CHECK((out.loss_mask.sum(1) == length - keep_count(length, c.ratio)).all().item<bool>());
  }
}

TEST_CASE("mask_unit hides aligned squares and must divide the grid") {
  const cloze::Batch batch = patches({8, 8}, sample_range(50));
  for (const std::string pattern : {"random", "block"}) {
    INFO("pattern " << pattern);
    const auto corruption = patch_mask({{"mask_unit", int64_t{2}}, {"pattern", pattern}, {"min_block", int64_t{2}},
                                        {"mode", std::string("in_place")}});
    const at::Tensor hidden = corruption->corrupt(batch, 9).loss_mask.reshape({50, 4, 2, 4, 2});
    // Within each aligned 2 x 2 square every unit agrees with the square's first.
    const at::Tensor corner = hidden.select(2, 0).select(3, 0).unsqueeze(2).unsqueeze(4);
    CHECK(hidden.eq(corner).all().item<bool>());
    // The count rule applies to the 16 squares: 16 - round(16 * 0.25) = 12 hidden, 48 units.
    CHECK((hidden.reshape({50, 64}).sum(1) == 48).all().item<bool>());
  }
  CHECK_THROWS_WITH(patch_mask({{"mask_unit", int64_t{3}}})->corrupt(batch, 9),
                    Catch::Contains("patch_mask.mask_unit = 3") && Catch::Contains("[8, 8]"));
}

TEST_CASE("a sample is masked the same way in any batch, differently in another epoch") {
  for (const std::string pattern : {"random", "block", "time", "frequency", "time_frequency"}) {
    INFO("pattern " << pattern);
    const auto corruption = patch_mask({{"pattern", pattern}});
    cloze::Batch small = patches({14, 14}, {5, 17, 42});
    cloze::Batch large = patches({14, 14}, {99, 42, 3, 7});
    small.epoch = large.epoch = 2;
    const at::Tensor mask = corruption->corrupt(small, 7).loss_mask[2];
    CHECK(corruption->corrupt(large, 7).loss_mask[1].equal(mask));
    CHECK_FALSE(corruption->corrupt(large, 8).loss_mask[1].equal(mask));
    large.epoch = 3;
    CHECK_FALSE(corruption->corrupt(large, 7).loss_mask[1].equal(mask));
  }
}

TEST_CASE("padding is never hidden, kept or counted") {
  constexpr int64_t vocab = 1000;
  const toy::Text data(256, 64, vocab);
  const cloze::Batch batch = data.collate(sample_range(256));
  REQUIRE(batch.padding.any().item<bool>());
  const auto corruption = patch_mask({}, toy::units(vocab));
  const cloze::Corrupted out = corruption->corrupt(batch, 13);

  REQUIRE(out.mode == cloze::ReconstructionMode::fill);
  const at::Tensor kept = kept_of(out, batch.units.size(1));
  CHECK_FALSE(out.loss_mask.logical_and(batch.padding).any().item<bool>());
  CHECK_FALSE(kept.logical_and(batch.padding).any().item<bool>());
  CHECK(kept.logical_or(out.loss_mask).equal(batch.padding.logical_not()));
  CHECK(out.target_padding.equal(batch.padding));
  const at::Tensor lengths = batch.padding.logical_not().sum(1);  // [B]
  for (int64_t row = 0; row < 256; ++row) {
    const int64_t n = lengths[row].item<int64_t>();
    CHECK(kept[row].sum().item<int64_t>() == keep_count(n, 0.75));
    CHECK(out.loss_mask[row].sum().item<int64_t>() == n - keep_count(n, 0.75));
  }
  CHECK(out.input.masked_select(out.input_padding.logical_not())
            .equal(batch.units.gather(1, out.input_positions).masked_select(out.input_padding.logical_not())));

  // The padding a batch adds after a sample does not change its mask.
  const cloze::Batch narrow = data.collate({42, 43});
  const cloze::Batch wide = data.collate(sample_range(256));
  REQUIRE(narrow.units.size(1) < wide.units.size(1));
  const int64_t length = static_cast<int64_t>(data.sample(42).size());
  CHECK(corruption->corrupt(narrow, 13).loss_mask[0].narrow(0, 0, length).equal(
      corruption->corrupt(wide, 13).loss_mask[42].narrow(0, 0, length)));
}

TEST_CASE("incompatibility: in_place needs continuous units") {
  const auto in_place = make_patch_mask({{"mode", std::string("in_place")}});
  cloze::UnitSpec continuous;
  continuous.kind = cloze::UnitKind::continuous;
  continuous.unit_dim = 48;
  CHECK(in_place->incompatibility(continuous).empty());
  CHECK(in_place->mode() == cloze::ReconstructionMode::in_place);
  CHECK(in_place->incompatibility(toy::units(100)) ==
        "patch_mask.mode = in_place replaces hidden units with the model's learned mask embedding (SimMIM), which "
        "needs continuous units; for token ids use token_mask");
  CHECK_THROWS_WITH(in_place->prepare(toy::units(100)), Catch::Contains("for token ids use token_mask"));

  const auto fill = make_patch_mask();
  CHECK(fill->mode() == cloze::ReconstructionMode::fill);
  CHECK(fill->incompatibility(toy::units(100)).empty());
  CHECK(fill->incompatibility(continuous).empty());
}

TEST_CASE("bad parameters and batches are refused naming what is wrong") {
  CHECK_THROWS_WITH(patch_mask({{"ratio", 1.0}}), Catch::Contains("corruption.ratio = 1.0"));
  CHECK_THROWS_WITH(patch_mask({{"ratio", 0.0}}), Catch::Contains("corruption.ratio"));
  CHECK_THROWS_WITH(patch_mask({{"pattern", std::string("blocks")}}), Catch::Contains("corruption.pattern"));
  CHECK_THROWS_WITH(patch_mask({{"mode", std::string("inplace")}}), Catch::Contains("corruption.mode"));
  CHECK_THROWS_WITH(patch_mask({{"mask_unit", int64_t{0}}}), Catch::Contains("corruption.mask_unit"));
  CHECK_THROWS_WITH(patch_mask({{"min_block", int64_t{0}}}), Catch::Contains("corruption.min_block"));
  CHECK_THROWS_WITH(patch_mask({{"aspect", 0.0}}), Catch::Contains("corruption.aspect"));
  CHECK_THROWS_WITH(patch_mask({{"aspect", 1.5}}), Catch::Contains("corruption.aspect"));
  CHECK_NOTHROW(patch_mask({{"aspect", 1.0}}));

  CHECK_THROWS_WITH(patch_mask({{"pattern", std::string("block")}})->corrupt(patches({64}, {0, 1}), 1),
                    Catch::Contains("rank-2") && Catch::Contains("[64]"));
  CHECK_THROWS_WITH(patch_mask()->corrupt(toy::Text(4, 16, 100).collate({0, 1}), 1),
                    Catch::Contains("patch_mask: expects [B, N, 3] float units"));

  cloze::Batch wrong_grid = patches({4, 4}, {0, 1});
  wrong_grid.grid.dims = {4, 5};
  CHECK_THROWS_WITH(patch_mask()->corrupt(wrong_grid, 1), Catch::Contains("[4, 5]"));
  cloze::Batch wrong_ids = patches({4, 4}, {0, 1});
  wrong_ids.sample_ids.pop_back();
  CHECK_THROWS_WITH(patch_mask()->corrupt(wrong_ids, 1), Catch::Contains("sample ids"));
  cloze::Batch wrong_padding = patches({4, 4}, {0, 1});
  wrong_padding.padding = at::zeros({2, 15}, at::kBool);
  CHECK_THROWS_WITH(patch_mask()->corrupt(wrong_padding, 1), Catch::Contains("padding"));
  cloze::Batch wrong_units = patches({4, 4}, {0, 1});
  wrong_units.units = wrong_units.units.to(at::kInt);
  CHECK_THROWS_WITH(patch_mask()->corrupt(wrong_units, 1), Catch::Contains("[B, N, 3] float"));
}

TEST_CASE("time and frequency stripes hide exactly n - round(n (1 - ratio)) whole columns or rows") {
  struct Case {
    std::string pattern;
    int64_t axis;  // 2: columns (time), 1: rows (frequency)
  };
  for (const Case& c : {Case{"time", 2}, Case{"frequency", 1}})
    for (const std::vector<int64_t>& dims : {std::vector<int64_t>{8, 12}, std::vector<int64_t>{4, 16}})
      for (const std::string mode : {"fill", "in_place"})
        for (double ratio : {0.75, 0.6, 0.5, 0.3, 0.1}) {
          const int64_t rows = dims[0], cols = dims[1], length = rows * cols;
          const int64_t lines = c.axis == 2 ? cols : rows, across = c.axis == 2 ? rows : cols;
          const int64_t hidden = hidden_lines(lines, ratio);
          INFO("pattern " << c.pattern << ", grid [" << rows << ", " << cols << "], mode " << mode << ", ratio "
                          << ratio << ", " << hidden << " of " << lines << " lines hidden");
          const cloze::Batch batch = patches(dims, sample_range(200));
          const cloze::Corrupted out =
              patch_mask({{"pattern", c.pattern}, {"mode", mode}, {"ratio", ratio}})->corrupt(batch, 17);
          const at::Tensor mask = out.loss_mask.reshape({200, rows, cols});

          CHECK(lines_whole(mask, at::ones_like(mask), c.axis));
          CHECK((whole_lines(mask, c.axis).sum(1) == hidden).all().item<bool>());
          CHECK((out.loss_mask.sum(1) == hidden * across).all().item<bool>());
          if (mode == "fill") {
            REQUIRE(out.mode == cloze::ReconstructionMode::fill);
            REQUIRE(out.input_positions.sizes() == at::IntArrayRef({200, length - hidden * across}));
            CHECK_FALSE(out.input_padding.any().item<bool>());
            CHECK(kept_of(out, length).equal(out.loss_mask.logical_not()));
          } else {
            REQUIRE(out.mode == cloze::ReconstructionMode::in_place);
            CHECK(out.input_masked.equal(out.loss_mask));
            const at::Tensor zeroed = out.loss_mask.unsqueeze(-1).expand_as(batch.units);
            CHECK((out.input.masked_select(zeroed) == 0).all().item<bool>());
            CHECK(out.input.masked_select(zeroed.logical_not()).equal(batch.units.masked_select(zeroed.logical_not())));
          }
        }
}

TEST_CASE("time_frequency (Audio-MAE) hides the union of whole columns and whole rows") {
  struct Case {
    std::vector<int64_t> dims;
    double time_ratio, frequency_ratio;
  };
  // [8, 64] is Audio-MAE's own grid (128 mels, 1024 frames, 16 x 16 patches),
  // at its pretraining defaults 0.7 / 0.3.
  for (const Case& c : {Case{{8, 64}, 0.7, 0.3}, Case{{8, 12}, 0.5, 0.25}, Case{{4, 16}, 0.2, 0.2},
                        Case{{8, 12}, 0.0, 0.5}, Case{{4, 16}, 0.6, 0.0}})
    for (const std::string mode : {"fill", "in_place"}) {
      const int64_t rows = c.dims[0], cols = c.dims[1];
      const int64_t time = hidden_lines(cols, c.time_ratio), frequency = hidden_lines(rows, c.frequency_ratio);
      const int64_t union_count = time * rows + frequency * cols - time * frequency;
      INFO("grid [" << rows << ", " << cols << "], time_ratio " << c.time_ratio << ", frequency_ratio "
                    << c.frequency_ratio << ", mode " << mode << ": " << time << " columns, " << frequency
                    << " rows, " << union_count << " units");
      const cloze::Batch batch = patches(c.dims, sample_range(200));
      const cloze::Corrupted out = patch_mask({{"pattern", std::string("time_frequency")},
                                               {"mode", mode},
                                               {"time_ratio", c.time_ratio},
                                               {"frequency_ratio", c.frequency_ratio}})
                                       ->corrupt(batch, 23);
      const at::Tensor mask = out.loss_mask.reshape({200, rows, cols});
      // Fewer than all rows (columns) are hidden, so a whole hidden column
      // (row) is one of the chosen ones.
      const at::Tensor columns = whole_lines(mask, 2), frequency_rows = whole_lines(mask, 1);  // [B, cols], [B, rows]
      CHECK((columns.sum(1) == time).all().item<bool>());
      CHECK((frequency_rows.sum(1) == frequency).all().item<bool>());
      CHECK(mask.equal(columns.unsqueeze(1).logical_or(frequency_rows.unsqueeze(2))));
      CHECK((out.loss_mask.sum(1) == union_count).all().item<bool>());
      if (mode == "fill") {
        // The same count in every row: the encoder's input needs no padding.
        REQUIRE(out.input_positions.sizes() == at::IntArrayRef({200, rows * cols - union_count}));
        CHECK_FALSE(out.input_padding.any().item<bool>());
        // Audio-MAE keeps len_keep_t * len_keep_f units: the kept columns x the kept rows.
        CHECK(rows * cols - union_count == (cols - time) * (rows - frequency));
      }
    }
}

TEST_CASE("stripes choose every column (row) with the same frequency") {
  // 4000 rows. time on [8, 12] at ratio 0.5: 6 of 12 columns, each hidden
  // with probability 0.5, standard deviation sqrt(0.25 / 4000) = 0.0079;
  // frequency at 0.25: 2 of 8 rows, p = 0.25, sd 0.0068. The tolerance 0.035
  // is over 4 standard deviations for every line.
  const cloze::Batch batch = patches({8, 12}, sample_range(4000), 1);
  const at::Tensor time = whole_lines(patch_mask({{"pattern", std::string("time")}, {"ratio", 0.5}}, patch_units(1))
                                          ->corrupt(batch, 5)
                                          .loss_mask.reshape({4000, 8, 12}),
                                      2);
  const at::Tensor column_frequency = time.to(at::kDouble).mean(0);  // [cols]
  CHECK(column_frequency.mean().item<double>() == Approx(0.5));
  CHECK(column_frequency.sub(0.5).abs().max().item<double>() < 0.035);

  const at::Tensor frequency = whole_lines(patch_mask({{"pattern", std::string("frequency")}, {"ratio", 0.25}}, patch_units(1))
                                               ->corrupt(batch, 5)
                                               .loss_mask.reshape({4000, 8, 12}),
                                           1);
  const at::Tensor row_frequency = frequency.to(at::kDouble).mean(0);  // [rows]
  CHECK(row_frequency.mean().item<double>() == Approx(0.25));
  CHECK(row_frequency.sub(0.25).abs().max().item<double>() < 0.035);

  // time_frequency draws its columns and rows independently: a unit is
  // hidden with probability 1 - (1 - 6/12)(1 - 2/8) = 0.625 (sd 0.0077).
  const at::Tensor both = patch_mask({{"pattern", std::string("time_frequency")},
                                      {"time_ratio", 0.5},
                                      {"frequency_ratio", 0.25}},
                                     patch_units(1))
                              ->corrupt(batch, 5)
                              .loss_mask.to(at::kDouble)
                              .mean(0);  // [N]
  CHECK(both.mean().item<double>() == Approx(0.625));
  CHECK(both.sub(0.625).abs().max().item<double>() < 0.035);
}

TEST_CASE("stripes leave padded columns out and do not depend on the batch's padding") {
  // Row b of a [4, 12] grid has 12 - b % 5 real time columns, the rest padding
  // (a spectrogram shorter than its batch).
  constexpr int64_t rows = 4, cols = 12, batch_rows = 100;
  cloze::Batch batch = patches({rows, cols}, sample_range(batch_rows));
  const at::Tensor real_columns = at::arange(batch_rows, at::kLong).remainder(5).neg().add(cols);  // [B]
  const at::Tensor real = at::arange(cols, at::kLong).unsqueeze(0).lt(real_columns.unsqueeze(1));   // [B, cols]
  batch.padding = real.logical_not().unsqueeze(1).expand({batch_rows, rows, cols}).reshape({batch_rows, rows * cols});
  const at::Tensor real_units = real.unsqueeze(1).expand({batch_rows, rows, cols});  // [B, rows, cols]

  for (const std::string pattern : {"time", "frequency"}) {
    INFO("pattern " << pattern);
    const auto corruption = patch_mask({{"pattern", pattern}, {"ratio", 0.5}});
    const cloze::Corrupted out = corruption->corrupt(batch, 31);
    const at::Tensor mask = out.loss_mask.reshape({batch_rows, rows, cols});
    CHECK_FALSE(out.loss_mask.logical_and(batch.padding).any().item<bool>());
    CHECK_FALSE(kept_of(out, rows * cols).logical_and(batch.padding).any().item<bool>());
    CHECK(lines_whole(mask, real_units, pattern == "time" ? 2 : 1));
    for (int64_t b = 0; b < batch_rows; ++b) {
      const int64_t n = real_columns[b].item<int64_t>();
      const int64_t expected = pattern == "time" ? hidden_lines(n, 0.5) * rows : hidden_lines(rows, 0.5) * n;
      CHECK(out.loss_mask[b].sum().item<int64_t>() == expected);
    }

    // A sample with 8 real columns, alone in an [4, 8] batch and padded to 12
    // columns in the batch above (row 4), is masked the same way.
    const cloze::Batch alone = patches({rows, 8}, {4});
    CHECK(corruption->corrupt(alone, 31).loss_mask[0].reshape({rows, 8}).equal(mask[4].narrow(1, 0, 8)));
  }
}

TEST_CASE("stripes with mask_unit hide aligned bands of cells") {
  // [8, 12] in 2 x 2 cells is a [4, 6] grid of cells: time at 0.5 hides 3 of
  // 6 cell columns, 6 unit columns, in aligned pairs.
  const cloze::Batch batch = patches({8, 12}, sample_range(50));
  const at::Tensor mask = patch_mask({{"pattern", std::string("time")}, {"ratio", 0.5}, {"mask_unit", int64_t{2}}})
                              ->corrupt(batch, 2)
                              .loss_mask.reshape({50, 8, 12});
  const at::Tensor columns = whole_lines(mask, 2);  // [B, 12]
  CHECK(lines_whole(mask, at::ones_like(mask), 2));
  CHECK((columns.sum(1) == 6).all().item<bool>());
  const at::Tensor pairs = columns.reshape({50, 6, 2});
  CHECK(pairs.select(2, 0).equal(pairs.select(2, 1)));
}

TEST_CASE("stripes need a rank-2 grid and valid ratios, and say so") {
  for (const std::string pattern : {"time", "frequency", "time_frequency"}) {
    INFO("pattern " << pattern);
    CHECK_THROWS_WITH(patch_mask({{"pattern", pattern}})->corrupt(patches({64}, {0, 1}), 1),
                      Catch::Contains("patch_mask.pattern = " + pattern) && Catch::Contains("rank-2") &&
                          Catch::Contains("[64]"));
    CHECK_THROWS_WITH(patch_mask({{"pattern", pattern}})->corrupt(patches({2, 4, 4}, {0, 1}), 1),
                      Catch::Contains("patch_mask.pattern = " + pattern) && Catch::Contains("[2, 4, 4]"));
  }
  CHECK_THROWS_WITH(patch_mask({{"pattern", std::string("stripes")}}),
                    Catch::Contains("corruption.pattern") && Catch::Contains("time_frequency"));
  CHECK_THROWS_WITH(patch_mask({{"time_ratio", 1.0}}), Catch::Contains("corruption.time_ratio"));
  CHECK_THROWS_WITH(patch_mask({{"frequency_ratio", -0.1}}), Catch::Contains("corruption.frequency_ratio"));
  CHECK_THROWS_WITH(
      patch_mask({{"pattern", std::string("time_frequency")}, {"time_ratio", 0.0}, {"frequency_ratio", 0.0}}),
      Catch::Contains("corruption.time_ratio") && Catch::Contains("nothing would be hidden"));
  CHECK_NOTHROW(patch_mask({{"time_ratio", 0.0}, {"frequency_ratio", 0.0}}));  // unused by random
}
