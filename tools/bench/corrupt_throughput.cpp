// How many units per second one loader thread corrupts, for the shipped
// corruptions token_mask (BERT), span_infill (T5) and patch_mask (MAE), at
// their schema defaults, on synthetic batches: text [B, N] ids drawn uniformly
// from a 32000-id BERT/T5-like vocabulary's ordinary ids, patches
// [B, grid^2, values] randn on a square grid (ViT-B's 14 x 14 of 768 values by default). The loader runs one batch per worker
// thread, so this runs on one intra-op thread. Each objective is warmed up,
// then corrupt() is timed over --repeats seeds and the median taken;
// units_per_s = B * N / median, N counting raw units (span_infill reads
// raw_length(length) units per row to give inputs of `length`). One JSON line
// per objective; tools/bench/reference/corrupt.py prints the same lines for
// the Python implementations these reproduce. copy_floor_s is the median time
// of one memcpy of the corrupted input's bytes: no corruption that writes its
// encoder input can be faster, which bounds the ratio on large patches.
//
//   cloze_bench_corrupt [--repeats 20] [--batch 64] [--length 512] [--grid 14] [--patch-values 768]
//                       [--only token_mask]
#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cloze/core/batch.h"
#include "cloze/core/corruption.h"
#include "cloze/core/params.h"
#include "cloze/core/registry.h"
#include "cloze/core/units.h"
#include "cloze/train/device.h"

namespace {

struct Setup {
  int64_t repeats = 20, batch = 64, length = 512, grid_side = 14, patch_values = 768;
  std::string only;
};

constexpr int64_t warmup_repeats = 3;

// BERT/T5-like: pad 0, eos 1, bos 2, [MASK] 3, T5's 100 sentinels at the top
// of the vocabulary (<extra_id_0> is the last id, as in T5).
cloze::UnitSpec text_units() {
  cloze::UnitSpec units;
  units.kind = cloze::UnitKind::discrete;
  units.vocab_size = 32000;
  units.pad_id = 0;
  units.eos_id = 1;
  units.bos_id = 2;
  units.mask_id = 3;
  for (int64_t i = 0; i < 100; ++i) units.sentinel_ids.push_back(units.vocab_size - 1 - i);
  units.special_ids = {units.pad_id, units.eos_id, units.bos_id, units.mask_id};
  units.special_ids.insert(units.special_ids.end(), units.sentinel_ids.begin(), units.sentinel_ids.end());
  return units;
}

// Image patches of `values` values (768: ViT-B's 16 x 16 x 3).
cloze::UnitSpec patch_units(int64_t values) {
  cloze::UnitSpec units;
  units.kind = cloze::UnitKind::continuous;
  units.unit_dim = values;
  return units;
}

cloze::Batch text_batch(const cloze::UnitSpec& units, int64_t rows, int64_t length) {
  const std::vector<int64_t> ordinary = units.ordinary_ids();
  const at::Tensor table = at::tensor(ordinary, at::kLong);  // [V']
  cloze::Batch batch;
  batch.units = table.index_select(0, at::randint(table.size(0), {rows * length}, at::kLong)).view({rows, length});
  batch.padding = at::zeros({rows, length}, at::kBool);
  batch.grid = cloze::Grid{{length}};
  return batch;
}

cloze::Batch patch_batch(const cloze::UnitSpec& units, int64_t rows, const cloze::Grid& grid) {
  cloze::Batch batch;
  batch.units = at::randn({rows, grid.numel(), units.unit_dim});  // [B, N, D]
  batch.padding = at::zeros({rows, grid.numel()}, at::kBool);     // [B, N]
  batch.grid = grid;
  return batch;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Median wall time of one corrupt() call, in seconds, each with its own seed.
double median_seconds(const cloze::Corruption& corruption, const cloze::Batch& batch, int64_t repeats) {
  uint64_t seed = 1;
  for (int64_t i = 0; i < warmup_repeats; ++i) corruption.corrupt(batch, seed++);
  std::vector<double> seconds;
  for (int64_t i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const cloze::Corrupted corrupted = corruption.corrupt(batch, seed++);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return median(seconds);
}

// Median wall time of copying `bytes` of `source` into a fresh buffer: the
// least any corruption that writes an encoder input of that size can take.
double median_copy_seconds(const at::Tensor& source, int64_t bytes, int64_t repeats) {
  std::vector<double> seconds;
  for (int64_t i = 0; i < warmup_repeats + repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const at::Tensor copy = at::empty({bytes}, at::kByte);
    std::memcpy(copy.data_ptr(), source.data_ptr(), static_cast<std::size_t>(bytes));
    if (i >= warmup_repeats)
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return median(seconds);
}

}  // namespace

int main(int argc, char** argv) {
  Setup setup;
  CLI::App app{"units per second one thread corrupts, per shipped corruption; JSON lines on stdout"};
  app.add_option("--repeats", setup.repeats, "timed corrupt() calls per objective, after warm-up")
      ->check(CLI::PositiveNumber);
  app.add_option("--batch", setup.batch, "rows per batch")->check(CLI::PositiveNumber);
  app.add_option("--length", setup.length, "text: units per row of the corrupted input")->check(CLI::PositiveNumber);
  app.add_option("--grid", setup.grid_side, "patches: patches per side of the square grid")->check(CLI::PositiveNumber);
  app.add_option("--patch-values", setup.patch_values, "patches: values per patch")->check(CLI::PositiveNumber);
  app.add_option("--only", setup.only, "run one objective")
      ->check(CLI::IsMember({"token_mask", "span_infill", "patch_mask"}));
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(1);
  cloze::keep_freed_host_memory();  // as cloze train does: the loader's batches reuse freed memory

  cloze::Registry registry;
  registry.load_default_plugins();
  const auto make = [&](const std::string& name, const cloze::UnitSpec& units) {
    const cloze::Params params("corruption", registry.info(cloze::PluginKind::corruption, name).schema);
    std::shared_ptr<cloze::Corruption> corruption = registry.make_corruption(name, params);
    corruption->prepare(units);
    return corruption;
  };

  struct Objective {
    std::string name;
    cloze::UnitSpec units;
    bool text;
  };
  const std::vector<Objective> objectives{
      {"token_mask", text_units(), true}, {"span_infill", text_units(), true}, {"patch_mask", patch_units(setup.patch_values), false}};

  at::manual_seed(0);
  for (const auto& objective : objectives) {
    if (!setup.only.empty() && setup.only != objective.name) continue;
    const std::shared_ptr<cloze::Corruption> corruption = make(objective.name, objective.units);
    cloze::Batch batch = objective.text
                             ? text_batch(objective.units, setup.batch, corruption->raw_length(setup.length))
                             : patch_batch(objective.units, setup.batch, cloze::Grid{{setup.grid_side, setup.grid_side}});
    batch.labels = at::full({setup.batch}, -1, at::kLong);
    for (int64_t row = 0; row < setup.batch; ++row) batch.sample_ids.push_back(row);

    const int64_t length = batch.units.size(1);
    const double seconds = median_seconds(*corruption, batch, setup.repeats);
    const auto input_bytes = static_cast<int64_t>(corruption->corrupt(batch, 0).input.nbytes());
    const double copy_seconds = median_copy_seconds(batch.units, input_bytes, setup.repeats);
    const nlohmann::ordered_json line{{"objective", objective.name},
                              {"impl", "cloze"},
                              {"batch", setup.batch},
                              {"length", length},
                              {"units_per_s", static_cast<double>(setup.batch * length) / seconds},
                              {"median_s", seconds},
                              {"input_bytes", input_bytes},
                              {"copy_floor_s", copy_seconds}};
    fmt::print("{}\n", line.dump());
  }
  return 0;
}
