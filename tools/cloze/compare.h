// `cloze compare SWEEP.toml [overrides]`: trains every seed of every run of a
// sweep (each in its own process, so its wall time and peak memory are its
// own), evaluates each encoder by the sweep's protocols, and writes the
// report. A seed whose folder already holds its result.json is not run again,
// so an interrupted sweep resumes, and raising `seeds` trains only the new ones.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cloze/core/registry.h"

namespace cloze_cli {

// `overrides` apply to every run, after the sweep's own. `self`: this
// executable, run as `self train CONFIG overrides...` per seed. With
// `reevaluate`, seeds finished before are scored again under the sweep's
// protocols as they are now (a new protocol, another fine-tuning budget)
// without training them again.
int compare(const std::filesystem::path& sweep_file, const std::vector<std::string>& overrides, bool reevaluate,
            const std::filesystem::path& self, cloze::Registry& registry);

// `cloze probe RUN_DIR [--protocol P]`: evaluates a finished run folder
// outside a sweep by `protocols`, beside its random-init and raw-input
// baselines, with bootstrap intervals over the eval samples; prints the tables.
int probe(const std::filesystem::path& run_dir, const std::vector<std::string>& protocols, int64_t train_samples,
          int64_t eval_samples, cloze::Registry& registry);

}  // namespace cloze_cli
