// What a run reports while it trains: JSON lines appended to metrics.jsonl,
// and on a terminal a progress bar with throughput and ETA (plain lines when
// the output is not a terminal, so logs stay readable).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloze/core/units.h"

namespace cloze {

class MetricsLog {
 public:
  explicit MetricsLog(const std::filesystem::path& path);
  void write(const nlohmann::json& record);  // one line, flushed

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

// The JSON objects of a metrics.jsonl, in order; a line that is not one (a
// kill cut it short) is left out.
std::vector<nlohmann::json> metrics_lines(const std::filesystem::path& path);

// Drops the lines after `step` (and any a kill cut short), so that a run
// resumed from that step's checkpoint does not repeat them.
void truncate_metrics(const std::filesystem::path& path, int64_t step);

// How well a batch was reconstructed, beside its masked loss, as the command
// line prints it: "masked accuracy 0.2329" for ids, "PSNR 13.31 dB" for
// values where UnitSpec::psnr_db has one, else "" (the loss, an MSE, says it).
std::string quality_text(const UnitSpec& units, double loss, double accuracy);

class Progress {
 public:
  // `quiet`: prints nothing (the ranks of a data-parallel run but rank 0).
  Progress(int64_t total_steps, int64_t first_step, bool quiet = false);
  // Redraws the bar (terminal) or prints a line (otherwise) for `step`.
  void update(int64_t step, const std::string& status);
  void message(const std::string& line);  // a line above the bar
  void finish();

 private:
  bool quiet_;
  bool terminal_;
  int64_t total_;
  int64_t first_;
  std::chrono::steady_clock::time_point start_;
  bool bar_drawn_ = false;
};

}  // namespace cloze
