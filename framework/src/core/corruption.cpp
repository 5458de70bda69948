// The corruption contract, checked once for every plugin: see
// cloze/core/corruption.h.
#include "cloze/core/corruption.h"

#include <ATen/Functions.h>
#include <c10/core/ScalarType.h>

#include "cloze/core/error.h"
#include "cloze/core/shape_text.h"

namespace cloze {

namespace {

bool shaped(const at::Tensor& tensor, at::IntArrayRef sizes, at::ScalarType type) {
  return tensor.defined() && tensor.sizes() == sizes && tensor.scalar_type() == type;
}

std::string described(const at::Tensor& tensor) {
  if (!tensor.defined()) return "undefined";
  return shape_of(tensor) + " " + std::string(c10::toString(tensor.scalar_type()));
}

// Throws naming the first unit of the batch whose id lies outside [0, vocab).
void check_ids(const std::string& who, const Batch& batch, int64_t vocab_size) {
  if (batch.units.numel() == 0) return;
  const at::Tensor real = batch.units.masked_fill(batch.padding, 0);  // [B, N]
  // One pass over the ids on the loader's path; the search below runs only on a bad batch.
  const auto [low, high] = at::aminmax(real);
  if (low.item<int64_t>() >= 0 && high.item<int64_t>() < vocab_size) return;
  const at::Tensor bad = (real.lt(0) | real.ge(vocab_size)).nonzero();  // [M, 2] (row, unit)
  const int64_t row = bad[0][0].item<int64_t>(), unit = bad[0][1].item<int64_t>();
  throw Error(who + ": sample " + std::to_string(batch.sample_ids[static_cast<std::size_t>(row)]) + ", unit " +
              std::to_string(unit) + " has id " + std::to_string(real[row][unit].item<int64_t>()) +
              ", outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
}

void check_batch(const std::string& who, const UnitSpec& units, const Batch& batch) {
  const at::Tensor& values = batch.units;
  const bool discrete = units.kind == UnitKind::discrete;
  const bool ids = values.defined() && values.dim() == 2 && values.scalar_type() == at::kLong;
  const bool vectors = values.defined() && values.dim() == 3 && values.is_floating_point() &&
                       values.size(2) == units.unit_dim;
  if (discrete ? !ids : !vectors)
    throw Error(who + ": expects " +
                (discrete ? std::string("[B, N] int64 unit ids")
                          : "[B, N, " + std::to_string(units.unit_dim) + "] float units") +
                ", got " + described(values));
  const int64_t rows = values.size(0), width = values.size(1);
  if (!shaped(batch.padding, {rows, width}, at::kBool))
    throw Error(who + ": padding must be [" + std::to_string(rows) + ", " + std::to_string(width) +
                "] bool, shaped like the units' first two axes; got " + described(batch.padding));
  if (static_cast<int64_t>(batch.sample_ids.size()) != rows)
    throw Error(who + ": the batch has " + std::to_string(rows) + " rows but " +
                std::to_string(batch.sample_ids.size()) + " sample ids");
  if (batch.grid.numel() != width)
    throw Error(who + ": the batch's grid " + batch.grid.to_string() + " holds " +
                std::to_string(batch.grid.numel()) + " units, but its rows hold " + std::to_string(width));
  if (discrete) check_ids(who, batch, units.vocab_size);
}

// What the result of a corruption in `mode` must look like, for a batch of
// `rows` rows of `width` units (cloze/core/corrupted.h).
void check_corrupted(const std::string& who, ReconstructionMode mode, const Corrupted& out, int64_t rows,
                     int64_t width) {
  const auto fail = [&](const std::string& what) {
    throw Error(who + " returned a " + to_string(out.mode) + " batch whose " + what +
                " (a bug in the corruption, not in the data)");
  };
  if (out.mode != mode) fail("mode is not the corruption's own, " + to_string(mode));
  if (!out.input.defined() || out.input.dim() < 2 || out.input.size(0) != rows)
    fail("input is " + described(out.input) + ", not [" + std::to_string(rows) + ", N_in, ...]");
  const int64_t seen = out.input.size(1);
  if (!shaped(out.input_positions, {rows, seen}, at::kLong))
    fail("input_positions is " + described(out.input_positions) + ", not [B, N_in] int64 like its input");
  if (!shaped(out.input_padding, {rows, seen}, at::kBool))
    fail("input_padding is " + described(out.input_padding) + ", not [B, N_in] bool like its input");
  if (!out.target.defined() || out.target.dim() < 2 || out.target.size(0) != rows)
    fail("target is " + described(out.target) + ", not [" + std::to_string(rows) + ", N_t, ...]");
  const int64_t scored = out.target.size(1);
  if (!shaped(out.loss_mask, {rows, scored}, at::kBool))
    fail("loss_mask is " + described(out.loss_mask) + ", not [B, N_t] bool like its target");
  if (out.input_masked.defined() && !shaped(out.input_masked, {rows, seen}, at::kBool))
    fail("input_masked is " + described(out.input_masked) + ", not [B, N_in] bool like its input");
  if (out.entry.defined() && !shaped(out.entry, {rows}, at::kLong))
    fail("entry is " + described(out.entry) + ", not [B] int64");
  switch (mode) {
    case ReconstructionMode::in_place:
    case ReconstructionMode::detect:
      if (seen != width || scored != width)
        fail("input has " + std::to_string(seen) + " units and target " + std::to_string(scored) +
             ", not the batch's " + std::to_string(width) + ": in place, every unit stays where it is");
      if (mode == ReconstructionMode::detect && out.target.scalar_type() != at::kLong)
        fail("target is " + described(out.target) + ", not [B, N] int64 replaced-or-kept labels");
      break;
    case ReconstructionMode::fill:
      if (scored != width) fail("target covers " + std::to_string(scored) + " units, not the grid's " +
                                std::to_string(width));
      if (out.target_padding.defined() && !shaped(out.target_padding, {rows, width}, at::kBool))
        fail("target_padding is " + described(out.target_padding) + ", not [B, N] bool over the grid");
      break;
    case ReconstructionMode::sequence:
      if (!shaped(out.decoder_input, {rows, scored}, at::kLong))
        fail("decoder_input is " + described(out.decoder_input) + ", not [B, N_t] int64 like its target");
      break;
  }
}

}  // namespace

void Corruption::prepare(const UnitSpec& units) {
  const std::string why = incompatibility(units);
  if (!why.empty()) throw Error(why);
  units_ = units;
  do_prepare(units_);
  prepared_ = true;
}

Corrupted Corruption::corrupt(const Batch& batch, uint64_t seed) const {
  if (!prepared_) throw Error(name_ + ": corrupt() called before prepare(units)");
  check_batch(name_, units_, batch);
  Corrupted out = do_corrupt(batch, seed);
  check_corrupted(name_, mode(), out, batch.size(), batch.units.size(1));
  return out;
}

}  // namespace cloze
