// The synthetic modality (plugins/synthetic), loaded from the build tree like
// any plugin: the text-like id layout, ids drawn from the ordinary ones only,
// standard-normal patches, samples fixed by (seed, split, index), every text
// corruption working on its tokens, and the errors a user sees.
#include <catch2/catch.hpp>

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/error.h"
#include "cloze/core/modality.h"
#include "cloze/core/params.h"
#include "cloze/core/registry.h"
#include "test_support.h"

namespace {

using Catch::Matchers::Contains;
using test_support::registry;
using test_support::Settings;

// A vocabulary of 120 ids: 5 reserved, 100 sentinels, 15 ordinary ones.
constexpr int64_t vocab = 120, first_ordinary = 105;

std::shared_ptr<cloze::Modality> make(const Settings& settings, uint64_t seed = 0,
                                      std::function<int64_t(int64_t)> raw_length = [](int64_t n) { return n; }) {
  cloze::ModalityContext context;
  context.seed = seed;
  context.raw_length = std::move(raw_length);
  return registry().make_modality("synthetic", test_support::modality_params("synthetic", settings), context);
}

std::shared_ptr<cloze::Modality> tokens(int64_t seq_len, uint64_t seed = 0) {
  return make({{"vocab_size", vocab}, {"seq_len", seq_len}, {"train_samples", int64_t{100}},
               {"eval_samples", int64_t{10}}},
              seed);
}

std::shared_ptr<cloze::Modality> patches() {
  return make({{"units", std::string("patches")}, {"grid_rows", int64_t{3}}, {"grid_columns", int64_t{4}},
               {"unit_dim", int64_t{16}}});
}

std::vector<int64_t> first(int64_t count) {
  std::vector<int64_t> indices(static_cast<std::size_t>(count));
  std::iota(indices.begin(), indices.end(), int64_t{0});
  return indices;
}

std::shared_ptr<cloze::Corruption> corruption(const std::string& name, const Settings& settings = {}) {
  cloze::Params params("corruption", registry().info(cloze::PluginKind::corruption, name).schema);
  for (const auto& [key, value] : settings) params.set(key, value, "test");
  return registry().make_corruption(name, params);
}

}  // namespace

TEST_CASE("synthetic tokens: the text modality's id layout, every id with a piece") {
  const cloze::UnitSpec units = tokens(8)->units();
  CHECK(units.kind == cloze::UnitKind::discrete);
  CHECK(units.vocab_size == vocab);
  CHECK(units.pad_id == 0);
  CHECK(units.bos_id == 2);
  CHECK(units.eos_id == 3);
  CHECK(units.mask_id == 4);
  std::vector<int64_t> sentinels(100);
  std::iota(sentinels.begin(), sentinels.end(), int64_t{5});
  CHECK(units.sentinel_ids == sentinels);
  std::vector<int64_t> specials(first_ordinary);
  std::iota(specials.begin(), specials.end(), int64_t{0});
  CHECK(units.special_ids == specials);
  REQUIRE(units.pieces.size() == static_cast<std::size_t>(vocab));
  CHECK(units.pieces[4] == "[MASK]");
  CHECK(units.pieces[5] == "<extra_id_0>");
  CHECK(units.pieces[119] == "119");
}

TEST_CASE("synthetic tokens: full-length int64 rows of ordinary ids, each ordinary id drawn") {
  const auto modality = tokens(64);
  const cloze::Batch batch = modality->dataset(cloze::Split::train)->collate(first(32));
  CHECK(batch.units.sizes() == at::IntArrayRef({32, 64}));
  CHECK(batch.units.scalar_type() == at::kLong);
  CHECK(batch.padding.sizes() == at::IntArrayRef({32, 64}));
  CHECK_FALSE(batch.padding.any().item<bool>());
  CHECK(batch.labels.eq(-1).all().item<bool>());
  CHECK(batch.grid == cloze::Grid{{64}});
  CHECK(batch.sample_ids == first(32));
  CHECK(batch.units.min().item<int64_t>() == first_ordinary);
  CHECK(batch.units.max().item<int64_t>() == vocab - 1);
  // 2048 uniform draws over 15 ids: each is drawn about 137 times.
  const at::Tensor counts = at::bincount(batch.units.flatten() - first_ordinary, {}, vocab - first_ordinary);
  CHECK(counts.min().item<int64_t>() > 80);
  CHECK(counts.max().item<int64_t>() < 200);
}

TEST_CASE("synthetic: a sample is fixed by (seed, split, index), whatever the batch or thread") {
  const auto modality = tokens(32);
  const auto train = modality->dataset(cloze::Split::train);
  const at::Tensor pair = train->collate({3, 8}).units;
  CHECK(pair.equal(tokens(32)->dataset(cloze::Split::train)->collate({3, 8}).units));  // same seed, same batch
  CHECK(pair[1].equal(train->collate({8}).units[0]));                                   // batch-independent
  CHECK_FALSE(pair[0].equal(pair[1]));                                                  // another index
  CHECK_FALSE(pair[0].equal(tokens(32, 1)->dataset(cloze::Split::train)->collate({3}).units[0]));  // another seed
  CHECK_FALSE(pair[0].equal(modality->dataset(cloze::Split::eval)->collate({3}).units[0]));        // the eval split
  at::Tensor from_thread;
  std::thread([&] { from_thread = train->collate({3, 8}).units; }).join();
  CHECK(from_thread.equal(pair));
}

TEST_CASE("synthetic: split sizes, and an index outside a split names it") {
  const auto modality = tokens(8);
  CHECK(modality->dataset(cloze::Split::train)->size() == 100);
  CHECK(modality->dataset(cloze::Split::eval)->size() == 10);
  CHECK_THROWS_WITH(modality->dataset(cloze::Split::eval)->collate({10}),
                    Contains("sample 10") && Contains("eval split's 10 samples"));
}

TEST_CASE("synthetic patches: float32 standard-normal units of unit_dim on the configured grid") {
  const auto modality = patches();
  const cloze::UnitSpec units = modality->units();
  CHECK(units.kind == cloze::UnitKind::continuous);
  CHECK(units.unit_dim == 16);
  CHECK(modality->grid() == cloze::Grid{{3, 4}});
  const cloze::Batch batch = modality->dataset(cloze::Split::train)->collate(first(32));
  CHECK(batch.units.sizes() == at::IntArrayRef({32, 12, 16}));
  CHECK(batch.units.scalar_type() == at::kFloat);
  CHECK(batch.units.is_contiguous());
  CHECK(batch.padding.sizes() == at::IntArrayRef({32, 12}));
  CHECK_FALSE(batch.padding.any().item<bool>());
  CHECK(batch.grid == cloze::Grid{{3, 4}});
  // 6144 values: mean 0 +- 0.013, std 1 +- 0.009, and a normal's tails
  // (4.55% beyond 2 sigma +- 0.27%), which a uniform of the same spread lacks.
  CHECK(std::abs(batch.units.mean().item<double>()) < 0.06);
  CHECK(std::abs(batch.units.std().item<double>() - 1) < 0.05);
  CHECK(std::abs(batch.units.abs().gt(2).to(at::kDouble).mean().item<double>() - 0.0455) < 0.015);
  CHECK(batch.units[0].equal(modality->dataset(cloze::Split::train)->collate({0}).units[0]));
  CHECK_FALSE(batch.units[0].equal(modality->dataset(cloze::Split::eval)->collate({0}).units[0]));
}

TEST_CASE("synthetic tokens: every text corruption accepts them, span_infill with inputs of exactly seq_len") {
  for (const std::string name : {"token_mask", "span_mask", "token_replace", "token_deletion", "text_infill",
                                 "span_infill", "sentence_permute", "rotate", "prefix_lm"}) {
    INFO(name);
    const auto corrupt = corruption(name);
    const auto modality = make({{"seq_len", int64_t{64}}}, 0, [&](int64_t n) { return corrupt->raw_length(n); });
    REQUIRE(corrupt->incompatibility(modality->units()) == "");
    corrupt->prepare(modality->units());
    const cloze::Corrupted out = corrupt->corrupt(modality->dataset(cloze::Split::train)->collate(first(4)), 7);
    CHECK(out.loss_mask.any().item<bool>());
    if (name == "span_infill") {
      CHECK(modality->grid().numel() > 64);
      CHECK(out.input.sizes() == at::IntArrayRef({4, 64}));
      CHECK_FALSE(out.input_padding.any().item<bool>());
    }
  }
}

TEST_CASE("synthetic previews: ids with specials by name for tokens, the hidden-patch map for patches") {
  const auto text = tokens(64);
  const auto token_mask = corruption("token_mask");
  token_mask->prepare(text->units());
  const cloze::Batch ids = text->dataset(cloze::Split::train)->collate({0});
  const std::string line = text->preview(ids, token_mask->corrupt(ids, 7), 0);
  CHECK_THAT(line, Contains("input ") && Contains("[MASK]") && Contains("(64 ids) ⇒ scored "));

  const auto image = patches();
  const auto patch_mask = corruption("patch_mask");
  patch_mask->prepare(image->units());
  const cloze::Batch values = image->dataset(cloze::Split::train)->collate({0});
  CHECK_THAT(image->preview(values, patch_mask->corrupt(values, 7), 0), Contains("9 of 12 patches hidden"));
  CHECK_FALSE(image->write_picture(values, patch_mask->corrupt(values, 7), nullptr, 0, "unused.png"));
}

TEST_CASE("synthetic: a bad value is refused naming the key") {
  CHECK_THROWS_AS(make({{"units", std::string("pixels")}}), cloze::Error);
  CHECK_THROWS_WITH(make({{"units", std::string("pixels")}}), Contains("modality.units = \"pixels\""));
  CHECK_THROWS_WITH(make({{"vocab_size", int64_t{5}}}), Contains("modality.vocab_size = 5"));
  CHECK_THROWS_WITH(make({{"vocab_size", vocab}, {"sentinels", int64_t{115}}}),
                    Contains("modality.sentinels = 115") && Contains("[0, 114]"));
  CHECK_THROWS_WITH(make({{"grid_rows", int64_t{0}}}), Contains("modality.grid_rows = 0"));
  CHECK_THROWS_WITH(make({{"unit_dim", int64_t{-1}}}), Contains("modality.unit_dim = -1"));
  CHECK_THROWS_WITH(make({{"eval_samples", int64_t{0}}}), Contains("modality.eval_samples = 0"));
  CHECK_THROWS_WITH(make({{"seq_len", int64_t{4}}}, 0, [](int64_t) { return int64_t{0}; }),
                    Contains("modality.seq_len = 4") && Contains("raw_length"));
}
