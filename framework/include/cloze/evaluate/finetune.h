// Fine-tuning, the evaluation protocol of BERT (section 4) and MAE (appendix
// A.3): the encoder and a new linear head on its mean-pooled output, trained
// end to end with cross-entropy on the labelled train split, then scored on the
// held-out split. Applied alike to a pretrained encoder and to the same
// architecture at initialisation; the frozen-feature protocols are in probe.h.
#pragma once

#include <cstdint>
#include <vector>

#include "cloze/core/modality.h"
#include "cloze/evaluate/probe.h"
#include "cloze/model/model.h"

namespace cloze {

struct FinetuneOptions {
  int64_t steps = 300;                       // AdamW steps per candidate learning rate
  int64_t batch_size = 32;
  std::vector<double> lrs{1e-4, 3e-4, 1e-3};  // peak candidates, encoder and head alike
  double validation_fraction = 0.2;           // of the labelled train samples, held out to choose the lr
  double weight_decay = 0.05;                 // on weight matrices and embeddings, not on biases and norms
  double warmup_fraction = 0.1;               // linear warmup, then cosine decay to 0
  bool head_from_probe = true;                // start the head at the linear probe (LP-FT), else at random
  uint64_t seed = 0;                          // the order of samples each epoch, a random head's init and dropout
};

// Trains `model`'s encoder plus a new linear head (on the encoder output
// mean-pooled over real units, exactly as encoder_features pools) end to end
// with cross-entropy, once per candidate learning rate, keeps the candidate
// that classifies a held-out validation share of the train samples best, and
// scores it on the eval samples: the learning rate is chosen without looking
// at eval, as a researcher tuning on a dev set. The train samples are the
// labelled ones among evaluation_samples(train, max_train) (labelled_batches.h),
// of which validation_fraction (at least one sample) is held out, the same
// ones for every seed and run (a fixed Philox key, RngStream::evaluation); the
// eval samples are the labelled ones among evaluation_samples(eval, max_eval).
// The model ends with the chosen candidate's weights: pass a copy. Returns the
// eval accuracy with per-sample outcomes, the samples fitted on (train minus
// validation) and the chosen learning rate.
//
// The budget is set in steps, not epochs, so that a small labelled set still
// gets enough updates (MAE fine-tunes for 100 epochs of ImageNet; 4 epochs of
// 1,000 samples were only 64 steps). Each candidate starts from the model as
// given and the same head. By default that head is the linear probe
// (fit_linear_head, probe.h) on the frozen encoder's features of the fitted
// samples, folded into one linear layer: LP-FT (Kumar et al. 2022), because a
// random head's first large gradients distort pretrained features, and on a
// short budget left fine-tuning below the linear probe on the same encoder.
// With head_from_probe false it is N(0, 0.02) weights (BERT's initializer
// range) and zero bias drawn from the seed, as BERT and MAE start it. The
// classes are 1 + the largest label in either split. Epochs visit the fitted samples in a shuffle keyed by (seed, epoch)
// (RngStream::data_order), batch_size at a time, until `steps` steps are done.
// AdamW (betas 0.9, 0.999) at the learning rate of LrSchedule: warmup over
// round(warmup_fraction * steps) steps, then cosine to 0. The encoder trains in
// train mode (dropout on; the torch generators reseeded before each step from
// (seed, step), RngStream::dropout, as the trainer does) and is scored in eval
// mode without gradients; the model's training mode is restored at the end.
// Runs on the device of the model's parameters. Ties between candidates go to
// the smaller learning rate. Throws cloze::Error on a split without labelled
// samples, a train split too small to hold out validation, or an option out of
// range, naming it.
ProbeResult finetune(DenoisingModel& model, const Dataset& train, const Dataset& eval, int64_t max_train,
                     int64_t max_eval, const FinetuneOptions& options = {});

}  // namespace cloze
