// What many test programs share: the shipped plugins, loaded once, and a
// fresh folder per test case for the fixtures a test writes.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "cloze/core/modality.h"
#include "cloze/core/params.h"
#include "cloze/core/registry.h"
#include "cloze/data/loader.h"

namespace test_support {

// The registry with the build tree's plugins, loaded once per test program.
inline cloze::Registry& registry() {
  static cloze::Registry plugins;
  static const bool loaded = (plugins.load_default_plugins(), true);
  static_cast<void>(loaded);
  return plugins;
}

// An empty folder under the build's test data, one per test case (ctest runs
// the cases in parallel): <data>/<area>/<name>.
struct Fixture {
  std::filesystem::path dir;

  Fixture(const std::string& area, const std::string& name)
      : dir(std::filesystem::path(CLOZE_TEST_DATA_DIR) / area / name) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
};

// A fresh folder in the system's temporary folder, removed afterwards; the
// process id keeps parallel test programs apart.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& area) {
    static int count = 0;
    path = std::filesystem::temp_directory_path() /
           ("cloze_test_" + area + "_" + std::to_string(::getpid()) + "_" + std::to_string(count++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

using Settings = std::vector<std::pair<std::string, cloze::Value>>;

// A modality plugin's parameters: its schema's defaults, then `settings` in order.
inline cloze::Params modality_params(const std::string& modality, const Settings& settings) {
  cloze::Params params("modality", registry().info(cloze::PluginKind::modality, modality).schema);
  for (const auto& [name, value] : settings) params.set(name, value, "test");
  return params;
}

// With `bad_samples` given, unreadable files go there (by default: an error).
inline std::shared_ptr<cloze::Modality> make_modality(const std::string& modality, const cloze::Params& params,
                                                      std::shared_ptr<cloze::BadSamples> bad_samples = nullptr,
                                                      uint64_t seed = 0) {
  cloze::ModalityContext context;
  context.seed = seed;
  if (bad_samples) context.bad_samples = std::move(bad_samples);
  return registry().make_modality(modality, params, context);
}

// Every sample of a split, collated in order.
inline cloze::Batch whole_split(const cloze::Modality& modality, cloze::Split split) {
  const auto dataset = modality.dataset(split);
  std::vector<int64_t> all(static_cast<std::size_t>(dataset->size()));
  std::iota(all.begin(), all.end(), int64_t{0});
  return dataset->collate(all);
}

// `count` batches of 4 of `dataset`'s patch units (`unit_dim` values each),
// from batch `first` on, as a cloze::Loader with `workers` threads and seed 5
// makes them through patch masking: what a run trains on, resumed at `first`.
// patch_mask with its defaults, prepared for patches of `unit_dim` values.
inline std::shared_ptr<const cloze::Corruption> patch_masking(int64_t unit_dim) {
  cloze::Params params("corruption", registry().info(cloze::PluginKind::corruption, "patch_mask").schema);
  const auto corruption = registry().make_corruption("patch_mask", params);
  cloze::UnitSpec units;
  units.kind = cloze::UnitKind::continuous;
  units.unit_dim = unit_dim;
  corruption->prepare(units);
  return corruption;
}

inline std::vector<at::Tensor> loaded_units(const std::shared_ptr<cloze::Dataset>& dataset, int64_t unit_dim,
                                            int64_t workers, int64_t first, int64_t count) {
  const auto corruption = patch_masking(unit_dim);
  cloze::LoaderOptions options;
  options.batch_size = 4;
  options.workers = workers;
  options.prefetch = 2;
  cloze::Loader loader(dataset, corruption, /*seed=*/5, options, first);
  std::vector<at::Tensor> out;
  for (int64_t k = 0; k < count; ++k) out.push_back(loader.next().batch.units);
  return out;
}

// A streamed dataset's loaded batches (6 of 4, through patch masking) are a
// function of the stream alone: the same with 0, 1 and 4 loader workers and
// from a resume at batch 3; batch 2, of the next epoch, is not batch 0.
inline void check_stream_repeats(const std::shared_ptr<cloze::Dataset>& dataset, int64_t unit_dim) {
  const auto serial = loaded_units(dataset, unit_dim, 0, 0, 6);
  for (const int64_t workers : {1, 4}) {
    INFO(workers << " workers");
    const auto threaded = loaded_units(dataset, unit_dim, workers, 0, 6);
    for (std::size_t k = 0; k < serial.size(); ++k) CHECK(threaded[k].equal(serial[k]));
  }
  const auto resumed = loaded_units(dataset, unit_dim, 2, 3, 3);
  for (std::size_t k = 0; k < resumed.size(); ++k) CHECK(resumed[k].equal(serial[k + 3]));
  CHECK_FALSE(serial[0].equal(serial[2]));
}

}  // namespace test_support
