#include "cloze/corrupt/batch_rows.h"

#include <ATen/Functions.h>

#include <algorithm>

#include "cloze/core/error.h"

namespace cloze {

namespace {

at::Tensor index_tensor(const std::vector<int64_t>& rows) {
  return at::tensor(rows, at::kLong);
}

// One field of Corrupted, where it sits in the batch and what fills it.
struct Field {
  at::Tensor Corrupted::*member;
  bool input_side;  // as long as the input (else as long as the target)
  bool is_ids;      // discrete ids: filled with pad_id
  bool flag;        // bool; fills with `flag_fill`
  bool flag_fill;
};

const Field kFields[] = {
    {&Corrupted::input, true, true, false, false},
    {&Corrupted::input_positions, true, false, false, false},
    {&Corrupted::input_padding, true, false, true, true},
    {&Corrupted::input_masked, true, false, true, false},
    {&Corrupted::target, false, true, false, false},
    {&Corrupted::loss_mask, false, false, true, false},
    {&Corrupted::decoder_input, false, true, false, false},
    {&Corrupted::target_padding, false, false, true, true},
};

int64_t length_of(const Corrupted& part, bool input_side) {
  return (input_side ? part.input : part.target).size(1);
}

}  // namespace

Batch select_rows(const Batch& batch, const std::vector<int64_t>& rows) {
  const at::Tensor index = index_tensor(rows);
  Batch out;
  out.units = batch.units.index_select(0, index);
  out.padding = batch.padding.index_select(0, index);
  if (batch.labels.defined()) out.labels = batch.labels.index_select(0, index);
  out.grid = batch.grid;
  out.epoch = batch.epoch;
  out.training_fraction = batch.training_fraction;
  for (const int64_t row : rows) out.sample_ids.push_back(batch.sample_ids.at(static_cast<std::size_t>(row)));
  return out;
}

Corrupted select_rows(const Corrupted& corrupted, const std::vector<int64_t>& rows) {
  const at::Tensor index = index_tensor(rows);
  Corrupted out;
  out.mode = corrupted.mode;
  for (const Field& field : kFields)
    if ((corrupted.*field.member).defined()) out.*field.member = (corrupted.*field.member).index_select(0, index);
  if (corrupted.entry.defined()) out.entry = corrupted.entry.index_select(0, index);
  return out;
}

Corrupted merge_rows(const std::vector<Corrupted>& parts, const std::vector<std::vector<int64_t>>& rows,
                     int64_t batch_size, int64_t pad_id) {
  if (parts.empty() || parts.size() != rows.size()) throw Error("merge_rows: needs one list of rows per part");
  Corrupted merged;
  merged.mode = parts.front().mode;
  for (const Field& field : kFields) {
    const at::Tensor* model = nullptr;  // the first part's tensor: dtype and the sizes after [B, N]
    int64_t longest = 0;
    for (const Corrupted& part : parts) {
      if (part.mode != merged.mode) throw Error("merge_rows: the parts have different reconstruction modes");
      longest = std::max(longest, length_of(part, field.input_side));
      if (!model && (part.*field.member).defined()) model = &(part.*field.member);
    }
    if (!model) continue;
    const at::Scalar fill = field.flag ? at::Scalar(field.flag_fill) : at::Scalar(field.is_ids ? pad_id : 0);
    std::vector<int64_t> shape = model->sizes().vec();
    shape[0] = batch_size;
    shape[1] = longest;
    at::Tensor filler = at::full(shape, fill, model->options());
    // Padding's positions count on, as sequence_corrupted gives them.
    if (field.member == &Corrupted::input_positions) filler.copy_(at::arange(longest, model->options()).expand(shape));
    at::Tensor out = filler.clone();
    for (std::size_t k = 0; k < parts.size(); ++k) {
      const at::Tensor& own = parts[k].*field.member;
      if (!own.defined()) continue;  // the rows keep the filler
      at::Tensor padded = filler.narrow(0, 0, own.size(0)).clone();
      padded.narrow(1, 0, own.size(1)).copy_(own);
      out.index_copy_(0, index_tensor(rows[k]), padded);
    }
    merged.*field.member = out;
  }
  return merged;
}

}  // namespace cloze
