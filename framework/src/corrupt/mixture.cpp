#include "cloze/corrupt/mixture.h"

#include <ATen/Functions.h>

#include <algorithm>

#include "cloze/core/error.h"
#include "cloze/core/rng.h"
#include "cloze/corrupt/batch_rows.h"

namespace cloze {

namespace {

std::string named(const Mixture::Entry& entry) {
  return "entry '" + entry.label + "' (" + entry.describe + ", " + to_string(entry.corruption->mode()) + ")";
}

// The mode token in front of each row's input sequence, at position 0.
void prepend_token(Corrupted& corrupted, int64_t token) {
  const int64_t rows = corrupted.input.size(0);
  corrupted.input = at::cat({at::full({rows, 1}, token, corrupted.input.options()), corrupted.input}, 1);
  corrupted.input_positions =
      at::cat({at::zeros({rows, 1}, corrupted.input_positions.options()), corrupted.input_positions + 1}, 1);
  corrupted.input_padding =
      at::cat({at::zeros({rows, 1}, corrupted.input_padding.options()), corrupted.input_padding}, 1);
}

}  // namespace

Mixture::Mixture(std::vector<Entry> entries) : entries_(std::move(entries)) {
  if (entries_.empty()) throw Error("corruption mixture: needs at least one entry");
  set_name("corruption mixture");
  double total = 0;
  for (const Entry& entry : entries_) {
    if (!(entry.weight > 0)) throw Error("corruption mixture: " + named(entry) + " needs a weight above 0");
    if (entry.corruption->mode() != mode())
      throw Error("corruption mixture: " + named(entries_.front()) + " and " + named(entry) +
                  " reconstruct in different modes; a batch mixes rows of every entry, so all entries must "
                  "share one mode");
    if (!entry.token.empty() && mode() != ReconstructionMode::sequence)
      throw Error("corruption mixture: " + named(entry) + " asks for the mode token '" + entry.token +
                  "', which needs sequence mode: only a free-length input sequence has room for it");
    total += entry.weight;
  }
  double running = 0;
  for (const Entry& entry : entries_) cumulative_.push_back((running += entry.weight) / total);
  cumulative_.back() = 1.0;
}

std::string Mixture::incompatibility(const UnitSpec& units) const {
  for (const Entry& entry : entries_) {
    const std::string why = entry.corruption->incompatibility(units);
    if (!why.empty()) return "mixture " + named(entry) + ": " + why;
  }
  return "";
}

int64_t Mixture::raw_length(int64_t input_length) const {
  int64_t shortest = entries_.front().corruption->raw_length(input_length);
  for (const Entry& entry : entries_) shortest = std::min(shortest, entry.corruption->raw_length(input_length));
  return shortest;
}

Corruption::Lengths Mixture::max_lengths(int64_t raw_length) const {
  Lengths longest;
  for (const Entry& entry : entries_) {
    const Lengths lengths = entry.corruption->max_lengths(raw_length);
    longest.input = std::max(longest.input, lengths.input + (entry.token.empty() ? 0 : 1));
    longest.target = std::max(longest.target, lengths.target);
  }
  return longest;
}

std::vector<std::string> Mixture::added_tokens() const {
  std::vector<std::string> tokens;
  for (const Entry& entry : entries_)
    if (!entry.token.empty() && std::find(tokens.begin(), tokens.end(), entry.token) == tokens.end())
      tokens.push_back(entry.token);
  return tokens;
}

std::vector<std::string> Mixture::entry_labels() const {
  std::vector<std::string> labels;
  for (const Entry& entry : entries_) labels.push_back(entry.label);
  return labels;
}

void Mixture::do_prepare(const UnitSpec& units) {
  token_ids_.clear();
  for (Entry& entry : entries_) {
    entry.corruption->prepare(units);
    const int64_t id = entry.token.empty() ? -1 : units.id_of(entry.token);
    if (!entry.token.empty() && id < 0)
      throw Error("corruption mixture: " + named(entry) + ": the units have no piece '" + entry.token +
                  "' for its mode token");
    token_ids_.push_back(id);
  }
}

std::size_t Mixture::draw(uint64_t seed, int64_t epoch, int64_t sample) const {
  SampleRng rng(seed, RngStream::mixture, epoch, sample);
  const double u = rng.uniform();
  const auto found = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
  return std::min<std::size_t>(found - cumulative_.begin(), entries_.size() - 1);
}

Corrupted Mixture::do_corrupt(const Batch& batch, uint64_t seed) const {
  if (batch.size() == 0) return entries_.front().corruption->corrupt(batch, seed);
  std::vector<std::vector<int64_t>> rows_of(entries_.size());
  std::vector<int64_t> entry_of_row;
  for (int64_t row = 0; row < batch.size(); ++row) {
    const std::size_t entry = draw(seed, batch.epoch, batch.sample_ids.at(static_cast<std::size_t>(row)));
    rows_of[entry].push_back(row);
    entry_of_row.push_back(static_cast<int64_t>(entry));
  }
  std::vector<Corrupted> parts;
  std::vector<std::vector<int64_t>> part_rows;
  for (std::size_t e = 0; e < entries_.size(); ++e) {
    if (rows_of[e].empty()) continue;
    Corrupted part = entries_[e].corruption->corrupt(select_rows(batch, rows_of[e]), seed);
    if (token_ids_[e] >= 0) prepend_token(part, token_ids_[e]);
    parts.push_back(std::move(part));
    part_rows.push_back(rows_of[e]);
  }
  // Continuous units have no pad id; their rows pad with zeros.
  const int64_t pad_id = units().kind == UnitKind::discrete ? units().pad_id : 0;
  Corrupted merged = merge_rows(parts, part_rows, batch.size(), pad_id);
  merged.entry = at::tensor(entry_of_row, at::kLong);
  return merged;
}

}  // namespace cloze
