// The `cloze` command line: a thin layer over libcloze.
//
//   cloze train CONFIG [section.key=value ...] [--resume CHECKPOINT] [--stop-at STEP] [--nproc N]
//   cloze config CONFIG [section.key=value ...]    resolved config as TOML
//   cloze plugins [--describe NAME]
//   cloze corrupt CONFIG --batches N --out FILE.safetensors [overrides]
//   cloze preview CONFIG [--samples N] [--weights FILE] [--pictures DIR] [overrides]
//   cloze compare SWEEP [section.key=value ...] [--reevaluate]
//                                                   train, evaluate and report a sweep
//   cloze probe RUN_DIR [--protocol P ...]           evaluate a finished run
//   cloze new-plugin corruption|modality NAME [--dir DIR]   a plugin to start from
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include "cloze/config/experiment.h"
#include "cloze/core/error.h"
#include "cloze/core/plugin.h"
#include "cloze/core/registry.h"
#include "cloze/data/pipeline.h"
#include "cloze/evaluate/sweep.h"
#include "cloze/inspect/dump.h"
#include "cloze/inspect/preview.h"
#include "cloze/io/safetensors.h"
#include "cloze/io/weights.h"
#include "cloze/train/trainer.h"
#include "compare.h"
#include "launch.h"
#include "scaffold.h"

namespace {

struct ConfigArgs {
  std::string path;
  std::vector<std::string> overrides;

  void add_to(CLI::App& command) {
    command.add_option("config", path, "experiment TOML file")->required()->check(CLI::ExistingFile);
    command.add_option("overrides", overrides, "section.key=value overrides");
  }
  cloze::Experiment load(cloze::Registry& registry) const {
    return cloze::load_experiment(path, overrides, registry, cloze::framework_sections());
  }
};

int train(const ConfigArgs& args, const cloze::TrainControl& control, cloze::Registry& registry) {
  const auto summary = cloze::train(args.load(registry), registry, control);
  if (!summary.leader) return summary.stopped_by_signal != 0 ? 128 + summary.stopped_by_signal : 0;
  fmt::print("{} {} steps into {}\neval masked loss {:.4f} -> {:.4f}{}\n",
             summary.finished ? "trained" : "stopped after", summary.steps, summary.run_dir.string(),
             summary.first_eval_loss, summary.last_eval_loss,
             summary.last_eval_quality.empty()
                 ? ""
                 : fmt::format(", {} -> {}", summary.first_eval_quality, summary.last_eval_quality));
  // The shell's convention for a process ended by a signal, so scripts and
  // schedulers see that the run did not finish.
  return summary.stopped_by_signal != 0 ? 128 + summary.stopped_by_signal : 0;
}

// This command line less --nproc: what each worker runs.
std::vector<std::string> without_nproc(int argc, char** argv) {
  std::vector<std::string> arguments;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--nproc")
      ++i;  // and its value
    else if (argument.rfind("--nproc=", 0) != 0)
      arguments.push_back(argument);
  }
  return arguments;
}

int print_config(const ConfigArgs& args, cloze::Registry& registry) {
  std::cout << args.load(registry).to_toml();
  return 0;
}

int plugins(const std::string& describe, cloze::Registry& registry) {
  if (!describe.empty()) {
    const auto kind = registry.contains(cloze::PluginKind::modality, describe) ? cloze::PluginKind::modality
                                                                               : cloze::PluginKind::corruption;
    const auto& info = registry.info(kind, describe);
    fmt::print("{} ({}): {}\nfrom {}\n\n{}", info.name, cloze::to_string(info.kind), info.doc,
               info.library.string(), cloze::describe(info.schema));
    return 0;
  }
  for (const auto& info : registry.list())
    fmt::print("{:<11} {:<16} {}\n", cloze::to_string(info.kind), info.name, info.doc);
  return 0;
}

int corrupt(const ConfigArgs& args, int64_t batches, const std::string& out, cloze::Registry& registry) {
  const auto experiment = args.load(registry);
  const cloze::Pipeline pipeline(experiment, registry);
  const auto tensors =
      cloze::dump_corrupted_batches(pipeline, batches, experiment.section("train").integer("batch_size"));
  cloze::save_safetensors(out, tensors, {{"config", experiment.to_toml()}});
  fmt::print("wrote {} batches to {}\n", batches, out);
  return 0;
}

// Shows corrupted samples; with trained weights (the run folder's, or --weights)
// also what the model reconstructs. Image and audio samples are also drawn as
// PNGs (into the run folder's preview/, or --pictures).
int preview(const ConfigArgs& args, int64_t samples, std::string weights, std::string pictures,
            cloze::Registry& registry) {
  const auto experiment = args.load(registry);
  const cloze::Pipeline pipeline(experiment, registry);
  const std::filesystem::path run_dir = experiment.section("run").string("dir");
  if (weights.empty() && std::filesystem::exists(run_dir / "model.safetensors"))
    weights = (run_dir / "model.safetensors").string();
  if (pictures.empty()) pictures = (run_dir / "preview").string();
  std::optional<cloze::DenoisingModel> model;
  if (!weights.empty()) {
    model = cloze::build_model(experiment, pipeline);
    cloze::import_weights(**model, weights);
    fmt::print("model: {}\n\n", weights);
  }
  fmt::print("{}", cloze::preview_samples(pipeline, samples, model ? &*model : nullptr, pictures));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cloze: denoising pretraining across text, images and audio"};
  app.require_subcommand(1);
  app.set_version_flag("--version", fmt::format("cloze {}\nplugin ABI: {}", cloze::version(), cloze::abi_stamp()));

  ConfigArgs train_args, config_args, corrupt_args, preview_args;
  auto* train_command = app.add_subcommand("train", "train an experiment");
  train_args.add_to(*train_command);
  cloze::TrainControl control;
  std::string resume;
  train_command->add_option("--resume", resume, "checkpoint to resume from (default: the run folder's latest)")
      ->check(CLI::ExistingFile);
  train_command->add_option("--stop-at", control.stop_at,
                            "stop with a checkpoint once this many steps are done (the schedule still follows "
                            "train.steps); run again without it to go on")
      ->check(CLI::NonNegativeNumber);
  int nproc = 0;
  train_command->add_option("--nproc", nproc,
                            "train data parallel in N local processes (as torchrun --nproc-per-node N); "
                            "train.batch_size is the batch of all of them together")
      ->check(CLI::PositiveNumber);
  auto* config_command = app.add_subcommand("config", "print the resolved config as TOML");
  config_args.add_to(*config_command);

  std::string describe;
  auto* plugins_command = app.add_subcommand("plugins", "list the plugins, or describe one's parameters");
  plugins_command->add_option("--describe", describe, "plugin name");

  int64_t batches = 1;
  std::string out;
  auto* corrupt_command = app.add_subcommand("corrupt", "dump corrupted batches as safetensors");
  corrupt_args.add_to(*corrupt_command);
  corrupt_command->add_option("--batches", batches, "batches to dump")->check(CLI::PositiveNumber);
  corrupt_command->add_option("--out", out, "output .safetensors file")->required();

  int64_t samples = 4;
  std::string weights, pictures;
  auto* preview_command =
      app.add_subcommand("preview", "print corrupted samples with the corruption marked, and the model's output");
  preview_args.add_to(*preview_command);
  preview_command->add_option("--samples", samples, "samples to show")->check(CLI::PositiveNumber);
  preview_command->add_option("--weights", weights,
                              "model.safetensors to reconstruct with (default: the run folder's, if trained)");
  preview_command->add_option("--pictures", pictures,
                              "folder for the PNGs of image and audio samples (default: the run folder's preview/)");

  std::string sweep;
  std::vector<std::string> sweep_overrides;
  auto* compare_command = app.add_subcommand(
      "compare", "train every seed of every run of a sweep, evaluate each encoder and write report.md and report.html");
  compare_command->add_option("sweep", sweep, "sweep TOML file (configs/compare/)")->required()->check(CLI::ExistingFile);
  compare_command->add_option("overrides", sweep_overrides, "section.key=value overrides for every run");
  bool reevaluate = false;
  compare_command->add_flag("--reevaluate", reevaluate,
                            "score seeds finished before again under the sweep's protocols as they are now, "
                            "without training them again");

  std::string probe_dir;
  std::vector<std::string> probe_protocols{"linear", "knn", "finetune"};
  int64_t probe_train = 2000, probe_eval = 1000;
  auto* probe_command = app.add_subcommand(
      "probe", "evaluate a finished run's encoder (linear probe, kNN, fine-tuning) against its baselines");
  probe_command->add_option("run_dir", probe_dir, "a run folder that holds model.safetensors")
      ->required()
      ->check(CLI::ExistingDirectory);
  probe_command->add_option("--protocol", probe_protocols, "linear, knn or finetune; repeat for several (default: all)")
      ->check(CLI::IsMember(cloze::known_protocols()));
  probe_command->add_option("--train", probe_train, "labelled samples each protocol trains on")->check(CLI::PositiveNumber);
  probe_command->add_option("--eval", probe_eval, "labelled samples it is scored on")->check(CLI::PositiveNumber);

  std::string plugin_kind, plugin_name, plugin_dir;
  auto* new_plugin_command = app.add_subcommand(
      "new-plugin", "write a folder with a working corruption or modality plugin, its CMake build, test and configs");
  new_plugin_command->add_option("kind", plugin_kind, "corruption or modality")
      ->required()
      ->check(CLI::IsMember({"corruption", "modality"}));
  new_plugin_command->add_option("name", plugin_name, "the plugin's name, as configs will call it")->required();
  new_plugin_command->add_option("--dir", plugin_dir, "folder to write (default: ./NAME); must not hold files");

  CLI11_PARSE(app, argc, argv);

  try {
    cloze::Registry registry;
    registry.load_default_plugins();
    for (const auto& library : registry.skipped()) fmt::print(stderr, "cloze: skipped {}\n", library);
    control.resume = resume;
    if (*train_command && nproc > 0)
      return cloze_cli::launch_local_workers(std::filesystem::read_symlink("/proc/self/exe"), without_nproc(argc, argv),
                                             nproc);
    if (*train_command) return train(train_args, control, registry);
    if (*config_command) return print_config(config_args, registry);
    if (*plugins_command) return plugins(describe, registry);
    if (*corrupt_command) return corrupt(corrupt_args, batches, out, registry);
    if (*preview_command) return preview(preview_args, samples, weights, pictures, registry);
    if (*new_plugin_command) {
      for (const auto& file : cloze_cli::new_plugin(plugin_kind, plugin_name, plugin_dir)) fmt::print("wrote {}\n", file.string());
      return 0;
    }
    if (*compare_command)
      return cloze_cli::compare(sweep, sweep_overrides, reevaluate, std::filesystem::read_symlink("/proc/self/exe"),
                                registry);
    if (*probe_command) return cloze_cli::probe(probe_dir, probe_protocols, probe_train, probe_eval, registry);
  } catch (const std::exception& e) {
    std::cerr << "cloze: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
