#include "cloze/train/held_out.h"

#include <torch/utils.h>

#include <algorithm>

#include "cloze/train/decoding_score.h"
#include "cloze/model/objective.h"
#include "cloze/train/device.h"

namespace cloze {

namespace {
constexpr uint64_t kEvalSamplingSeed = 0x5eed;
}  // namespace

void LossSums::add(const MaskedLoss& m) {
  const at::Tensor loss = m.loss.detach().to(at::kDouble) * static_cast<double>(m.count);
  weighted_loss = weighted_loss.defined() ? weighted_loss + loss : loss;
  correct = correct.defined() ? correct + m.correct : m.correct;
  count += m.count;
}

EvalResult LossSums::read() const {
  if (count == 0) return {};
  return {weighted_loss.item<double>() / static_cast<double>(count),
          correct.item<double>() / static_cast<double>(count), count, {}, {}};
}

void PartSums::add(const std::vector<std::pair<std::string, MaskedLoss>>& parts) {
  for (const auto& part : parts) {
    auto found = std::find_if(sums.begin(), sums.end(), [&](const auto& sum) { return sum.first == part.first; });
    if (found == sums.end()) found = sums.insert(sums.end(), {part.first, LossSums()});
    found->second.add(part.second);
  }
}

std::vector<std::pair<std::string, EvalResult>> PartSums::read() const {
  std::vector<std::pair<std::string, EvalResult>> results;
  for (const auto& [name, sum] : sums) results.emplace_back(name, sum.read());
  return results;
}

EvalResult evaluate(DenoisingModel& model, const std::vector<Corrupted>& batches, const UnitSpec& units, bool bf16,
                    int64_t entries) {
  torch::NoGradGuard no_grad;
  model->eval();
  // Training reseeds the generators before every step (trainer.cpp), so this
  // takes nothing from its streams.
  torch::manual_seed(kEvalSamplingSeed);
  LossSums sums;
  PartSums part_sums;
  std::vector<LossSums> entry_sums(static_cast<std::size_t>(entries));
  for (const auto& batch : batches) {
    AutocastGuard autocast(batch.input.device(), bf16);
    ObjectiveLoss objective = objective_loss(model, batch, units);
    sums.add(objective.loss);
    part_sums.add(objective.parts);
    // A mixture's entries split the corruption's own target.
    if (entries == 0 || !objective.predictions.defined()) continue;
    const at::Tensor& predictions = objective.predictions;
    const std::vector<MaskedLoss> per_entry = masked_loss_per_entry(predictions, batch, units, entries);
    for (std::size_t e = 0; e < per_entry.size(); ++e) entry_sums[e].add(per_entry[e]);
  }
  model->train();
  EvalResult result = sums.read();
  for (const auto& entry : entry_sums) result.entries.push_back(entry.read());
  result.parts = part_sums.read();
  return result;
}

void add_decoding_score(DenoisingModel& model, const Corrupted& batch, nlohmann::json& record) {
  if (batch.mode != ReconstructionMode::sequence) return;
  torch::NoGradGuard no_grad;
  const DecodingScore score = score_greedy_decoding(model, batch);
  model->train();
  record["decoded_accuracy"] = score.token_accuracy;
  record["exact_match"] = score.exact_match;
}

}  // namespace cloze
