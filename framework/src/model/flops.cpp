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

// The stem and encoder blocks on `rows` inputs of `length` units.
double encoder_flops(const ModelOptions& options, const UnitSpec& units, double rows, double length) {
  const auto dim = static_cast<double>(options.dim);
  const double stem = units.kind == UnitKind::discrete ? 0 : 2 * rows * length * static_cast<double>(units.unit_dim) * dim;
  return stem + static_cast<double>(options.layers) * block_flops(rows, length, dim, mlp_hidden(dim, options.mlp_ratio), 0);
}

// ELECTRA's generator: the projection to its width, its blocks, and its MLM
// head over the `scored` masked units.
double generator_flops(const ModelOptions& options, const UnitSpec& units, double rows, double length, double scored) {
  const auto dim = static_cast<double>(options.dim), width = static_cast<double>(options.generator_width());
  const double projection = width != dim ? 2 * rows * length * dim * width : 0;
  const double blocks = static_cast<double>(options.generator_depth()) *
                        block_flops(rows, length, width, mlp_hidden(width, options.mlp_ratio), 0);
  return projection + blocks + 2 * scored * (width * dim + dim * static_cast<double>(units.vocab_size));
}

void check_batch(const Corrupted& batch) {
  if (!batch.input.defined() || batch.input.dim() < 2 || !batch.loss_mask.defined())
    throw Error("flops: the batch's input is " + shape_of(batch.input) + " and its loss_mask " +
                shape_of(batch.loss_mask) + ", expected [B, N_in, ...] and [B, N_t]");
}

double real_units(const Corrupted& batch) {
  const auto all = static_cast<double>(batch.input.size(0) * batch.input.size(1));
  return batch.input_padding.defined() ? all - static_cast<double>(batch.input_padding.sum().item<int64_t>()) : all;
}

}  // namespace

double forward_flops(const ModelOptions& options, const UnitSpec& units, const Corrupted& batch) {
  check_batch(batch);
  const bool discrete = units.kind == UnitKind::discrete;
  const auto rows = static_cast<double>(batch.input.size(0));
  const auto input_length = static_cast<double>(batch.input.size(1));
  const auto scored = static_cast<double>(batch.loss_mask.sum().item<int64_t>());
  const auto dim = static_cast<double>(options.dim);
  const auto unit_dim = static_cast<double>(units.unit_dim);
  const auto vocab = static_cast<double>(units.vocab_size);

  double flops = encoder_flops(options, units, rows, input_length);

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
  if (options.latent_target()) return flops + 2 * scored * dim * dim;                            // the regression head
  if (!discrete) return flops + 2 * scored * head_width * unit_dim;                               // values out
  return flops + 2 * scored * (dim * dim + dim * vocab);  // BERT's dense transform, then the vocabulary
}

double training_flops(const ModelOptions& options, const UnitSpec& units, const Corrupted& batch) {
  check_batch(batch);
  const auto rows = static_cast<double>(batch.input.size(0)), length = static_cast<double>(batch.input.size(1));
  if (options.generator > 0) {
    // The generator on the masked batch, then the discriminator scoring every real unit.
    const auto masked = static_cast<double>(batch.loss_mask.sum().item<int64_t>());
    const auto dim = static_cast<double>(options.dim);
    const double discriminator = encoder_flops(options, units, rows, length) + 2 * real_units(batch) * (dim * dim + dim);
    return 3 * (generator_flops(options, units, rows, length, masked) + discriminator);
  }
  // data2vec's teacher runs forward only, on the whole clean input.
  const double teacher = options.latent_target() ? encoder_flops(options, units, rows, length) : 0;
  return 3 * forward_flops(options, units, batch) + teacher;
}

}  // namespace cloze
