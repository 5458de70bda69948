#include "cloze/corrupt/chain.h"

#include <ATen/Functions.h>

#include "cloze/core/error.h"
#include "cloze/core/rng.h"
#include "cloze/corrupt/fill.h"

namespace cloze {

namespace {

std::string named(const std::string& name, ReconstructionMode mode) {
  return "'" + name + "' (" + to_string(mode) + ")";
}

// The input sequence of a sequence-mode batch as a batch of its own, for the
// next stage: one axis, its padding, the same rows and samples.
Batch input_as_batch(const Batch& batch, const Corrupted& corrupted) {
  Batch seen = batch;
  seen.units = corrupted.input;
  seen.padding = corrupted.input_padding;
  seen.grid = Grid{{corrupted.input.size(1)}};
  return seen;
}

}  // namespace

std::string Chain::composition_problem(const std::string& last, ReconstructionMode mode, const Stage& next) {
  const ReconstructionMode next_mode = next.corruption->mode();
  const std::string pair = named(last, mode) + " then " + named(next.name, next_mode) + ": ";
  if (mode == ReconstructionMode::detect || next_mode == ReconstructionMode::detect)
    return pair + "a detect corruption's target says which units it replaced, which no other corruption can "
                  "keep true; train detection on its own (or as a mixture of detect corruptions)";
  switch (mode) {
    case ReconstructionMode::sequence:
      if (next_mode == ReconstructionMode::fill)
        return pair + "'" + last + "' rewrites the sample into a new sequence, which has no grid positions for '" +
               next.name + "' to drop units from; follow a sequence corruption with sequence or in_place ones";
      return "";
    case ReconstructionMode::in_place:
      if (next_mode != ReconstructionMode::in_place)
        return pair + "'" + last + "' scores the units where they stand, and '" + next.name + "' " +
               (next_mode == ReconstructionMode::fill ? "drops units from the encoder's view"
                                                      : "rewrites the sequence") +
               ", so the positions it scored would be lost; put '" + next.name +
               "' first, or follow an in_place corruption with in_place ones only";
      return "";
    case ReconstructionMode::detect:
      return "";  // refused above
    case ReconstructionMode::fill:
      if (next_mode != ReconstructionMode::fill)
        return pair + "'" + last + "' hands the encoder only the units it keeps, so '" + next.name +
               "' has no whole sample to corrupt; a fill corruption can only be followed by fill corruptions, "
               "whose dropped units join its own";
      return "";
  }
  return "";
}

Chain::Chain(std::vector<Stage> stages) : stages_(std::move(stages)) {
  if (stages_.empty()) throw Error("corruption chain: needs at least one corruption");
  const ReconstructionMode chain_mode = mode();
  std::string name = stages_.front().name;
  for (std::size_t k = 1; k < stages_.size(); ++k) {
    const std::string why = composition_problem(stages_[k - 1].name, chain_mode, stages_[k]);
    if (!why.empty()) throw Error("corruption chain: " + why);
    name += "+" + stages_[k].name;
  }
  set_name(std::move(name));
}

std::string Chain::incompatibility(const UnitSpec& units) const {
  for (const auto& stage : stages_) {
    const std::string why = stage.corruption->incompatibility(units);
    if (!why.empty()) return "'" + stage.name + "' in the chain: " + why;
  }
  return "";
}

int64_t Chain::raw_length(int64_t input_length) const {
  // Each stage must be handed what the next one needs.
  for (auto stage = stages_.rbegin(); stage != stages_.rend(); ++stage)
    input_length = stage->corruption->raw_length(input_length);
  return input_length;
}

Corruption::Lengths Chain::max_lengths(int64_t raw_length) const {
  Lengths lengths = stages_.front().corruption->max_lengths(raw_length);
  for (std::size_t k = 1; k < stages_.size(); ++k)
    if (stages_[k].corruption->mode() == ReconstructionMode::sequence)
      lengths.input = stages_[k].corruption->max_lengths(lengths.input).input;
  return lengths;
}

void Chain::do_prepare(const UnitSpec& units) {
  for (auto& stage : stages_) stage.corruption->prepare(units);
}

Corrupted Chain::do_corrupt(const Batch& batch, uint64_t seed) const {
  Corrupted out = stages_.front().corruption->corrupt(batch, seed);
  for (std::size_t k = 1; k < stages_.size(); ++k) {
    const Corruption& next = *stages_[k].corruption;
    const uint64_t stage_seed = derived_seed(seed, k);
    switch (out.mode) {
      case ReconstructionMode::fill: {
        Batch remaining = batch;
        remaining.padding = batch.padding | out.loss_mask;
        const at::Tensor dropped = out.loss_mask | next.corrupt(remaining, stage_seed).loss_mask;
        out = fill_corrupted(batch, dropped);
        break;
      }
      case ReconstructionMode::in_place: {
        Batch seen = batch;
        seen.units = out.input;
        Corrupted more = next.corrupt(seen, stage_seed);
        out.input = more.input;
        out.loss_mask = out.loss_mask | more.loss_mask;
        if (more.input_masked.defined())
          out.input_masked = out.input_masked.defined() ? out.input_masked | more.input_masked : more.input_masked;
        break;
      }
      case ReconstructionMode::detect:
        throw Error("corruption chain: a detect corruption cannot be chained");  // refused when built
      case ReconstructionMode::sequence: {
        const Corrupted more = next.corrupt(input_as_batch(batch, out), stage_seed);
        out.input = more.input;
        out.input_positions = more.input_positions;
        out.input_padding = more.input_padding;
        if (more.input_masked.defined()) out.input_masked = more.input_masked;
        break;
      }
    }
  }
  return out;
}

}  // namespace cloze
