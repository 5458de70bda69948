// A comparison sweep for `cloze compare`: experiments to train side by side,
// each with its own overrides and, optionally, a grid of overrides that
// expands into one run per combination.
//
//   [sweep]
//   title = "Two objectives per modality"
//   dir = "runs/compare-quick"          # each run trains into dir/<name>
//   overrides = ["run.threads=0"]       # applied to every run, first
//   probe_train = 2000                  # labelled samples each protocol trains on
//   probe_eval = 1000                   # and is scored on
//   protocols = ["linear", "knn", "finetune"]   # how each encoder is evaluated
//   seeds = 3                           # each run pretrained (and evaluated) with seeds 1 .. 3,
//                                       # into dir/<name>/seed-<k>
//   finetune_steps = 300                # fine-tuning's AdamW steps per candidate learning rate
//   finetune_lrs = [1e-4, 3e-4, 1e-3]   # candidates; each encoder keeps the one best on a
//                                       # held-out fifth of the probe_train samples
//
//   [[runs]]
//   name = "image-mae"
//   config = "../image/mae.toml"        # relative to the sweep file
//   overrides = ["train.steps=300"]
//   grid = { "corruption.ratio" = [0.5, 0.75] }   # runs image-mae-ratio=0.5, image-mae-ratio=0.75
//
// Errors name the file and line, as experiment files do.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cloze {

struct SweepRun {
  std::string name;                    // unique in the sweep: its run folder's name
  std::filesystem::path config;        // the experiment file, absolute
  std::vector<std::string> overrides;  // the sweep's, then the run's, then its grid point's
};

// The evaluation protocols, as the field reports them: a linear probe on
// frozen features (MAE), a temperature-weighted kNN on them (DINO,
// solo-learn), and fine-tuning encoder and head end to end (BERT, MAE).
inline const std::vector<std::string>& known_protocols() {
  static const std::vector<std::string> names{"linear", "knn", "finetune"};
  return names;
}

struct Sweep {
  std::string title;
  std::filesystem::path dir;  // as written: relative to the working directory, like run.dir
  int64_t probe_train = 2000, probe_eval = 1000;
  std::vector<std::string> protocols{"linear"};  // in known_protocols() order, each once
  int64_t seeds = 1;
  int64_t finetune_steps = 300;
  std::vector<double> finetune_lrs{1e-4, 3e-4, 1e-3};
  std::vector<SweepRun> runs;  // in file order; a run's grid points in order, last key fastest
};

Sweep load_sweep(const std::filesystem::path& path);

// The folder of one seed of a run: dir/<name>/seed-<seed>, seeds counted from 1.
std::filesystem::path seed_folder(const Sweep& sweep, const SweepRun& run, int64_t seed);

}  // namespace cloze
