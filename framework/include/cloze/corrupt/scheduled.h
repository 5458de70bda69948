// A plugin corruption whose parameters follow schedules (cloze/core/schedule.h):
// each batch is corrupted by the plugin made with the values at the batch's
// training_fraction. build_corruption wraps every stage whose parameters hold
// a schedule in one, so any plugin, any stage of a chain and any entry of a
// mixture can be scheduled without the plugin knowing.
//
// The plugin is made again whenever the values change (a piecewise-constant
// schedule: once per point; a linear one: once per step) and prepared with the
// same units; recent ones are kept. What the framework reads once for the
// whole run must not move along the schedule: the reconstruction mode, the
// added tokens and the entry labels are checked to stay the same; the raw
// length packed for an input is the shortest the plugin asks for anywhere on
// the schedule (so no input outgrows seq_len) and the model's position tables
// take the longest input and target it can make.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/params.h"
#include "cloze/core/registry.h"

namespace cloze {

class ScheduledCorruption final : public Corruption {
 public:
  // `params` hold at least one schedule; `make` is the plugin's factory
  // (Registry::corruption_factory). Throws cloze::Error naming the parameter
  // when the plugin refuses a value on the schedule, and when the schedule
  // would change the mode, the added tokens or the entry labels.
  ScheduledCorruption(Params params, CorruptionFactory make);

  ReconstructionMode mode() const override { return first().mode(); }
  std::string incompatibility(const UnitSpec& units) const override;
  int64_t raw_length(int64_t input_length) const override;
  Lengths max_lengths(int64_t raw_length) const override;
  std::vector<std::string> added_tokens() const override { return first().added_tokens(); }
  std::vector<std::string> entry_labels() const override { return first().entry_labels(); }

  // The plugin as it corrupts a batch at `fraction` of training (prepared).
  std::shared_ptr<const Corruption> at(double fraction) const;

 private:
  void do_prepare(const UnitSpec& units) override;
  Corrupted do_corrupt(const Batch& batch, uint64_t seed) const override;

  Params params_;
  CorruptionFactory make_;
  // The plugin made at each point of every schedule and, for a linear one,
  // between them: where the mode, the lengths and the units' compatibility
  // are read.
  struct Probe {
    double fraction;
    std::shared_ptr<Corruption> corruption;
  };
  std::vector<Probe> probes_;
  const Corruption& first() const { return *probes_.front().corruption; }

  mutable std::mutex mutex_;
  // The plugins made so far, by the schedules' values they were made at:
  // the probes, and the latest of those made on demand, oldest first in recent_.
  mutable std::map<std::vector<double>, std::shared_ptr<const Corruption>> made_;
  mutable std::deque<std::vector<double>> recent_;
};

}  // namespace cloze
