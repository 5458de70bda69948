// The corruption contract the framework checks for every plugin
// (cloze/core/corruption.h): prepare() refuses incompatible units and comes
// first; corrupt() refuses a batch that does not match the units and a result
// that does not match the corruption's mode, naming the corruption. The
// corruption here is a fake registered in-process whose output each test sets.
#include <catch2/catch.hpp>

#include <ATen/Functions.h>

#include <functional>
#include <memory>
#include <string>

#include "cloze/core/corruption.h"
#include "cloze/core/registry.h"
#include "cloze/corrupt/in_place.h"

using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

// Hands back whatever `make` builds from the batch; refuses units without a
// [MASK] id, as token_mask does.
class Scripted final : public cloze::Corruption {
 public:
  std::function<cloze::Corrupted(const cloze::Batch&)> make;
  cloze::ReconstructionMode reconstruction = cloze::ReconstructionMode::in_place;

  cloze::ReconstructionMode mode() const override { return reconstruction; }
  std::string incompatibility(const cloze::UnitSpec& units) const override {
    return units.mask_id < 0 ? "scripted needs a [MASK] id" : "";
  }

 private:
  cloze::Corrupted do_corrupt(const cloze::Batch& batch, uint64_t) const override { return make(batch); }
};

std::shared_ptr<Scripted> scripted() {
  cloze::Registry registry;
  registry.add_corruption("scripted", "test", {}, [](const cloze::Params&) { return std::make_shared<Scripted>(); });
  auto made = std::dynamic_pointer_cast<Scripted>(registry.make_corruption("scripted", cloze::Params("corruption", {})));
  made->make = [](const cloze::Batch& batch) {
    return cloze::in_place_corrupted(batch, batch.units.clone(), at::zeros_like(batch.padding));
  };
  return made;
}

cloze::UnitSpec ids(int64_t vocab) {
  cloze::UnitSpec units;
  units.vocab_size = vocab;
  units.pad_id = 0;
  units.mask_id = 1;
  return units;
}

// Two rows of four ids below 10, the last unit of row 1 padding.
cloze::Batch batch() {
  cloze::Batch batch;
  batch.units = at::arange(2, 10, at::kLong).reshape({2, 4});
  batch.padding = at::zeros({2, 4}, at::kBool);
  batch.padding[1][3] = true;
  batch.grid.dims = {4};
  batch.sample_ids = {7, 8};
  return batch;
}

}  // namespace

TEST_CASE("prepare refuses units the corruption cannot work on, and corrupt needs prepare first") {
  const auto corruption = scripted();
  CHECK(corruption->name() == "scripted");
  CHECK_THROWS_WITH(corruption->corrupt(batch(), 1), Equals("scripted: corrupt() called before prepare(units)"));
  cloze::UnitSpec no_mask = ids(10);
  no_mask.mask_id = -1;
  CHECK_THROWS_WITH(corruption->prepare(no_mask), Equals("scripted needs a [MASK] id"));
  CHECK_THROWS_WITH(corruption->corrupt(batch(), 1), Contains("before prepare"));
  corruption->prepare(ids(10));
  CHECK(corruption->corrupt(batch(), 1).input.equal(batch().units));
}

TEST_CASE("corrupt refuses a batch that does not match the units, naming the corruption and what is wrong") {
  const auto corruption = scripted();
  corruption->prepare(ids(10));

  cloze::Batch floats = batch();
  floats.units = floats.units.to(at::kFloat);
  CHECK_THROWS_WITH(corruption->corrupt(floats, 1),
                    Equals("scripted: expects [B, N] int64 unit ids, got [2, 4] Float"));
  cloze::Batch padding = batch();
  padding.padding = at::zeros({2, 3}, at::kBool);
  CHECK_THROWS_WITH(corruption->corrupt(padding, 1), Contains("scripted: padding must be [2, 4] bool"));
  cloze::Batch samples = batch();
  samples.sample_ids.pop_back();
  CHECK_THROWS_WITH(corruption->corrupt(samples, 1), Equals("scripted: the batch has 2 rows but 1 sample ids"));
  cloze::Batch grid = batch();
  grid.grid.dims = {2, 3};
  CHECK_THROWS_WITH(corruption->corrupt(grid, 1), Contains("grid [2, 3] holds 6 units, but its rows hold 4"));

  // An id outside the vocabulary is named by sample and unit; padding may hold anything.
  cloze::Batch outside = batch();
  outside.units[1][2] = 10;
  CHECK_THROWS_WITH(corruption->corrupt(outside, 1),
                    Equals("scripted: sample 8, unit 2 has id 10, outside the vocabulary [0, 10)"));
  cloze::Batch padded = batch();
  padded.units[1][3] = -5;
  CHECK_NOTHROW(corruption->corrupt(padded, 1));

  cloze::UnitSpec patches;
  patches.kind = cloze::UnitKind::continuous;
  patches.unit_dim = 3;
  patches.mask_id = 0;  // the fake's own condition
  const auto continuous = scripted();
  continuous->prepare(patches);
  CHECK_THROWS_WITH(continuous->corrupt(batch(), 1), Equals("scripted: expects [B, N, 3] float units, got [2, 4] Long"));
}

TEST_CASE("corrupt refuses a result that its mode does not allow, as a bug in the corruption") {
  const auto corruption = scripted();
  corruption->prepare(ids(10));
  const auto refuses = [&](std::function<void(cloze::Corrupted&)> damage, const std::string& what) {
    corruption->make = [damage](const cloze::Batch& batch) {
      cloze::Corrupted out = cloze::in_place_corrupted(batch, batch.units.clone(), at::zeros_like(batch.padding));
      damage(out);
      return out;
    };
    CHECK_THROWS_WITH(corruption->corrupt(batch(), 1), Contains("scripted returned a") && Contains(what) &&
                                                           Contains("a bug in the corruption"));
  };
  refuses([](cloze::Corrupted& out) { out.mode = cloze::ReconstructionMode::fill; }, "not the corruption's own");
  refuses([](cloze::Corrupted& out) { out.loss_mask = out.loss_mask.narrow(1, 0, 3); }, "loss_mask is [2, 3]");
  refuses([](cloze::Corrupted& out) { out.loss_mask = out.loss_mask.to(at::kLong); }, "loss_mask is [2, 4] Long");
  refuses([](cloze::Corrupted& out) { out.input_positions = at::Tensor(); }, "input_positions is undefined");
  refuses([](cloze::Corrupted& out) { out.entry = at::zeros({3}, at::kLong); }, "entry is [3] Long");
  refuses(
      [](cloze::Corrupted& out) {
        out.input = out.input.narrow(1, 0, 3);
        out.input_positions = out.input_positions.narrow(1, 0, 3);
        out.input_padding = out.input_padding.narrow(1, 0, 3);
      },
      "every unit stays where it is");

  corruption->reconstruction = cloze::ReconstructionMode::sequence;
  corruption->make = [](const cloze::Batch& batch) {
    cloze::Corrupted out = cloze::in_place_corrupted(batch, batch.units.clone(), at::zeros_like(batch.padding));
    out.mode = cloze::ReconstructionMode::sequence;
    return out;  // no decoder input
  };
  CHECK_THROWS_WITH(corruption->corrupt(batch(), 1), Contains("decoder_input is undefined"));
}
