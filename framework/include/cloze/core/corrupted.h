// What a corruption hands the model: the damaged input, what to reconstruct,
// and where the loss counts.
//
// Mask convention, used everywhere in cloze: in `loss_mask`, true = corrupted,
// the model is scored here; false = kept, not scored.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace cloze {

// How the model reconstructs what a corruption hid (see DESIGN.md).
enum class ReconstructionMode {
  in_place,  // encoder sees the full-length corrupted sequence; head predicts every position
  fill,      // encoder sees kept units only; a light decoder fills the dropped positions:
             // input holds the kept units with their grid positions, target every unit of
             // the grid [B, N], loss_mask the dropped ones
  sequence,  // encoder-decoder; the decoder is teacher-forced on the target sequence
  detect,    // encoder sees the full-length corrupted sequence; a binary head says of every
             // unit whether the corruption replaced it (ELECTRA's discriminator): target
             // [B, N] int64, 1 = replaced, 0 = kept, loss_mask every real unit
};

std::string to_string(ReconstructionMode mode);

struct Corrupted {
  ReconstructionMode mode = ReconstructionMode::in_place;

  at::Tensor input;            // [B, N_in] ids or [B, N_in, D] values seen by the encoder
  at::Tensor input_positions;  // [B, N_in] int64 flat grid position of each input unit
  at::Tensor input_padding;    // [B, N_in] bool, true = filler, never attended to

  at::Tensor target;           // [B, N_t] ids or [B, N_t, D] values to reconstruct
  at::Tensor loss_mask;        // [B, N_t] bool, true = corrupted, counts in the loss

  at::Tensor decoder_input;    // [B, N_t] teacher-forcing input, sequence mode only

  // Continuous units in place (SimMIM): [B, N_in] bool, true = the model
  // replaces this unit with its learned mask embedding. Undefined = none.
  at::Tensor input_masked;
  // Fill mode: [B, N_t] bool over the whole grid, true = filler (after a
  // sample's end) that the fill decoder never attends to. Undefined = none.
  at::Tensor target_padding;
  // Mixtures (cloze/mixture.h): [B] int64, the entry each row drew, an index
  // into the corruption's entry_labels(). Undefined otherwise.
  at::Tensor entry;
};

}  // namespace cloze
