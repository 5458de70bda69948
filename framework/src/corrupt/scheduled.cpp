#include "cloze/corrupt/scheduled.h"

#include <algorithm>
#include <set>
#include <utility>

#include "cloze/core/error.h"

namespace cloze {

namespace {

// Plugins kept besides the probes: a linear schedule makes one per step, and
// the loader's workers corrupt only a few neighbouring steps at a time.
constexpr std::size_t kKeptMade = 16;
// Fractions probed inside each segment of a linear schedule, besides its ends.
constexpr int kProbesPerSegment = 15;

// Where along training the plugin is made up front: every point of every
// schedule, and inside the segments of the linear ones.
std::set<double> probe_fractions(const Params& params) {
  std::set<double> fractions{0.0};
  for (const auto& [name, schedule] : params.schedules()) {
    const auto& points = schedule.points;
    for (std::size_t k = 0; k < points.size(); ++k) {
      fractions.insert(points[k].first);
      if (schedule.interpolation != Interpolation::linear || k + 1 == points.size()) continue;
      const double from = points[k].first, to = points[k + 1].first;
      for (int i = 1; i <= kProbesPerSegment; ++i) fractions.insert(from + (to - from) * i / (kProbesPerSegment + 1));
    }
  }
  return fractions;
}

// What tells apart the plugins made along the schedules: each schedule's
// value at `fraction`. Read straight from the schedules, so that a batch
// whose plugin was made already costs no copy of the parameters.
std::vector<double> values_at(const Params& params, double fraction) {
  std::vector<double> values;
  for (const auto& entry : params.schedules()) values.push_back(entry.second.at(fraction));
  return values;
}

}  // namespace

ScheduledCorruption::ScheduledCorruption(Params params, CorruptionFactory make)
    : params_(std::move(params)), make_(std::move(make)) {
  if (params_.schedules().empty()) throw Error("a scheduled corruption needs a parameter with a schedule");
  for (const double fraction : probe_fractions(params_))
    probes_.push_back({fraction, make_(params_.at_fraction(fraction))});
  set_name(first().name());
  std::string scheduled;
  for (const auto& [name, schedule] : params_.schedules())
    scheduled += (scheduled.empty() ? "" : ", ") + params_.origin(name) + ": " + params_.section() + "." + name;
  for (const Probe& probe : probes_) {
    const Corruption& made = *probe.corruption;
    const char* changed = made.mode() != mode()                   ? "reconstruction mode"
                          : made.added_tokens() != added_tokens() ? "added tokens"
                          : made.entry_labels() != entry_labels() ? "entry labels"
                                                                  : nullptr;
    if (changed)
      throw Error(scheduled + ": this schedule changes " + name() + "'s " + changed +
                  " during training, which the model is built for once");
  }
}

std::string ScheduledCorruption::incompatibility(const UnitSpec& units) const {
  for (const auto& probe : probes_)
    if (std::string why = probe.corruption->incompatibility(units); !why.empty()) return why;
  return "";
}

int64_t ScheduledCorruption::raw_length(int64_t input_length) const {
  int64_t shortest = first().raw_length(input_length);
  for (const auto& probe : probes_) shortest = std::min(shortest, probe.corruption->raw_length(input_length));
  return shortest;
}

Corruption::Lengths ScheduledCorruption::max_lengths(int64_t raw_length) const {
  Lengths longest;
  for (const auto& probe : probes_) {
    const Lengths lengths = probe.corruption->max_lengths(raw_length);
    longest.input = std::max(longest.input, lengths.input);
    longest.target = std::max(longest.target, lengths.target);
  }
  return longest;
}

void ScheduledCorruption::do_prepare(const UnitSpec& units) {
  for (const auto& [fraction, probe] : probes_) {
    probe->prepare(units);
    made_.emplace(values_at(params_, fraction), probe);
  }
}

std::shared_ptr<const Corruption> ScheduledCorruption::at(double fraction) const {
  std::vector<double> key = values_at(params_, fraction);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (const auto found = made_.find(key); found != made_.end()) return found->second;
  }
  // Made outside the lock: another worker may make the same values meanwhile,
  // and the first kept is the one both use.
  std::shared_ptr<Corruption> made = make_(params_.at_fraction(fraction));
  made->prepare(units());
  std::lock_guard<std::mutex> lock(mutex_);
  const auto [kept, added] = made_.emplace(key, std::move(made));
  if (added) recent_.push_back(std::move(key));
  std::shared_ptr<const Corruption> chosen = kept->second;
  if (recent_.size() > kKeptMade) {  // forget the oldest made on demand; the probes stay
    made_.erase(recent_.front());
    recent_.pop_front();
  }
  return chosen;
}

Corrupted ScheduledCorruption::do_corrupt(const Batch& batch, uint64_t seed) const {
  return at(batch.training_fraction)->corrupt(batch, seed);
}

}  // namespace cloze
