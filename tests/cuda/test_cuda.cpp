// The shared loop on a GPU: bf16 autocast forward and backward against the
// CPU's float32, the fused AdamW against LibTorch's, and each reconstruction
// mode training on CUDA through the trainer's own step and loop.
#include <catch2/catch.hpp>
#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "cloze/config/experiment.h"
#include "cloze/core/registry.h"
#include "cloze/data/pipeline.h"
#include "cloze/model/loss.h"
#include "cloze/train/adamw_step.h"
#include "cloze/train/device.h"
#include "cloze/train/train_step.h"
#include "cloze/train/trainer.h"

namespace {

const c10::Device kCuda(c10::kCUDA, 0);

cloze::Registry& registry() {
  static cloze::Registry plugins;
  static const bool loaded = (plugins.load_default_plugins(), true);
  static_cast<void>(loaded);
  return plugins;
}

// One small experiment per reconstruction mode, on synthetic data.
struct Objective {
  std::string name, modality, corruption, model;
};

const std::vector<Objective>& objectives() {
  static const std::vector<Objective> all{
      {"in_place (token_mask)", "units = \"tokens\"\nvocab_size = 500\nseq_len = 64\n", "name = \"token_mask\"\n",
       ""},
      {"fill (patch_mask)", "units = \"patches\"\ngrid_rows = 8\ngrid_columns = 8\nunit_dim = 48\n",
       "name = \"patch_mask\"\nratio = 0.75\nmode = \"fill\"\n", "decoder_dim = 64\ndecoder_layers = 1\n"},
      {"sequence (span_infill)", "units = \"tokens\"\nvocab_size = 500\nseq_len = 64\n",
       "name = \"span_infill\"\n", "decoder_layers = 2\n"},
  };
  return all;
}

cloze::Experiment experiment_of(const Objective& o, const std::filesystem::path& dir, int64_t steps) {
  const std::string text = "[run]\nseed = 5\ndevice = \"cuda\"\ndir = \"" + (dir / "run").string() +
                           "\"\n[modality]\nname = \"synthetic\"\n" + o.modality + "[corruption]\n" + o.corruption +
                           "[model]\ndim = 64\nlayers = 2\nheads = 4\ndropout = 0.0\n" + o.model +
                           "[train]\nbatch_size = 16\nlr = 2e-3\nwarmup_steps = 5\nlog_every = 10\nsteps = " +
                           std::to_string(steps) + "\n[eval]\nevery = 1000\nbatches = 2\n";
  return cloze::parse_experiment(text, o.name, {}, registry(), cloze::framework_sections());
}

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::path(CLOZE_TEST_DATA_DIR) / "cuda" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

double relative_error(const at::Tensor& value, const at::Tensor& reference) {
  const at::Tensor r = reference.to(at::kDouble).cpu(), v = value.to(at::kDouble).cpu();
  return (v - r).norm().item<double>() / std::max(r.norm().item<double>(), 1e-30);
}

at::Tensor flat_gradients(cloze::DenoisingModel& model) {
  std::vector<at::Tensor> parts;
  for (const auto& parameter : model->parameters())
    if (parameter.grad().defined()) parts.push_back(parameter.grad().reshape(-1).to(at::kDouble).cpu());
  return at::cat(parts);
}

}  // namespace

TEST_CASE("a CUDA device is there for these tests", "[cuda]") { REQUIRE(torch::cuda::is_available()); }

// bf16 keeps 8 bits of mantissa: one rounding is about 4e-3 relative, and a
// 2-layer model's loss and gradients stay within a few of those.
TEST_CASE("bf16 forward and backward on CUDA match float32 on the CPU", "[cuda]") {
  for (const auto& objective : objectives()) {
    SECTION(objective.name) {
      const auto dir = fresh_dir("match");
      const auto experiment = experiment_of(objective, dir, 1);
      cloze::Pipeline pipeline(experiment, registry());
      const cloze::Batch raw = pipeline.loader(cloze::Split::train, 16)->next().batch;
      const cloze::Corrupted corrupted = pipeline.corruption()->corrupt(raw, 11);

      torch::manual_seed(3);
      cloze::DenoisingModel on_cpu = cloze::build_model(experiment, pipeline);
      torch::manual_seed(3);
      cloze::DenoisingModel on_gpu = cloze::build_model(experiment, pipeline);
      on_gpu->to(kCuda);

      const cloze::MaskedLoss cpu_loss = cloze::masked_loss(on_cpu->forward(corrupted), corrupted, pipeline.units());
      cpu_loss.loss.backward();
      cloze::MaskedLoss gpu_loss;
      const cloze::Corrupted moved = cloze::to_device(corrupted, kCuda);
      {
        cloze::AutocastGuard autocast(kCuda, /*enabled=*/true);
        gpu_loss = cloze::masked_loss(on_gpu->forward(moved), moved, pipeline.units());
      }
      gpu_loss.loss.backward();

      CHECK(gpu_loss.count == cpu_loss.count);
      CHECK(relative_error(gpu_loss.loss.detach(), cpu_loss.loss.detach()) < 2e-2);
      const at::Tensor gpu_grads = flat_gradients(on_gpu), cpu_grads = flat_gradients(on_cpu);
      REQUIRE(gpu_grads.numel() == cpu_grads.numel());
      CHECK(gpu_grads.isfinite().all().item<bool>());
      CHECK(relative_error(gpu_grads, cpu_grads) < 5e-2);
    }
  }
}

TEST_CASE("the fused AdamW takes the steps LibTorch's AdamW takes", "[cuda]") {
  REQUIRE(cloze::AdamWStep::fused_on(kCuda));
  torch::manual_seed(1);
  std::vector<at::Tensor> fused_params{at::randn({300, 70}, kCuda), at::randn({70}, kCuda)};
  std::vector<at::Tensor> plain_params{fused_params[0].clone(), fused_params[1].clone()};
  for (auto& p : fused_params) p.set_requires_grad(true);
  for (auto& p : plain_params) p.set_requires_grad(true);
  const auto options = torch::optim::AdamWOptions(3e-3).betas({0.9, 0.95}).eps(1e-6).weight_decay(0.05);
  torch::optim::AdamW fused_state(fused_params, options), plain(plain_params, options);
  cloze::AdamWStep fused(fused_state);
  REQUIRE(fused.fused());
  for (int step = 0; step < 4; ++step) {
    for (std::size_t i = 0; i < fused_params.size(); ++i) {
      const at::Tensor grad = at::randn_like(fused_params[i]) * 5.0;
      fused_params[i].mutable_grad() = grad.clone();
      plain_params[i].mutable_grad() = grad.clone();
    }
    const double fused_norm = fused.clip_grad_norm(fused_params, 1.0);
    const double plain_norm = torch::nn::utils::clip_grad_norm_(plain_params, 1.0);
    CHECK(std::abs(fused_norm - plain_norm) < 1e-4 * plain_norm);
    fused.step();
    plain.step();
  }
  for (std::size_t i = 0; i < fused_params.size(); ++i) CHECK(relative_error(fused_params[i], plain_params[i]) < 1e-5);
  // The moments live in the optimizer's own state, so its checkpoints are the unfused step's.
  const auto& state = static_cast<torch::optim::AdamWParamState&>(
      *fused_state.state().at(fused_params[0].unsafeGetTensorImpl()));
  CHECK(state.step() == 4);
  const auto& reference = static_cast<torch::optim::AdamWParamState&>(
      *plain.state().at(plain_params[0].unsafeGetTensorImpl()));
  CHECK(relative_error(state.exp_avg_sq(), reference.exp_avg_sq()) < 1e-5);
}

TEST_CASE("each reconstruction mode fits a fixed batch through the trainer's step on CUDA", "[cuda]") {
  for (const auto& objective : objectives()) {
    SECTION(objective.name) {
      const auto dir = fresh_dir("fit");
      const auto experiment = experiment_of(objective, dir, 60);
      cloze::Pipeline pipeline(experiment, registry());
      const cloze::Batch raw = pipeline.loader(cloze::Split::train, 16)->next().batch;
      const cloze::Corrupted corrupted = pipeline.corruption()->corrupt(raw, 4);
      torch::manual_seed(2);
      cloze::DenoisingModel model = cloze::build_model(experiment, pipeline);
      model->to(kCuda);
      const auto options = cloze::TrainOptions::from(experiment.section("train"), experiment.section("eval"));
      auto optimizer = cloze::make_optimizer(model, options);
      cloze::TrainStep step(model, *optimizer, pipeline.units(), options, kCuda, /*bf16=*/true);
      std::vector<double> losses;
      for (int i = 0; i < 60; ++i) {
        const cloze::StepResult result = step.run(i, 2e-3, [&] { return corrupted; });
        REQUIRE(result.applied);
        losses.push_back(result.losses.back().loss.item<double>());
      }
      INFO("first loss " << losses.front() << ", last " << losses.back());
      CHECK(std::isfinite(losses.back()));
      CHECK(losses.back() < 0.5 * losses.front());
    }
  }
}

TEST_CASE("cloze's training loop runs on CUDA end to end: metrics, checkpoint, weights", "[cuda]") {
  const auto dir = fresh_dir("loop");
  const auto experiment = experiment_of(objectives().front(), dir, 20);
  const auto summary = cloze::train(experiment, registry());
  CHECK(summary.steps == 20);
  CHECK(std::isfinite(summary.last_eval_loss));
  CHECK(std::filesystem::exists(dir / "run" / "checkpoint-20.pt"));
  CHECK(std::filesystem::exists(dir / "run" / "model.safetensors"));
}
