// Tests of @NAME@, loaded from the build folder as cloze loads it.
#include <ATen/ops/arange.h>
#include <ATen/ops/zeros.h>

#include <algorithm>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/registry.h"

// Catch2 last: LibTorch's logging defines its own CHECK, which Catch's must replace.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

namespace {

std::shared_ptr<cloze::Corruption> make(int64_t window, double rate) {
  static cloze::Registry registry;
  if (!registry.contains(cloze::PluginKind::corruption, "@NAME@")) registry.load_directory(PLUGIN_DIR);
  cloze::Params params("corruption", registry.info(cloze::PluginKind::corruption, "@NAME@").schema);
  params.set("window", window, "test");
  params.set("rate", rate, "test");
  auto corruption = registry.make_corruption("@NAME@", params);
  cloze::UnitSpec units;
  units.vocab_size = 20000;  // the test batches' ids run up to 16,000
  units.pad_id = 0;
  corruption->prepare(units);
  return corruption;
}

// 8 rows of 20 distinct ids, the last 3 of row 0 padding.
cloze::Batch batch() {
  cloze::Batch b;
  b.units = at::arange(1, 161, at::kLong).reshape({8, 20});
  b.padding = at::zeros({8, 20}, at::kBool);
  b.grid.dims = {20};
  b.padding[0].narrow(0, 17, 3).fill_(true);
  b.units[0].narrow(0, 17, 3).fill_(0);
  for (int64_t i = 0; i < 8; ++i) b.sample_ids.push_back(100 + i);
  return b;
}

std::vector<int64_t> sorted(const at::Tensor& ids) {
  std::vector<int64_t> values(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
  std::sort(values.begin(), values.end());
  return values;
}

}  // namespace

TEST_CASE("each window holds the same units, shuffled windows are scored, padding stays") {
  const cloze::Batch original = batch();
  const cloze::Corrupted out = make(4, 0.5)->corrupt(original, 7);
  CHECK(out.target.equal(original.units));
  for (int64_t row = 0; row < 8; ++row)
    for (int64_t start = 0; start < 20; start += 4) {
      const at::Tensor window = out.input[row].narrow(0, start, 4).contiguous();
      CHECK(sorted(window) == sorted(original.units[row].narrow(0, start, 4).contiguous()));
      const at::Tensor scored = out.loss_mask[row].narrow(0, start, 4);
      CHECK((scored.all().item<bool>() || !scored.any().item<bool>()));  // a window is scored whole or not
      if (!scored.any().item<bool>()) CHECK(window.equal(original.units[row].narrow(0, start, 4)));
    }
  CHECK(out.input[0].narrow(0, 17, 3).equal(original.units[0].narrow(0, 17, 3)));
  CHECK_FALSE(out.loss_mask[0].narrow(0, 17, 3).any().item<bool>());
}

TEST_CASE("the share of shuffled windows follows rate, and a seed gives one result") {
  cloze::Batch big;
  big.units = at::arange(1, 1 + 400 * 40, at::kLong).reshape({400, 40});
  big.padding = at::zeros({400, 40}, at::kBool);
  big.grid.dims = {40};
  for (int64_t i = 0; i < 400; ++i) big.sample_ids.push_back(i);
  const auto corruption = make(4, 0.3);
  const cloze::Corrupted out = corruption->corrupt(big, 1);
  const double shuffled = out.loss_mask.to(at::kDouble).mean().item<double>();
  CHECK(shuffled == Approx(0.3).margin(0.03));  // 4000 windows: one standard deviation is 0.0072
  CHECK(corruption->corrupt(big, 1).input.equal(out.input));
  CHECK_FALSE(corruption->corrupt(big, 2).input.equal(out.input));
}

TEST_CASE("bad parameters are refused, naming the key") {
  CHECK_THROWS_WITH(make(1, 0.5), Catch::Matchers::Contains("corruption.window"));
  CHECK_THROWS_WITH(make(4, 1.5), Catch::Matchers::Contains("corruption.rate"));
}
