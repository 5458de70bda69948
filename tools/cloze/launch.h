// `cloze train --nproc N`: a single-machine torchrun. Starts N copies of this
// program with torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE,
// LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT), forwards
// SIGINT and SIGTERM to them, and stops the others when one fails.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace cloze_cli {

// Runs `self arguments...` as `workers` ranks and returns the exit status to
// report: 0 when all succeed, otherwise the first failure's (128 + N for a
// worker ended by signal N).
int launch_local_workers(const std::filesystem::path& self, const std::vector<std::string>& arguments, int workers);

}  // namespace cloze_cli
