// Rendering a corrupted row as text with the corrupted units marked.
#include "preview.h"

#include <ATen/core/Tensor.h>

#include <numeric>

#include "utf8.h"

namespace cloze::text {

namespace {

// Row `row` of a [B, N] tensor of ids or flags, as int64.
std::vector<int64_t> row_of(const at::Tensor& tensor, int64_t row) {
  const at::Tensor values = tensor.select(0, row).to(at::kCPU, at::kLong).contiguous();
  const int64_t* data = values.data_ptr<int64_t>();
  return {data, data + values.numel()};
}

// The ids in row `row` of `ids` where `flags` is `wanted` (all of them when
// `flags` is undefined).
std::vector<int64_t> ids_where(const at::Tensor& ids, const at::Tensor& flags, int64_t row, bool wanted) {
  const auto all = row_of(ids, row);
  if (!flags.defined()) return all;
  const auto flag = row_of(flags, row);
  std::vector<int64_t> picked;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (static_cast<bool>(flag[i]) == wanted) picked.push_back(all[i]);
  return picked;
}

std::string text_of(const Tokenizer& tokenizer, const std::vector<int64_t>& ids) {
  return printable(tokenizer.decode(std::vector<int32_t>(ids.begin(), ids.end())));
}

std::string trim_left(std::string text) {
  text.erase(0, text.find_first_not_of(' '));
  return text;
}

// One corrupted unit: " [seen→original]", the word-start space of the
// original piece moved before the bracket.
std::string marked(const Tokenizer& tokenizer, int64_t seen, int64_t original) {
  const std::string target = text_of(tokenizer, {original});
  const std::string trimmed = trim_left(target);
  const bool starts_word = trimmed.size() < target.size() && !trimmed.empty();
  const std::string input = seen < 0 ? "_" : trim_left(text_of(tokenizer, {seen}));
  return (starts_word ? " [" : "[") + input + "→" + (starts_word ? trimmed : target) + "]";
}

// What the encoder got at each grid position of the row; -1 where it got nothing.
std::vector<int64_t> seen_at(const Corrupted& corrupted, int64_t row, std::size_t positions) {
  const auto input = row_of(corrupted.input, row);
  std::vector<int64_t> at_position(input.size());
  std::iota(at_position.begin(), at_position.end(), 0);
  if (corrupted.input_positions.defined()) at_position = row_of(corrupted.input_positions, row);
  std::vector<int64_t> filler(input.size(), 0);
  if (corrupted.input_padding.defined()) filler = row_of(corrupted.input_padding, row);
  std::vector<int64_t> seen(positions, -1);
  for (std::size_t j = 0; j < input.size(); ++j)
    if (!filler[j] && at_position[j] >= 0 && static_cast<std::size_t>(at_position[j]) < positions)
      seen[static_cast<std::size_t>(at_position[j])] = input[j];
  return seen;
}

std::string aligned_preview(const Tokenizer& tokenizer, const Batch& batch, const Corrupted& corrupted, int64_t row) {
  const auto original = row_of(batch.units, row);
  // Scored units show the target, which a preview of a model's output replaces
  // with the model's guesses.
  const auto target = row_of(corrupted.target, row);
  const auto padding = row_of(batch.padding, row);
  const auto scored = row_of(corrupted.loss_mask, row);
  const auto seen = seen_at(corrupted, row, original.size());
  std::string line;
  std::vector<int64_t> kept;  // a run of kept ids, decoded together so multi-byte characters stay whole
  for (std::size_t n = 0; n < original.size(); ++n) {
    if (padding[n]) continue;
    if (!scored[n]) {
      kept.push_back(original[n]);
      continue;
    }
    line += text_of(tokenizer, kept);
    kept.clear();
    line += marked(tokenizer, seen[n], target[n]);
  }
  line += text_of(tokenizer, kept);
  return trim_left(line);
}

std::string sequence_preview(const Tokenizer& tokenizer, const Corrupted& corrupted, int64_t row) {
  const auto input = ids_where(corrupted.input, corrupted.input_padding, row, false);
  const auto target = ids_where(corrupted.target, corrupted.loss_mask, row, true);
  return trim_left(text_of(tokenizer, input)) + " ⇒ " + trim_left(text_of(tokenizer, target));
}

}  // namespace

std::string preview_row(const Tokenizer& tokenizer, const Batch& batch, const Corrupted& corrupted, int64_t row) {
  const bool aligned = corrupted.mode != ReconstructionMode::sequence && corrupted.target.defined() &&
                       corrupted.target.size(1) == batch.units.size(1);
  return aligned ? aligned_preview(tokenizer, batch, corrupted, row) : sequence_preview(tokenizer, corrupted, row);
}

}  // namespace cloze::text
