// Sequence-mode batches from per-row ids; see cloze/sequence_batch.h.
#include "cloze/corrupt/sequence_batch.h"

#include <ATen/Functions.h>

#include <algorithm>

namespace cloze {
namespace {

int64_t longest(const std::vector<std::vector<int64_t>>& rows) {
  std::size_t length = 0;
  for (const auto& row : rows) length = std::max(length, row.size());
  return static_cast<int64_t>(length);
}

// [B, N] bool, true from each row's length on.
at::Tensor padding_of(const std::vector<std::vector<int64_t>>& rows, int64_t width) {
  at::Tensor padding = at::ones({static_cast<int64_t>(rows.size()), width}, at::kBool);
  bool* data = padding.data_ptr<bool>();
  for (std::size_t b = 0; b < rows.size(); ++b)
    std::fill_n(data + static_cast<int64_t>(b) * width, rows[b].size(), false);
  return padding;
}

}  // namespace

at::Tensor pad_rows(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id) {
  const int64_t width = longest(rows);
  at::Tensor out = at::full({static_cast<int64_t>(rows.size()), width}, pad_id, at::kLong);  // [B, N]
  int64_t* data = out.data_ptr<int64_t>();
  for (std::size_t b = 0; b < rows.size(); ++b)
    std::copy(rows[b].begin(), rows[b].end(), data + static_cast<int64_t>(b) * width);
  return out;
}

Corrupted sequence_corrupted(const std::vector<std::vector<int64_t>>& inputs,
                             const std::vector<std::vector<int64_t>>& targets, int64_t pad_id, int64_t bos_id) {
  const auto rows = static_cast<int64_t>(inputs.size());
  Corrupted out;
  out.mode = ReconstructionMode::sequence;
  out.input = pad_rows(inputs, pad_id);  // [B, N_in]
  const int64_t input_width = out.input.size(1);
  out.input_positions = at::arange(input_width, at::kLong).expand({rows, input_width}).contiguous();  // [B, N_in]
  out.input_padding = padding_of(inputs, input_width);                                             // [B, N_in]

  out.target = pad_rows(targets, pad_id);  // [B, N_t]
  const int64_t target_width = out.target.size(1);
  out.loss_mask = padding_of(targets, target_width).logical_not_();  // [B, N_t]
  out.decoder_input = at::full({rows, target_width}, pad_id, at::kLong);  // [B, N_t]
  int64_t* decoder = out.decoder_input.data_ptr<int64_t>();
  for (int64_t b = 0; b < rows; ++b) {
    const auto& target = targets[static_cast<std::size_t>(b)];
    if (target.empty()) continue;
    int64_t* row = decoder + b * target_width;
    row[0] = bos_id;
    std::copy(target.begin(), target.end() - 1, row + 1);
  }
  return out;
}

std::string sequence_incompatibility(const std::string& corruption, const UnitSpec& units) {
  if (units.kind == UnitKind::continuous)
    return corruption + " rewrites sequences of unit ids for an encoder-decoder, but these units are continuous "
                        "vectors of " + std::to_string(units.unit_dim) + " values; use a patch-masking corruption instead";
  if (units.pad_id < 0)
    return corruption + " pads inputs and targets to the longest row, but the vocabulary has no pad id";
  if (units.bos_id < 0)
    return corruption + " starts the decoder input with the bos id, but the vocabulary has no bos id; use a "
                        "tokenizer with a beginning-of-sequence token";
  return "";
}

}  // namespace cloze
