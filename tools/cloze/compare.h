// `cloze compare SWEEP.toml`: trains every run of a sweep (each in its own
// process, so its wall time and peak memory are its own), probes each
// encoder, and writes the report. A run whose folder already holds its
// result.json is not run again, so an interrupted sweep resumes.
#pragma once

#include <filesystem>

#include "cloze/registry.h"

namespace cloze_cli {

// `self`: this executable, run as `self train CONFIG overrides...` per run.
int compare(const std::filesystem::path& sweep_file, const std::filesystem::path& self, cloze::Registry& registry);

}  // namespace cloze_cli
