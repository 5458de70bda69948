// Corrupted batches as named tensors, for inspection outside cloze
// (`cloze corrupt` writes them to a safetensors file).
#pragma once

#include <cstdint>

#include "cloze/data/pipeline.h"
#include "cloze/io/safetensors.h"

namespace cloze {

// The first `batches` training batches, each field under "<batch>.<field>":
// units, padding, input, input_positions, input_padding, target, loss_mask and,
// where the corruption makes them, decoder_input, input_masked, target_padding
// and a mixture's entry per row.
TensorMap dump_corrupted_batches(const Pipeline& pipeline, int64_t batches, int64_t batch_size);

}  // namespace cloze
