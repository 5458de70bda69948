// Inputs the fuzz targets (tests/fuzz/, tools/fuzz) found to break a reader or
// a corruption, each kept as the smallest check that it stays fixed.
#include <catch2/catch.hpp>

#include <ATen/Functions.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "cloze/core/params.h"
#include "cloze/core/units.h"
#include "sequence_toy.h"
#include "test_support.h"

namespace {

// An IDX file: big-endian magic and dimensions, then the values.
std::string idx_bytes(uint32_t magic, std::vector<uint32_t> dims, std::size_t values) {
  dims.insert(dims.begin(), magic);
  std::string bytes;
  for (const uint32_t word : dims)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>(word >> shift & 0xff));
  return bytes + std::string(values, '\0');
}

}  // namespace

// fuzz_idx: dimensions whose product wraps around to 0 passed the size check,
// and the images were then read far past the end of the file.
TEST_CASE("IDX: dimensions whose product overflows are refused naming the file") {
  test_support::Fixture f("fuzz_regressions", "idx_overflow");
  for (const std::string split : {"train", "t10k"}) {
    test_support::write_bytes(f.dir / (split + "-images-idx3-ubyte"),
                              idx_bytes(0x803, {1u << 16, 1u << 24, 1u << 24}, 0));
    test_support::write_bytes(f.dir / (split + "-labels-idx1-ubyte"), idx_bytes(0x801, {1u << 16}, 1u << 16));
  }
  const cloze::Params params = test_support::modality_params("image", {{"path", f.dir.string()}});
  CHECK_THROWS_WITH(test_support::make_modality("image", params),
                    Catch::Contains((f.dir / "train-images-idx3-ubyte").string()) &&
                        Catch::Contains("65536 x 16777216 x 16777216"));
}

// fuzz_text_infill: a tiny poisson_lambda made almost every span length 0, so
// drawing lengths until they covered a row's budget never finished.
TEST_CASE("text_infill refuses a poisson_lambda too small to ever cover the budget") {
  CHECK_THROWS_WITH(seq_toy::make("text_infill", {{"poisson_lambda", 1e-300}}),
                    Catch::Contains("corruption.poisson_lambda") && Catch::Contains("[0.01, 30]"));
  // The smallest accepted lambda still finishes a long row.
  const auto corruption = seq_toy::prepared("text_infill", {{"poisson_lambda", 0.01}});
  const cloze::Corrupted out = corruption->corrupt(seq_toy::batch_of(seq_toy::plain_rows(2, 64, 1)), 3);
  seq_toy::check_sequence_contract(out);
}

// fuzz_patch_mask: with the block pattern, a large min_block or a tiny aspect
// (both inside the schema's ranges) made block sides far beyond int64, and
// converting them was undefined behaviour (UBSan); such blocks never fit, and
// the smaller blocks and single cells block_mask falls back on still hide the
// count.
TEST_CASE("patch_mask's block pattern survives extreme min_block and aspect") {
  const auto& schema = test_support::registry().info(cloze::PluginKind::corruption, "patch_mask").schema;
  cloze::Batch batch;
  batch.grid.dims = {6, 6};
  batch.units = at::rand({2, 36, 4});                 // [B, N, D]
  batch.padding = at::zeros({2, 36}, at::kBool);      // [B, N]
  batch.labels = at::full({2}, -1, at::kLong);
  batch.sample_ids = {0, 1};
  cloze::UnitSpec units;  // the batch's: 4 values a unit
  units.kind = cloze::UnitKind::continuous;
  units.unit_dim = 4;
  const std::map<std::string, cloze::Value> extremes[] = {
      {{"min_block", std::numeric_limits<int64_t>::max()}}, {{"aspect", 1e-300}}};
  for (const auto& values : extremes) {
    cloze::Params params("corruption", schema);
    params.set("pattern", std::string("block"), "test");
    for (const auto& [key, value] : values) params.set(key, value, "test");
    const auto corruption = test_support::registry().make_corruption("patch_mask", params);
    corruption->prepare(units);
    const cloze::Corrupted out = corruption->corrupt(batch, 7);
    REQUIRE(out.loss_mask.sizes() == at::IntArrayRef({2, 36}));
    // Exactly, not at most: patch_mask keeps round(n (1 - ratio)) of a row's n
    // cells (halves up), and block_mask adds blocks of at most the cells still
    // to hide, then single cells, until exactly n - keep are hidden; it stops
    // short only when no kept cell is left, which n - keep <= n rules out.
    const int64_t keep = std::llround(36.0 * (1.0 - params.real("ratio")));
    CHECK((out.loss_mask.sum(1) == 36 - keep).all().item<bool>());
  }
}
