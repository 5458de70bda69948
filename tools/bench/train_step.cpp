// What one training step of an experiment costs: the trainer's own step
// (cloze::TrainStep: corrupt, forward, masked loss, backward, clipping, AdamW)
// on the experiment's real data, with the batch corrupted on the step's thread
// so that a reference written in another framework, which corrupts inline,
// does the same work. tools/bench/run compares it against
// tools/bench/reference/train_step.py, which reads the raw batches that
// --save-data writes, and reads the peak memory of the process.
//
//   cloze_bench_step CONFIG [section.key=value ...] [--steps 10] [--warmup 3]
//                    [--threads 0] [--batches 4] [--device cpu|cuda] [--save-data FILE]
//                    [--profile TRACE.json]
//
// On CUDA (bf16 as [run] bf16 says) the step gets its batches as `cloze
// train` does, corrupted and page-locked ahead by loader threads ([loader]
// settings), here from the raw batches drawn up front so that making the data
// stays out of the time, as the reference's pool of batches does. It also
// reports the allocator's peak memory over the timed steps; tools/bench/gpu
// compares it against Hugging Face's models on the same GPU.
#include <ATen/Functions.h>
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/data/loader.h"
#include "cloze/data/pipeline.h"
#include "cloze/io/safetensors.h"
#include "cloze/model/flops.h"
#include "cloze/train/device.h"
#include "cloze/train/train_step.h"

namespace {

struct Setup {
  std::string config;
  std::vector<std::string> overrides;
  int64_t steps = 10, warmup = 3, threads = 0, batches = 4;
  std::string device = "cpu", save_data, profile;
};

// The units as the reference needs them to build the same model and corrupt
// the same way.
std::string units_json(const cloze::UnitSpec& units, const cloze::Grid& grid) {
  return nlohmann::json{{"kind", cloze::to_string(units.kind)},
                        {"vocab_size", units.vocab_size},
                        {"pad_id", units.pad_id},
                        {"mask_id", units.mask_id},
                        {"special_ids", units.special_ids},
                        {"unit_dim", units.unit_dim},
                        {"normalize_targets", units.normalize_targets},
                        {"grid", grid.dims}}
      .dump();
}

void save_raw_batches(const std::string& path, const std::vector<cloze::Batch>& raw, const cloze::Experiment& experiment,
                      const cloze::Pipeline& pipeline) {
  std::vector<at::Tensor> units, padding;
  for (const auto& batch : raw) {
    units.push_back(batch.units);
    padding.push_back(batch.padding);
  }
  cloze::save_safetensors(path, {{"units", at::stack(units)}, {"padding", at::stack(padding)}},
                          {{"config", experiment.to_toml()}, {"units", units_json(pipeline.units(), pipeline.grid())}});
}

// The raw batches drawn up front as a dataset of their rows, for a Loader.
class RawBatches final : public cloze::Dataset {
 public:
  explicit RawBatches(const std::vector<cloze::Batch>& raw) : grid_(raw.front().grid) {
    std::vector<at::Tensor> units, padding;
    for (const auto& batch : raw) {
      units.push_back(batch.units);
      padding.push_back(batch.padding);
    }
    units_ = at::cat(units);
    padding_ = at::cat(padding);
  }

  int64_t size() const override { return units_.size(0); }

  cloze::Batch collate(const std::vector<int64_t>& indices) const override {
    const at::Tensor rows = at::tensor(at::ArrayRef<int64_t>(indices));
    cloze::Batch batch;
    batch.units = units_.index_select(0, rows);
    batch.padding = padding_.index_select(0, rows);
    batch.labels = at::full({rows.size(0)}, -1, at::kLong);
    batch.grid = grid_;
    batch.sample_ids = indices;
    return batch;
  }

 private:
  at::Tensor units_, padding_;
  cloze::Grid grid_;
};

int64_t count_parameters(cloze::DenoisingModel& model, bool trainable_only) {
  int64_t count = 0;
  for (const auto& parameter : model->parameters())
    if (!trainable_only || parameter.requires_grad()) count += parameter.numel();
  return count;
}

int run(const Setup& setup) {
  cloze::Registry registry;
  registry.load_default_plugins();
  const cloze::Experiment experiment =
      cloze::load_experiment(setup.config, setup.overrides, registry, cloze::framework_sections());
  const int threads = cloze::set_threads(setup.threads);
  cloze::keep_freed_host_memory();  // as cloze train does
  const auto options = cloze::TrainOptions::from(experiment.section("train"), experiment.section("eval"));
  torch::manual_seed(static_cast<uint64_t>(experiment.section("run").integer("seed")));

  cloze::Pipeline pipeline(experiment, registry);
  std::vector<cloze::Batch> raw;
  {
    auto loader = pipeline.loader(cloze::Split::train, options.batch_size);
    for (int64_t i = 0; i < setup.batches; ++i) raw.push_back(loader->next().batch);
  }
  if (!setup.save_data.empty()) save_raw_batches(setup.save_data, raw, experiment, pipeline);

  const c10::Device device = cloze::resolve_device(setup.device);
  const bool bf16 = experiment.section("run").boolean("bf16");
  cloze::DenoisingModel model = cloze::build_model(experiment, pipeline);
  model->to(device);
  auto optimizer = cloze::make_optimizer(model, options);
  cloze::TrainStep step(model, *optimizer, pipeline.units(), options, device, bf16);
  const auto corruption = pipeline.corruption();

  int64_t step_units = 0;
  double step_flops = 0;
  const auto counted = [&](const cloze::Batch& batch, cloze::Corrupted corrupted) {
    step_units += batch.padding.numel() - batch.padding.sum().item<int64_t>();
    step_flops += cloze::training_flops(model->options(), pipeline.units(), corrupted);
    return corrupted;
  };
  std::function<cloze::Corrupted()> next_corrupted;
  std::unique_ptr<cloze::Loader> loader;
  if (device.is_cuda()) {
    cloze::LoaderOptions loading = cloze::LoaderOptions::from(experiment.section("loader"), options.batch_size);
    loading.pin_memory = true;
    loader = std::make_unique<cloze::Loader>(std::make_shared<RawBatches>(raw), corruption, pipeline.seed(), loading);
    next_corrupted = [&] {
      cloze::LoadedBatch item = loader->next();
      return counted(item.batch, std::move(item.corrupted));
    };
  } else {
    // The raw batches in turn, each corrupted afresh with the next seed, on
    // this thread: the CPU reference corrupts inline too.
    next_corrupted = [&, next = int64_t{0}]() mutable {
      const cloze::Batch& batch = raw[static_cast<std::size_t>(next % setup.batches)];
      const auto seed = static_cast<uint64_t>(next++);
      return counted(batch, corruption->corrupt(batch, seed));
    };
  }
  int64_t units = 0;
  double final_loss = 0, flops = 0;
  std::vector<double> seconds;
  for (int64_t i = 0; i < setup.warmup + setup.steps; ++i) {
    if (i == setup.warmup) cloze::reset_peak_memory(device);
    const auto start = std::chrono::steady_clock::now();
    step_units = 0;
    step_flops = 0;
    final_loss = step.run(i, options.lr, next_corrupted).losses.back().loss.item<double>();
    cloze::synchronize(device);
    if (i >= setup.warmup) {
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      units = step_units;
      flops = step_flops;
    }
  }
  const int64_t peak_memory = cloze::peak_memory_bytes(device);
  if (!setup.profile.empty()) {
    // LibTorch's profiler over a few more steps, as a Chrome trace: where the time goes, op by op.
    torch::autograd::profiler::RecordProfile record(setup.profile);
    for (int64_t i = 0; i < 3; ++i) step.run(setup.warmup + setup.steps + i, options.lr, next_corrupted);
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  const cloze::Batch& first = raw.front();
  std::cout << nlohmann::json{{"impl", "cloze"},
                              {"mode", cloze::to_string(corruption->mode())},
                              {"params", count_parameters(model, false)},
                              {"trainable", count_parameters(model, true)},
                              {"threads", threads},
                              {"device", device.str()},
                              {"bf16", bf16 && device.is_cuda()},
                              {"batch", first.units.size(0)},
                              {"length", first.units.size(1)},
                              {"units_per_step", units},
                              {"flops_per_step", flops},
                              {"peak_memory_bytes", peak_memory},
                              {"median_step_s", median},
                              {"min_step_s", seconds.front()},
                              {"units_per_s", static_cast<double>(units) / median},
                              {"final_loss", final_loss}}
                   .dump()
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Setup setup;
  CLI::App app{"the training step of an experiment, timed on its own data"};
  app.add_option("config", setup.config, "experiment TOML file")->required()->check(CLI::ExistingFile);
  app.add_option("overrides", setup.overrides, "section.key=value overrides");
  app.add_option("--steps", setup.steps, "timed steps")->check(CLI::PositiveNumber);
  app.add_option("--warmup", setup.warmup, "untimed steps first")->check(CLI::NonNegativeNumber);
  app.add_option("--threads", setup.threads, "intra-op threads; 0 = the cores available, as training");
  app.add_option("--device", setup.device, "cpu, cuda or auto");
  app.add_option("--batches", setup.batches, "raw batches drawn from the data and cycled")->check(CLI::PositiveNumber);
  app.add_option("--profile", setup.profile, "also profile 3 more steps into this Chrome trace (JSON)");
  app.add_option("--save-data", setup.save_data,
                 "also write the raw batches, the resolved config and the units to this safetensors file");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(setup);
  } catch (const std::exception& error) {
    fmt::print(stderr, "cloze_bench_step: {}\n", error.what());
    return 1;
  }
}
