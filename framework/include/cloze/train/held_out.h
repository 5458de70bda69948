// The held-out evaluation during training: masked loss and accuracy over the
// same eval batches at every eval, per mixture entry too, and in sequence mode
// what greedy decoding gets right; and the running sums a training interval
// keeps the same way.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cloze/core/corrupted.h"
#include "cloze/core/units.h"
#include "cloze/model/loss.h"
#include "cloze/model/model.h"

namespace cloze {

struct EvalResult {
  double loss = 0, accuracy = 0;
  int64_t count = 0;
  std::vector<EvalResult> entries;  // a mixture's, by Corrupted::entry
  std::vector<std::pair<std::string, EvalResult>> parts;  // the objective's named parts (objective.h)
};

// Running sums kept on the device, read back only when logged, so a CUDA step
// never waits on the host.
struct LossSums {
  at::Tensor weighted_loss, correct;
  int64_t count = 0;
  void add(const MaskedLoss& m);
  EvalResult read() const;
};

// LossSums of each named part of an objective, in the order first met.
struct PartSums {
  std::vector<std::pair<std::string, LossSums>> sums;
  void add(const std::vector<std::pair<std::string, MaskedLoss>>& parts);
  std::vector<std::pair<std::string, EvalResult>> read() const;
};

// Over every batch in eval mode without gradients, and for a mixture over each
// of its `entries` too; the model is left in train mode. The objective's
// loss (objective.h); ELECTRA's samples come from a fixed seed, so that every
// eval replaces the same way given the same generator.
EvalResult evaluate(DenoisingModel& model, const std::vector<Corrupted>& batches, const UnitSpec& units, bool bf16,
                    int64_t entries);

// Sequence mode: adds "decoded_accuracy" and "exact_match" of greedy decoding
// on `batch` to `record` (one batch keeps it cheap: generate() reruns the
// decoder for every token); other modes add nothing.
void add_decoding_score(DenoisingModel& model, const Corrupted& batch, nlohmann::json& record);

}  // namespace cloze
