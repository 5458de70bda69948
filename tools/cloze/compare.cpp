#include "compare.h"

#include <ATen/core/grad_mode.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <vector>

#include "cloze/config/experiment.h"
#include "cloze/core/error.h"
#include "cloze/data/pipeline.h"
#include "cloze/evaluate/evaluation.h"
#include "cloze/evaluate/report.h"
#include "cloze/evaluate/sweep.h"
#include "cloze/inspect/preview.h"
#include "cloze/io/durable_file.h"
#include "cloze/io/weights.h"
#include "cloze/model/model.h"
#include "cloze/model/objective.h"
#include "cloze/train/device.h"

extern char** environ;

namespace cloze_cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int64_t kPreviewSamples = 2;

struct ChildUsage {
  double wall_seconds = 0, peak_memory_mb = 0;
};

// Runs `self train CONFIG overrides... run.dir=FOLDER` and waits for it; its
// progress goes to this terminal. Throws naming the run when it fails.
ChildUsage train_in_child(const fs::path& self, const std::string& name, const fs::path& config,
                          const std::vector<std::string>& overrides, const fs::path& folder) {
  std::vector<std::string> args{self.string(), "train", config.string()};
  args.insert(args.end(), overrides.begin(), overrides.end());
  args.push_back("run.dir=" + folder.string());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (const int error = posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ); error != 0)
    throw cloze::Error("compare: cannot start " + self.string() + " for run '" + name + "': " +
                       std::strerror(error));
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid)
    throw cloze::Error("compare: lost the training process of run '" + name + "'");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw cloze::Error("compare: run '" + name + "' failed (" +
                       (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                          : "killed by signal " + std::to_string(WTERMSIG(status))) +
                       "); its folder " + folder.string() + " keeps what it wrote, and the next compare resumes it");
  ChildUsage out;
  out.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.peak_memory_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
  return out;
}

std::string outcomes_text(const std::vector<uint8_t>& correct) {  // "0110...": compact in result.json
  std::string text(correct.size(), '0');
  for (std::size_t i = 0; i < correct.size(); ++i)
    if (correct[i]) text[i] = '1';
  return text;
}

json to_json(const cloze::Score& score) {
  json out{{"accuracy", score.accuracy}, {"correct", outcomes_text(score.correct)}};
  if (score.chosen_lr > 0) out["lr"] = score.chosen_lr;
  return out;
}

cloze::Score score_from(const json& saved) {
  cloze::Score score;
  score.accuracy = saved.value("accuracy", 0.0);
  for (char c : saved.value("correct", std::string())) score.correct.push_back(c == '1' ? 1 : 0);
  score.chosen_lr = saved.value("lr", 0.0);
  return score;
}

json to_json(const cloze::RunResult& r) {
  json protocols = json::object();
  for (const auto& [name, scores] : r.protocols) {
    protocols[name] = {{"trained", to_json(scores.trained)}, {"random_init", to_json(scores.random_init)}};
    if (scores.raw) protocols[name]["raw"] = to_json(*scores.raw);
  }
  json out{{"name", r.name},
           {"seed", r.seed},
           {"modality", r.modality},
           {"objective", r.objective},
           {"mode", r.mode},
           {"parameters", r.parameters},
           {"steps", r.steps},
           {"protocols", protocols},
           {"majority_accuracy", r.majority_accuracy},
           {"classes", r.classes},
           {"wall_seconds", r.wall_seconds},
           {"peak_memory_mb", r.peak_memory_mb},
           {"text_samples", r.text_samples},
           {"scores_ids", r.masked_accuracy.has_value()}};
  if (r.psnr) out["psnr"] = *r.psnr;
  if (r.unigram_accuracy) out["unigram_accuracy"] = *r.unigram_accuracy;
  return out;
}

// A finished seed's result: result.json for what only the evaluation knew, the
// run folder for the rest (metrics, pictures).
cloze::RunResult from_folder(const fs::path& folder) {
  std::ifstream in(folder / "result.json");
  const json saved = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!saved.is_object() || !saved.contains("protocols"))
    throw cloze::Error("compare: " + (folder / "result.json").string() +
                       " is not a result of this version of cloze; delete it to evaluate this run again");
  cloze::RunResult r;
  r.name = saved.value("name", "");
  r.seed = saved.value("seed", int64_t{1});
  r.modality = saved.value("modality", "");
  r.objective = saved.value("objective", "");
  r.mode = saved.value("mode", "");
  r.parameters = saved.value("parameters", "");
  for (const auto& [name, scores] : saved["protocols"].items()) {
    cloze::ProtocolScores protocol{score_from(scores.value("trained", json::object())),
                                   score_from(scores.value("random_init", json::object())), std::nullopt};
    if (scores.contains("raw")) protocol.raw = score_from(scores["raw"]);
    r.protocols[name] = std::move(protocol);
  }
  r.majority_accuracy = saved.value("majority_accuracy", 0.0);
  r.classes = saved.value("classes", int64_t{0});
  r.wall_seconds = saved.value("wall_seconds", 0.0);
  r.peak_memory_mb = saved.value("peak_memory_mb", 0.0);
  r.text_samples = saved.value("text_samples", "");
  if (saved.contains("psnr")) r.psnr = saved["psnr"].get<double>();
  if (saved.contains("unigram_accuracy")) r.unigram_accuracy = saved["unigram_accuracy"].get<double>();
  r.train_flops = std::nan("");  // unknown until the metrics say
  cloze::read_metrics(folder / "metrics.jsonl", r);
  r.steps = saved.value("steps", r.steps);
  if (!saved.value("scores_ids", false)) r.masked_accuracy.reset();  // continuous units have no accuracy
  if (fs::is_directory(folder / "preview"))
    for (const auto& entry : fs::directory_iterator(folder / "preview"))
      if (entry.path().extension() == ".png") r.pictures.push_back(entry.path());
  std::sort(r.pictures.begin(), r.pictures.end());
  return r;
}

void write_result(const fs::path& folder, const cloze::RunResult& result) {
  // A result.json is whole or absent: it marks the seed finished.
  cloze::write_durably(folder / "result.json", to_json(result).dump(2) + "\n");
}

cloze::EvaluationOptions evaluation_options(const cloze::Sweep& sweep) {
  cloze::EvaluationOptions options;
  options.protocols = sweep.protocols;
  options.train_samples = sweep.probe_train;
  options.eval_samples = sweep.probe_eval;
  options.finetune.steps = sweep.finetune_steps;
  options.finetune.lrs = sweep.finetune_lrs;
  return options;
}

// What a finished run folder says of itself: its objective, mode and
// parameters from the experiment, its curve, quality and cost from its
// metrics (masked accuracy only for ids, PSNR for unnormalised values).
cloze::RunResult described(const cloze::Experiment& experiment, const cloze::Pipeline& pipeline,
                           const fs::path& folder, const std::string& name) {
  cloze::RunResult result;
  result.name = name;
  result.seed = experiment.section("run").integer("seed");
  result.modality = experiment.modality;
  const auto model = cloze::ModelOptions::from(experiment.section("model"));
  result.objective = experiment.corruption.name() +
                     (model.objective_label().empty() ? "" : " (" + model.objective_label() + ")");
  result.mode = cloze::to_string(model.trained_mode(pipeline.corruption()->mode()));
  result.parameters = experiment.corruption.set_parameters();
  result.steps = experiment.section("train").integer("steps");
  result.train_flops = std::nan("");  // unknown until the metrics say
  cloze::read_metrics(folder / "metrics.jsonl", result);
  const cloze::UnitSpec units = cloze::scored_units(pipeline.units(), model);
  if (units.kind == cloze::UnitKind::continuous) result.masked_accuracy.reset();
  result.psnr = units.psnr_db(result.final_loss);
  return result;
}

// One seed of a run as its training child ran it: the run's overrides, its
// seed, its folder.
cloze::Experiment seed_experiment(const cloze::SweepRun& run, int64_t seed, const fs::path& folder,
                                  cloze::Registry& registry) {
  auto overrides = run.overrides;
  overrides.push_back("run.seed=" + std::to_string(seed));
  overrides.push_back("run.dir=" + folder.string());
  return cloze::load_experiment(run.config, overrides, registry, cloze::framework_sections());
}

// Trains, evaluates and previews one seed of a run; leaves result.json last.
void run_one(const cloze::Sweep& sweep, const cloze::SweepRun& run, int64_t seed, const fs::path& folder,
             const fs::path& self, cloze::Registry& registry) {
  auto overrides = run.overrides;
  overrides.push_back("run.seed=" + std::to_string(seed));
  const ChildUsage usage = train_in_child(self, run.name, run.config, overrides, folder);

  const cloze::Experiment experiment = seed_experiment(run, seed, folder, registry);
  cloze::set_threads(experiment.section("run").integer("threads"));
  const cloze::Pipeline pipeline(experiment, registry);

  cloze::RunResult result = described(experiment, pipeline, folder, run.name);
  result.seed = seed;
  result.wall_seconds = usage.wall_seconds;
  result.peak_memory_mb = usage.peak_memory_mb;
  cloze::evaluate_encoder(experiment, pipeline, folder / "model.safetensors", evaluation_options(sweep), result);
  cloze::DenoisingModel model = cloze::build_model(experiment, pipeline);
  cloze::import_weights(*model, folder / "model.safetensors");
  const std::string text = cloze::preview_samples(pipeline, kPreviewSamples, &model, folder / "preview");
  if (pipeline.units().kind == cloze::UnitKind::discrete) result.text_samples = text;
  write_result(folder, result);
}

// Scores a finished seed's encoder again under the sweep's protocols as they
// are now, keeping what its training measured (wall time, memory, previews).
void evaluate_again(const cloze::Sweep& sweep, const cloze::SweepRun& run, int64_t seed, const fs::path& folder,
                    cloze::Registry& registry) {
  const cloze::Experiment experiment = seed_experiment(run, seed, folder, registry);
  cloze::set_threads(experiment.section("run").integer("threads"));
  const cloze::Pipeline pipeline(experiment, registry);
  cloze::RunResult result = from_folder(folder);
  result.protocols.clear();
  cloze::evaluate_encoder(experiment, pipeline, folder / "model.safetensors", evaluation_options(sweep), result);
  write_result(folder, result);
}

}  // namespace

int compare(const fs::path& sweep_file, const std::vector<std::string>& overrides, bool reevaluate,
            const fs::path& self, cloze::Registry& registry) {
  cloze::Sweep sweep = cloze::load_sweep(sweep_file);
  for (auto& run : sweep.runs) run.overrides.insert(run.overrides.end(), overrides.begin(), overrides.end());
  fs::create_directories(sweep.dir);
  std::vector<cloze::RunResult> results;
  const auto total = static_cast<int64_t>(sweep.runs.size()) * sweep.seeds;
  int64_t done = 0;
  for (const cloze::SweepRun& run : sweep.runs) {
    for (int64_t seed = 1; seed <= sweep.seeds; ++seed) {
      const fs::path folder = cloze::seed_folder(sweep, run, seed);
      const std::string counter = fmt::format("[{}/{}] {} seed {}", ++done, total, run.name, seed);
      if (fs::exists(folder / "result.json"))
        cloze::require_recorded_config(folder / "config.toml", seed_experiment(run, seed, folder, registry),
                                       {"run.threads", "run.device"},  // speed and rounding only
                                       "A sweep reuses a finished seed only under the configuration it was "
                                       "trained with: give the overrides it was trained under, or another "
                                       "[sweep] dir",
                                       registry, cloze::framework_sections());
      if (fs::exists(folder / "result.json") && reevaluate) {
        fmt::print("{}: finished before, evaluated again\n", counter);
        std::fflush(stdout);
        evaluate_again(sweep, run, seed, folder, registry);
      } else if (fs::exists(folder / "result.json")) {
        fmt::print("{}: finished before, not run again\n", counter);
      } else {
        fmt::print("{}: training into {}\n", counter, folder.string());
        std::fflush(stdout);
        run_one(sweep, run, seed, folder, self, registry);
      }
      results.push_back(from_folder(folder));
      // Rewritten after every seed, so results appear as they come.
      cloze::write_report(sweep.dir, sweep.title, results, sweep.protocols);
    }
  }
  fmt::print("\n{}\n{}\nreport: {} and {}\n", cloze::results_table(results, sweep.protocols),
             cloze::verdicts(results, sweep.protocols), (sweep.dir / "report.md").string(),
             (sweep.dir / "report.html").string());
  return 0;
}

int probe(const fs::path& run_dir, const std::vector<std::string>& protocols, int64_t train_samples,
          int64_t eval_samples, cloze::Registry& registry) {
  const fs::path config = run_dir / "config.toml", weights = run_dir / "model.safetensors";
  if (!fs::is_regular_file(config) || !fs::is_regular_file(weights))
    throw cloze::Error("probe: " + run_dir.string() + " is not a finished run: it needs config.toml and " +
                       "model.safetensors, which `cloze train` writes when all its steps are done");
  const cloze::Experiment experiment =
      cloze::load_experiment(config, {"run.dir=" + run_dir.string()}, registry, cloze::framework_sections());
  cloze::set_threads(experiment.section("run").integer("threads"));
  const cloze::Pipeline pipeline(experiment, registry);
  cloze::EvaluationOptions options;
  options.protocols = protocols;
  options.train_samples = train_samples;
  options.eval_samples = eval_samples;

  cloze::RunResult result = described(experiment, pipeline, run_dir, run_dir.filename().string());
  cloze::evaluate_encoder(experiment, pipeline, weights, options, result);
  fmt::print("{}\n{}", cloze::results_table({result}, protocols), cloze::verdicts({result}, protocols));
  return 0;
}

}  // namespace cloze_cli
