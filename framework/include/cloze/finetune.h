// Fine-tuning, the evaluation protocol of BERT (section 4) and MAE (appendix
// A.3): the encoder and a new linear head on its mean-pooled output, trained
// end to end with cross-entropy on the labelled train split, then scored on the
// held-out split. Applied alike to a pretrained encoder and to the same
// architecture at initialisation; the frozen-feature protocols are in probe.h.
#pragma once

#include <cstdint>

#include "cloze/modality.h"
#include "cloze/model.h"
#include "cloze/probe.h"

namespace cloze {

struct FinetuneOptions {
  int64_t epochs = 10;
  int64_t batch_size = 64;
  double lr = 3e-4;              // peak, for encoder and head alike (AdamW)
  double weight_decay = 0.05;    // on weight matrices and embeddings, not on biases and norms
  double warmup_fraction = 0.1;  // linear warmup, then cosine decay to 0
  uint64_t seed = 0;             // the order of samples each epoch, the head's init and dropout
};

// Trains `model`'s encoder plus a new linear head (on the encoder output
// mean-pooled over real units, exactly as encoder_features pools) end to end
// with cross-entropy on the labelled samples among evaluation_samples(train,
// max_train) (labelled_batches.h), then scores those among
// evaluation_samples(eval, max_eval). The model is changed
// in place: pass a copy. Returns the eval accuracy with per-sample outcomes.
//
// The classes are 1 + the largest label in either split (as linear_probe); the
// head starts from N(0, 0.02) weights (BERT's initializer range) and zero bias.
// Each epoch visits the labelled train samples in a shuffle keyed by (seed,
// epoch) (RngStream::data_order), batch_size at a time, the last batch partial.
// AdamW (betas 0.9, 0.999) at the learning rate of LrSchedule: warmup over
// round(warmup_fraction * steps) steps, then cosine to 0. The encoder trains
// in train mode (dropout on; the torch generators reseeded before each step
// from (seed, step), RngStream::dropout, as the trainer does) and is scored in
// eval mode without gradients; the model's training mode is restored at the
// end. Runs on the device of the model's parameters. Both splits are collated
// once more before training, to find their labelled samples and classes.
// Throws cloze::Error on a split without labelled samples or an option out of
// range, naming it.
ProbeResult finetune(DenoisingModel& model, const Dataset& train, const Dataset& eval, int64_t max_train,
                     int64_t max_eval, const FinetuneOptions& options = {});

}  // namespace cloze
