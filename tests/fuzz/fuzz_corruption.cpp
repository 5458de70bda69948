// Fuzzes one shipped corruption, named by CLOZE_FUZZ_CORRUPTION at compile
// time (tests/fuzz/CMakeLists.txt builds this file once per corruption). The
// input decides, in this order:
//   1. each schema parameter: its default, an edge value or an arbitrary one
//      (so values outside the documented range are tried as often as inside);
//   2. the units: discrete (a vocabulary with or without pad/mask/bos/eos,
//      sentinels, word starts) or continuous (values per unit, normalisation);
//   3. the batch: rows, grid, padding, unit ids or values, sample ids, epoch;
//   4. the seed.
// A bad parameter or batch must be refused with cloze::Error; anything else
// must give a well-formed Corrupted (check_corrupted says what that means).
#include <ATen/Functions.h>
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cloze/core/batch.h"
#include "cloze/core/corruption.h"
#include "cloze/core/params.h"
#include "fuzz_support.h"

namespace {

// Strings a schema's enumerations use, a near miss and an empty one.
const std::vector<std::string> words{"random", "block", "time", "frequency", "time_frequency", "fill",
                                     "in_place", "sequence", "Random", ""};

cloze::Value fuzzed_value(FuzzedDataProvider& input, const cloze::ParamSpec& spec) {
  const int choice = input.ConsumeIntegralInRange(0, 3);  // 0: default, 1: edge value, 2-3: arbitrary
  if (choice == 0) return spec.default_value;
  switch (spec.type) {
    case cloze::ParamType::integer:
      return choice == 1 ? input.PickValueInArray<int64_t>({-1, 0, 1, 2, 3, 1 << 20, INT64_MAX, INT64_MIN})
                         : input.ConsumeIntegralInRange<int64_t>(-4, 64);
    case cloze::ParamType::real:
      return choice == 1 ? input.PickValueInArray<double>({-1.0, 0.0, 1e-300, 0.5, 1.0, 2.0, 1e300, NAN, INFINITY})
                         : input.ConsumeFloatingPointInRange(-0.5, 1.5);
    case cloze::ParamType::boolean:
      return input.ConsumeBool();
    case cloze::ParamType::string:
      return choice == 1 ? input.ConsumeRandomLengthString(16) : words[input.ConsumeIntegralInRange<size_t>(0, words.size() - 1)];
    case cloze::ParamType::string_list:
      return std::vector<std::string>{input.ConsumeRandomLengthString(16)};
  }
  return spec.default_value;
}

// A vocabulary as a tokenizer would describe it: ids pad 0, eos 1, bos 2,
// [MASK] 3 (each possibly absent), sentinels at the top, all of them special.
cloze::UnitSpec discrete_units(FuzzedDataProvider& input) {
  cloze::UnitSpec units;
  units.kind = cloze::UnitKind::discrete;
  units.vocab_size = input.ConsumeIntegralInRange<int64_t>(5, 300);
  units.pad_id = 0;  // every text batch pads
  units.eos_id = input.ConsumeBool() ? 1 : -1;
  units.bos_id = input.ConsumeBool() ? 2 : -1;
  units.mask_id = input.ConsumeBool() ? 3 : -1;
  const int64_t sentinels = input.ConsumeIntegralInRange<int64_t>(0, std::min<int64_t>(100, units.vocab_size - 5));
  for (int64_t i = 0; i < sentinels; ++i) units.sentinel_ids.push_back(units.vocab_size - 1 - i);
  for (const int64_t id : {units.pad_id, units.eos_id, units.bos_id, units.mask_id})
    if (id >= 0) units.special_ids.push_back(id);
  units.special_ids.insert(units.special_ids.end(), units.sentinel_ids.begin(), units.sentinel_ids.end());
  if (input.ConsumeBool())
    for (int64_t id = 0; id < units.vocab_size; ++id) units.begins_word.push_back(input.ConsumeBool());
  return units;
}

cloze::UnitSpec continuous_units(FuzzedDataProvider& input) {
  cloze::UnitSpec units;
  units.kind = cloze::UnitKind::continuous;
  units.unit_dim = input.ConsumeIntegralInRange<int64_t>(1, 12);
  units.normalize_targets = input.ConsumeBool();
  units.value_range = input.ConsumeBool() ? 2.0 : 0.0;
  return units;
}

// Rows of the grid the modality would use: [N] for text, [H, W] for patches.
cloze::Batch fuzzed_batch(FuzzedDataProvider& input, const cloze::UnitSpec& units) {
  const bool discrete = units.kind == cloze::UnitKind::discrete;
  cloze::Batch batch;
  const int64_t rows = input.ConsumeIntegralInRange<int64_t>(1, 6);
  if (discrete || input.ConsumeBool())
    batch.grid.dims = {input.ConsumeIntegralInRange<int64_t>(1, 64)};
  else
    batch.grid.dims = {input.ConsumeIntegralInRange<int64_t>(1, 8), input.ConsumeIntegralInRange<int64_t>(1, 8)};
  const int64_t length = batch.grid.numel();

  // Padding: none, a suffix per row (a sample shorter than the grid), or any
  // pattern.
  const int padding_kind = input.ConsumeIntegralInRange(0, 2);
  batch.padding = at::zeros({rows, length}, at::kBool);  // [B, N]
  auto padding = batch.padding.accessor<bool, 2>();
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t real = padding_kind == 1 ? input.ConsumeIntegralInRange<int64_t>(0, length) : length;
    for (int64_t n = 0; n < length; ++n) padding[row][n] = padding_kind == 2 ? input.ConsumeBool() : n >= real;
  }

  if (discrete) {
    // Ids in range, except that one in 64 inputs may hold any int64.
    const bool any_id = input.ConsumeIntegralInRange(0, 63) == 0;
    batch.units = at::empty({rows, length}, at::kLong);  // [B, N]
    auto ids = batch.units.accessor<int64_t, 2>();
    for (int64_t row = 0; row < rows; ++row)
      for (int64_t n = 0; n < length; ++n)
        ids[row][n] = padding[row][n] ? units.pad_id
                      : any_id        ? input.ConsumeIntegral<int64_t>()
                                      : input.ConsumeIntegralInRange<int64_t>(0, units.vocab_size - 1);
  } else {
    batch.units = at::empty({rows, length, units.unit_dim}, at::kFloat);  // [B, N, D]
    float* values = batch.units.data_ptr<float>();
    for (int64_t i = 0; i < batch.units.numel(); ++i)
      values[i] = static_cast<float>(input.ConsumeIntegralInRange(-128, 127)) / 32.0f;
  }
  batch.labels = at::full({rows}, -1, at::kLong);  // [B]
  for (int64_t row = 0; row < rows; ++row) batch.sample_ids.push_back(input.ConsumeIntegralInRange<int64_t>(0, 1 << 30));
  batch.epoch = input.ConsumeIntegralInRange<int64_t>(0, 1000);
  return batch;
}

[[noreturn]] void broken(const std::string& what) {
  std::fprintf(stderr, "fuzz: %s returned a malformed Corrupted: %s\n", CLOZE_FUZZ_CORRUPTION, what.c_str());
  std::abort();
}

void expect(bool ok, const std::string& what) {
  if (!ok) broken(what);
}

// Ids of a discrete tensor lie in [0, vocab) where `where` is true (all of it
// when undefined).
void expect_ids(const at::Tensor& ids, const at::Tensor& where, int64_t vocab, const std::string& name) {
  const at::Tensor checked = where.defined() ? ids.masked_select(where) : ids;
  if (checked.numel() == 0) return;
  expect(checked.min().item<int64_t>() >= 0 && checked.max().item<int64_t>() < vocab, name + " holds an id outside [0, vocab)");
}

// The shapes that corrupted.h promises, and ids within the vocabulary.
void check_corrupted(const cloze::Corrupted& out, const cloze::Corruption& corruption, const cloze::UnitSpec& units,
                     const cloze::Batch& batch) {
  const bool discrete = units.kind == cloze::UnitKind::discrete;
  const int64_t rows = batch.size();
  const int64_t value_dims = discrete ? 2 : 3;
  expect(out.mode == corruption.mode(), "mode differs from mode()");
  expect(out.input.defined() && out.input.dim() == value_dims && out.input.size(0) == rows, "input is not [B, N_in(, D)]");
  const int64_t n_in = out.input.size(1);
  expect(out.target.defined() && out.target.dim() == value_dims && out.target.size(0) == rows,
         "target is not [B, N_t(, D)]");
  const int64_t n_t = out.target.size(1);
  expect(out.loss_mask.defined() && out.loss_mask.scalar_type() == at::kBool &&
             out.loss_mask.sizes() == at::IntArrayRef({rows, n_t}),
         "loss_mask is not [B, N_t] bool");
  if (out.input_padding.defined())
    expect(out.input_padding.scalar_type() == at::kBool && out.input_padding.sizes() == at::IntArrayRef({rows, n_in}),
           "input_padding is not [B, N_in] bool");
  if (out.input_positions.defined())
    expect(out.input_positions.sizes() == at::IntArrayRef({rows, n_in}), "input_positions is not [B, N_in]");
  if (out.input_masked.defined())
    expect(out.input_masked.sizes() == at::IntArrayRef({rows, n_in}), "input_masked is not [B, N_in]");
  if (out.target_padding.defined())
    expect(out.target_padding.sizes() == at::IntArrayRef({rows, n_t}), "target_padding is not [B, N_t]");
  if (!discrete) {
    expect(out.input.size(2) == units.unit_dim && out.target.size(2) == units.unit_dim, "values per unit changed");
    return;
  }
  // corrupt() refuses a batch with ids outside the vocabulary, so every id
  // that comes out must be inside it.
  const at::Tensor real_input = out.input_padding.defined() ? out.input_padding.logical_not() : at::Tensor();
  expect_ids(out.input, real_input, units.vocab_size, "input");
  expect_ids(out.target, out.loss_mask, units.vocab_size, "target (where loss_mask)");
  if (out.mode == cloze::ReconstructionMode::sequence) {
    expect(out.decoder_input.defined() && out.decoder_input.sizes() == at::IntArrayRef({rows, n_t}),
           "decoder_input is not [B, N_t]");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cloze::fuzz::use_one_thread();
  FuzzedDataProvider input(data, size);
  cloze::Registry& registry = cloze::fuzz::shipped_plugins();
  const cloze::Schema& schema = registry.info(cloze::PluginKind::corruption, CLOZE_FUZZ_CORRUPTION).schema;

  cloze::fuzz::refuse_only_with_cloze_errors([&] {
    cloze::Params params("corruption", schema);
    for (const cloze::ParamSpec& spec : schema) params.set(spec.name, fuzzed_value(input, spec), "fuzz");
    const std::shared_ptr<cloze::Corruption> corruption = registry.make_corruption(CLOZE_FUZZ_CORRUPTION, params);

    const cloze::UnitSpec units = input.ConsumeBool() ? discrete_units(input) : continuous_units(input);
    if (!corruption->incompatibility(units).empty()) return;  // the loader refuses the pairing first
    corruption->prepare(units);
    const cloze::Batch batch = fuzzed_batch(input, units);
    const auto seed = input.ConsumeIntegral<uint64_t>();
    check_corrupted(corruption->corrupt(batch, seed), *corruption, units, batch);
  });
  return 0;
}
