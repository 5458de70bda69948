// How fast an experiment's loader hands the trainer its batches: images per
// second out of cloze::Pipeline's train loader, built from a config and
// overrides exactly as `cloze train` builds it. tools/bench/run compares it
// against torchvision's ImageFolder in a DataLoader
// (tools/bench/reference/image_folder.py) with as many worker processes as the
// loader has threads (loader.workers).
//
//   cloze_bench_images CONFIG [section.key=value ...] [--batches 20] [--warmup 3]
//
// Each batch is read, augmented, collated and corrupted (patch masking) in
// the loader's workers: the corruption is part of what the trainer waits on,
// so it is timed too, although the reference has none. Building the pipeline
// and the first --warmup batches, which fill the prefetch buffer, are not
// timed. Prints one JSON line.
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cloze/config/experiment.h"
#include "cloze/core/registry.h"
#include "cloze/data/pipeline.h"
#include "cloze/train/device.h"

namespace {

struct Setup {
  std::string config;
  std::vector<std::string> overrides;
  int64_t batches = 20, warmup = 3;
};

int run(const Setup& setup) {
  cloze::Registry registry;
  registry.load_default_plugins();
  const cloze::Experiment experiment =
      cloze::load_experiment(setup.config, setup.overrides, registry, cloze::framework_sections());
  // One intra-op thread, as DataLoader gives each of its workers: the
  // loader's workers are the parallelism measured.
  cloze::set_threads(1);
  cloze::keep_freed_host_memory();  // as cloze train does: each batch reuses the last one's freed memory
  const int64_t batch_size = experiment.section("train").integer("batch_size");

  const cloze::Pipeline pipeline(experiment, registry);
  const auto loader = pipeline.loader(cloze::Split::train, batch_size);
  for (int64_t i = 0; i < setup.warmup; ++i) loader->next();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < setup.batches; ++i) loader->next();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::cout << nlohmann::json{{"impl", "cloze"},
                              {"images_per_second", static_cast<double>(setup.batches * batch_size) / seconds},
                              {"batches", setup.batches},
                              {"batch_size", batch_size}}
                   .dump()
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Setup setup;
  CLI::App app{"images per second out of an experiment's train loader"};
  app.add_option("config", setup.config, "experiment TOML file")->required()->check(CLI::ExistingFile);
  app.add_option("overrides", setup.overrides, "section.key=value overrides");
  app.add_option("--batches", setup.batches, "timed batches")->check(CLI::PositiveNumber);
  app.add_option("--warmup", setup.warmup, "untimed batches first")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    return run(setup);
  } catch (const std::exception& error) {
    fmt::print(stderr, "cloze_bench_images: {}\n", error.what());
    return 1;
  }
}
