// How much a training step costs in fill mode (MAE: the encoder sees the kept
// patches only, a light decoder fills the rest) against in-place mode
// (SimMIM: the encoder sees every patch) with the same encoder, at the same
// mask ratio. Both run in this process on the same synthetic patches,
// alternating, and the result is a ratio of median step times, so the
// machine's speed cancels out.
//
//   cloze_bench_fill [--ratio 0.75] [--steps 12] [--grid 14] [--threads 0]
#include <ATen/Functions.h>
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "cloze/core/batch.h"
#include "cloze/corrupt/fill.h"
#include "cloze/corrupt/in_place.h"
#include "cloze/model/loss.h"
#include "cloze/model/model.h"
#include "cloze/train/device.h"

namespace {

struct Setup {
  double ratio = 0.75;
  int64_t steps = 12, grid_side = 14, batch = 32, threads = 0;
};

// One optimizer step's wall time in seconds.
double timed_step(cloze::DenoisingModel& model, torch::optim::AdamW& optimizer, const cloze::Corrupted& batch,
                  const cloze::UnitSpec& units) {
  const auto start = std::chrono::steady_clock::now();
  optimizer.zero_grad();
  cloze::masked_loss(model->forward(batch), batch, units).loss.backward();
  optimizer.step();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Setup setup;
  CLI::App app{"fill-mode (MAE) against in-place (SimMIM) training step cost, same encoder"};
  app.add_option("--ratio", setup.ratio, "share of patches hidden")->check(CLI::Range(0.05, 0.95));
  app.add_option("--steps", setup.steps, "timed steps per mode, after one warm-up step")->check(CLI::PositiveNumber);
  app.add_option("--grid", setup.grid_side, "patches per side of the square grid")->check(CLI::PositiveNumber);
  app.add_option("--batch", setup.batch, "samples per step")->check(CLI::PositiveNumber);
  app.add_option("--threads", setup.threads, "intra-op threads; 0 = the cores available, as training");
  CLI11_PARSE(app, argc, argv);
  const int threads = cloze::set_threads(setup.threads);

  // ViT-Tiny's encoder (dim 192, 3 heads) at 4 blocks, MAE's decoder shape
  // scaled alike (half the width, 1 block); 16 x 16 grey patches.
  cloze::UnitSpec units;
  units.kind = cloze::UnitKind::continuous;
  units.unit_dim = 256;
  units.normalize_targets = true;
  const cloze::Grid grid{{setup.grid_side, setup.grid_side}};
  const int64_t patches = grid.numel();
  cloze::ModelOptions options{192, 4, 3, 4.0, 0.0};
  options.decoder_layers = 1;
  options.decoder_dim = 96;

  at::manual_seed(0);
  cloze::Batch batch;
  batch.units = at::randn({setup.batch, patches, units.unit_dim});
  batch.padding = at::zeros({setup.batch, patches}, at::kBool);
  batch.grid = grid;
  const auto hidden = static_cast<int64_t>(static_cast<double>(patches) * setup.ratio + 0.5);
  const at::Tensor dropped = at::rand({setup.batch, patches}).argsort(/*dim=*/int64_t{1}).lt(hidden);

  struct Mode {
    const char* name;
    cloze::DenoisingModel model;
    cloze::Corrupted batch;
    std::vector<double> seconds;
  };
  std::vector<Mode> modes;
  for (auto mode : {cloze::ReconstructionMode::in_place, cloze::ReconstructionMode::fill}) {
    const bool fill = mode == cloze::ReconstructionMode::fill;
    modes.push_back({fill ? "fill (MAE)" : "in place (SimMIM)",
                     cloze::DenoisingModel(options, cloze::ModelShape{units, grid, mode, patches, patches}),
                     fill ? cloze::fill_corrupted(batch, dropped) : cloze::masked_in_place(batch, dropped),
                     {}});
  }
  std::vector<torch::optim::AdamW> optimizers;
  for (auto& mode : modes) optimizers.emplace_back(mode.model->parameters(), torch::optim::AdamWOptions(1e-4));

  for (std::size_t m = 0; m < modes.size(); ++m) timed_step(modes[m].model, optimizers[m], modes[m].batch, units);
  for (int64_t step = 0; step < setup.steps; ++step)
    for (std::size_t m = 0; m < modes.size(); ++m)
      modes[m].seconds.push_back(timed_step(modes[m].model, optimizers[m], modes[m].batch, units));

  fmt::print("grid {}x{}, batch {}, ratio {:.2f}, {} threads, {} steps per mode\n", setup.grid_side,
             setup.grid_side, setup.batch, setup.ratio, threads, setup.steps);
  for (const auto& mode : modes)
    fmt::print("{:<18} median step {:.1f} ms (min {:.1f}, max {:.1f})\n", mode.name, 1e3 * median(mode.seconds),
               1e3 * *std::min_element(mode.seconds.begin(), mode.seconds.end()),
               1e3 * *std::max_element(mode.seconds.begin(), mode.seconds.end()));
  fmt::print("fill / in place step time: {:.3f}\n", median(modes[1].seconds) / median(modes[0].seconds));
  return 0;
}
