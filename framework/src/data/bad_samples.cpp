#include "cloze/data/bad_samples.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "cloze/core/error.h"

namespace cloze {

std::shared_ptr<BadSamples> BadSamples::from(const Params& loader) {
  const std::string action = loader.string("on_bad_sample");
  const double max_fraction = loader.real("max_bad_fraction");
  loader.require(action == "error" || action == "skip", "on_bad_sample", "must be \"error\" or \"skip\"");
  loader.require(max_fraction >= 0 && max_fraction <= 1, "max_bad_fraction", "must be in [0, 1]");
  return std::make_shared<BadSamples>(action == "skip", max_fraction);
}

namespace {

std::string stop_advice() { return "; set loader.on_bad_sample = \"skip\" to train without them"; }

// The error for `unreadable` of `total` samples, more than `max_fraction` of
// them; `which` says how `example` stands among them ("first", "latest").
Error too_many(const std::string& source, int64_t unreadable, int64_t total, const std::string& samples,
               double max_fraction, const std::string& which, const BadSample& example) {
  const double fraction = static_cast<double>(unreadable) / static_cast<double>(std::max<int64_t>(total, 1));
  char share[32];
  std::snprintf(share, sizeof share, "%.1f%%", 100.0 * fraction);
  return Error(source + ": " + std::to_string(unreadable) + " of " + std::to_string(total) + " " + samples +
               " cannot be read (" + share + ", more than loader.max_bad_fraction = " + std::to_string(max_fraction) +
               "); the " + which + " is " + example.path.string() + " (" + example.reason + ")");
}

bool beyond(int64_t unreadable, int64_t total, double max_fraction) {
  return static_cast<double>(unreadable) > max_fraction * static_cast<double>(std::max<int64_t>(total, 1));
}

}  // namespace

void BadSamples::report(const std::string& source, const std::vector<BadSample>& unreadable, int64_t total,
                        const std::string& samples) {
  if (unreadable.empty()) return;
  const BadSample& first = unreadable.front();
  if (!skip_)
    throw Error(first.path.string() + ": cannot be read (" + first.reason + ")" +
                (unreadable.size() > 1 ? ", nor can " + std::to_string(unreadable.size() - 1) + " more in " + source
                                       : "") +
                stop_advice());
  const auto count = static_cast<int64_t>(unreadable.size());
  if (beyond(count, total, max_fraction_)) throw too_many(source, count, total, samples, max_fraction_, "first", first);
  const std::lock_guard<std::mutex> lock(mutex_);
  skipped_.insert(skipped_.end(), unreadable.begin(), unreadable.end());
}

void BadSamples::report_one(const std::string& source, const BadSample& sample, int64_t total,
                            const std::string& samples) {
  if (!skip_) throw Error(sample.path.string() + ": cannot be read (" + sample.reason + ")" + stop_advice());
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!recorded_.insert(sample.path).second) return;
  skipped_.push_back(sample);
  const int64_t count = ++per_source_[source];
  if (beyond(count, total, max_fraction_)) throw too_many(source, count, total, samples, max_fraction_, "latest", sample);
}

std::vector<BadSample> BadSamples::skipped() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return skipped_;
}

std::string to_jsonl(const std::vector<BadSample>& samples) {
  std::string lines;
  for (const BadSample& bad : samples)
    lines += nlohmann::json{{"path", bad.path.string()}, {"reason", bad.reason}}.dump() + "\n";
  return lines;
}

std::vector<BadSample> read_jsonl(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(file.string() + ": cannot be read");
  std::vector<BadSample> samples;
  int64_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const auto is_string = [&](const char* key) { return record.contains(key) && record[key].is_string(); };
    if (!record.is_object() || !is_string("path") || !is_string("reason"))
      throw Error(file.string() + ":" + std::to_string(number) +
                  ": not a JSON object with string fields \"path\" and \"reason\"");
    samples.push_back({record["path"].get<std::string>(), record["reason"].get<std::string>()});
  }
  return samples;
}

}  // namespace cloze
