#include "cloze/train/metrics.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <utility>

#include "cloze/core/error.h"
#include "cloze/io/durable_file.h"

namespace cloze {

std::string quality_text(const UnitSpec& units, double loss, double accuracy) {
  if (units.kind == UnitKind::discrete) return fmt::format("masked accuracy {:.4f}", accuracy);
  if (const auto psnr = units.psnr_db(loss)) return fmt::format("PSNR {:.2f} dB", *psnr);
  return "";
}

std::vector<nlohmann::json> metrics_lines(const std::filesystem::path& path) {
  std::vector<nlohmann::json> records;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_object()) records.push_back(std::move(record));
  }
  return records;
}

void truncate_metrics(const std::filesystem::path& path, int64_t step) {
  std::ostringstream kept;
  for (const auto& record : metrics_lines(path))
    if (record.value("step", int64_t{0}) <= step) kept << record.dump() << '\n';
  write_durably(path, kept.str());
}

MetricsLog::MetricsLog(const std::filesystem::path& path) : path_(path), out_(path, std::ios::app) {
  if (!out_) throw Error("cannot open metrics file " + path.string() + " for writing");
}

void MetricsLog::write(const nlohmann::json& record) {
  out_ << record.dump() << '\n';
  out_.flush();
  if (!out_) throw Error("cannot write metrics file " + path_.string());
}

namespace {

std::string clock_text(double seconds) {
  const auto total = static_cast<int64_t>(seconds + 0.5);
  char text[32];
  if (total >= 3600)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  else
    std::snprintf(text, sizeof text, "%lld:%02lld", static_cast<long long>(total / 60), static_cast<long long>(total % 60));
  return text;
}

}  // namespace

Progress::Progress(int64_t total_steps, int64_t first_step, bool quiet)
    : quiet_(quiet), terminal_(isatty(STDERR_FILENO) != 0), total_(total_steps), first_(first_step),
      start_(std::chrono::steady_clock::now()) {}

void Progress::update(int64_t step, const std::string& status) {
  if (quiet_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t done = step - first_;
  const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(total_ - step) : 0.0;
  const std::string counts = std::to_string(step) + "/" + std::to_string(total_);
  const std::string times = clock_text(elapsed) + "<" + clock_text(eta);
  if (!terminal_) {
    std::cerr << "step " << counts << "  " << status << "  " << times << '\n';
    return;
  }
  constexpr int width = 24;
  const int filled = total_ > 0 ? static_cast<int>(width * step / total_) : width;
  std::cerr << "\r\033[K[" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << counts << "  "
            << status << "  " << times << std::flush;
  bar_drawn_ = true;
}

void Progress::message(const std::string& line) {
  if (quiet_) return;
  if (terminal_ && bar_drawn_) std::cerr << "\r\033[K";
  std::cerr << line << '\n';
}

void Progress::finish() {
  if (terminal_ && bar_drawn_) std::cerr << '\n';
  bar_drawn_ = false;
}

}  // namespace cloze
