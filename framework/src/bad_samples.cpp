#include "cloze/bad_samples.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

#include "cloze/error.h"

namespace cloze {

BadSamples BadSamples::from(const Params& loader) {
  const std::string action = loader.string("on_bad_sample");
  const double max_fraction = loader.real("max_bad_fraction");
  loader.require(action == "error" || action == "skip", "on_bad_sample", "must be \"error\" or \"skip\"");
  loader.require(max_fraction >= 0 && max_fraction <= 1, "max_bad_fraction", "must be in [0, 1]");
  return BadSamples(action == "skip", max_fraction);
}

void BadSamples::report(const std::filesystem::path& folder, const std::vector<BadSample>& unreadable,
                        int64_t files) {
  if (unreadable.empty()) return;
  const BadSample& first = unreadable.front();
  if (!skip_)
    throw Error(first.path.string() + ": cannot be read (" + first.reason + ")" +
                (unreadable.size() > 1 ? ", nor can " + std::to_string(unreadable.size() - 1) + " more in " +
                                             folder.string()
                                       : "") +
                "; set loader.on_bad_sample = \"skip\" to train without them");
  const double fraction = static_cast<double>(unreadable.size()) / static_cast<double>(std::max<int64_t>(files, 1));
  if (fraction > max_fraction_) {
    char share[32];
    std::snprintf(share, sizeof share, "%.1f%%", 100.0 * fraction);
    throw Error(folder.string() + ": " + std::to_string(unreadable.size()) + " of " + std::to_string(files) +
                " files cannot be read (" + share + ", more than loader.max_bad_fraction = " +
                std::to_string(max_fraction_) + "); the first is " + first.path.string() + " (" + first.reason +
                ")");
  }
  skipped_.insert(skipped_.end(), unreadable.begin(), unreadable.end());
}

std::string BadSamples::to_jsonl() const {
  std::string lines;
  for (const BadSample& bad : skipped_)
    lines += nlohmann::json{{"path", bad.path.string()}, {"reason", bad.reason}}.dump() + "\n";
  return lines;
}

}  // namespace cloze
