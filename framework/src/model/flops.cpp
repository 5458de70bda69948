#include "cloze/model/flops.h"

#include "cloze/core/error.h"
#include "cloze/core/shape_text.h"

namespace cloze {

namespace {

// Matrix products of one pre-LN block on `rows` sequences of `length` units,
// width `dim`, MLP width `hidden`, attending to `keys` units of its own input
// (self) plus `memory` units of an encoder's output (cross, 0 for none).
double block_flops(double rows, double length, double dim, double hidden, double memory) {
  const double self = 8 * length * dim * dim + 4 * length * length * dim;  // qkv, out; scores, values
  const double cross = memory > 0 ? 4 * length * dim * dim + 4 * memory * dim * dim + 4 * length * memory * dim : 0;
  const double mlp = 4 * length * dim * hidden;  // fc1 and fc2
  return rows * (self + cross + mlp);
}

double mlp_hidden(double dim, double ratio) { return static_cast<double>(static_cast<int64_t>(dim * ratio)); }

}  // namespace

double forward_flops(const ModelOptions& options, const UnitSpec& units, const Corrupted& batch) {
  if (!batch.input.defined() || batch.input.dim() < 2 || !batch.loss_mask.defined())
    throw Error("flops: the batch's input is " + shape_of(batch.input) + " and its loss_mask " +
                shape_of(batch.loss_mask) + ", expected [B, N_in, ...] and [B, N_t]");
  const bool discrete = units.kind == UnitKind::discrete;
  const auto rows = static_cast<double>(batch.input.size(0));
  const auto input_length = static_cast<double>(batch.input.size(1));
  const auto scored = static_cast<double>(batch.loss_mask.sum().item<int64_t>());
  const auto dim = static_cast<double>(options.dim);
  const auto unit_dim = static_cast<double>(units.unit_dim);
  const auto vocab = static_cast<double>(units.vocab_size);

  double flops = discrete ? 0 : 2 * rows * input_length * unit_dim * dim;  // the patch stem
  flops += static_cast<double>(options.layers) *
           block_flops(rows, input_length, dim, mlp_hidden(dim, options.mlp_ratio), 0);

  double head_width = dim;
  switch (batch.mode) {
    case ReconstructionMode::sequence: {
      const auto target_length = static_cast<double>(batch.decoder_input.size(1));
      flops += static_cast<double>(options.decoder_depth()) *
               block_flops(rows, target_length, dim, mlp_hidden(dim, options.mlp_ratio), input_length);
      break;
    }
    case ReconstructionMode::fill: {
      const auto width = static_cast<double>(options.fill_width());
      const auto grid = static_cast<double>(batch.target.size(1));
      flops += 2 * rows * input_length * dim * width;  // the encoder's output into the decoder's width
      flops += static_cast<double>(options.decoder_depth()) *
               block_flops(rows, grid, width, mlp_hidden(width, options.mlp_ratio), 0);
      head_width = width;
      break;
    }
    case ReconstructionMode::in_place:
    case ReconstructionMode::detect:
      break;
  }

  if (batch.mode == ReconstructionMode::detect) return flops + 2 * scored * (dim * dim + dim);  // dense, one logit
  if (!discrete) return flops + 2 * scored * head_width * unit_dim;                               // values out
  return flops + 2 * scored * (dim * dim + dim * vocab);  // BERT's dense transform, then the vocabulary
}

double training_flops(const ModelOptions& options, const UnitSpec& units, const Corrupted& batch) {
  return 3 * forward_flops(options, units, batch);
}

}  // namespace cloze
