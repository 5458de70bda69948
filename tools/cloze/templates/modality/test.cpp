// Tests of @NAME@, loaded from the build folder as cloze loads it.
#include "cloze/core/modality.h"
#include "cloze/core/registry.h"

// Catch2 last: LibTorch's logging defines its own CHECK, which Catch's must replace.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

namespace {

std::shared_ptr<cloze::Modality> make(int64_t length, int64_t vocab) {
  static cloze::Registry registry;
  if (!registry.contains(cloze::PluginKind::modality, "@NAME@")) registry.load_directory(PLUGIN_DIR);
  cloze::Params params("modality", registry.info(cloze::PluginKind::modality, "@NAME@").schema);
  params.set("length", length, "test");
  params.set("vocab", vocab, "test");
  return registry.make_modality("@NAME@", params, cloze::ModalityContext{});
}

}  // namespace

TEST_CASE("samples count up by the step, on the grid, with no special id inside") {
  const auto modality = make(16, 50);
  CHECK(modality->grid().numel() == 16);
  const auto dataset = modality->dataset(cloze::Split::train);
  const cloze::Batch batch = dataset->collate({0, 5, 9});
  REQUIRE(batch.units.sizes() == at::IntArrayRef({3, 16}));
  CHECK(batch.sample_ids == std::vector<int64_t>{0, 5, 9});
  const auto units = modality->units();
  for (int64_t row = 0; row < 3; ++row)
    for (int64_t i = 0; i < 16; ++i) {
      const int64_t id = batch.units[row][i].item<int64_t>();
      CHECK_FALSE(units.is_special(id));
      if (i > 0) CHECK((id - 2) == (batch.units[row][i - 1].item<int64_t>() - 2 + 3) % 48);
    }
  CHECK(dataset->collate({5}).units[0].equal(batch.units[1]));  // a sample is a function of its index
}

TEST_CASE("the splits hold different samples, and bad parameters are refused, naming the key") {
  const auto modality = make(8, 1000);
  CHECK_FALSE(modality->dataset(cloze::Split::train)->collate({0}).units.equal(
      modality->dataset(cloze::Split::eval)->collate({0}).units));
  CHECK_THROWS_WITH(make(0, 50), Catch::Matchers::Contains("modality.length"));
  CHECK_THROWS_WITH(make(8, 2), Catch::Matchers::Contains("modality.vocab"));
}
