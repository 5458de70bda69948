// The comparison's evidence: metrics read back, seeds grouped into runs,
// scores with intervals, differences between runs, and the verdicts.
#include "cloze/evaluate/comparison.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cloze/core/error.h"

namespace fs = std::filesystem;

namespace cloze {

// ---------------------------------------------------------------- metrics

namespace {

std::optional<double> number_at(const nlohmann::json& record, const char* key) {
  const auto it = record.find(key);
  if (it == record.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

}  // namespace

void read_metrics(const fs::path& metrics_jsonl, RunResult& into) {
  std::ifstream in(metrics_jsonl);
  if (!in) throw Error("cannot read metrics file " + metrics_jsonl.string());
  std::map<int64_t, nlohmann::json> evals;  // by step; a later line for the same step wins
  double units_sum = 0;
  int64_t units_count = 0, last_step = -1, flops_step = -1;
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) continue;
    const auto step = record.find("step");
    const auto split = record.find("split");
    if (step == record.end() || !step->is_number() || split == record.end() || !split->is_string()) continue;
    const auto at = step->get<int64_t>();
    last_step = std::max(last_step, at);
    if (*split == "eval") {
      evals[at] = record;
    } else if (*split == "train") {
      if (const auto units = number_at(record, "units_per_s")) {
        units_sum += *units;
        ++units_count;
      }
      if (const auto flops = number_at(record, "flops"); flops && at >= flops_step) {
        into.train_flops = *flops;
        flops_step = at;
      }
    }
  }
  if (in.bad()) throw Error("cannot read metrics file " + metrics_jsonl.string());
  if (evals.empty()) throw Error("metrics file " + metrics_jsonl.string() + " has no eval line");

  into.eval_curve.clear();
  for (const auto& [at, record] : evals)
    if (const auto loss = number_at(record, "loss")) into.eval_curve.emplace_back(at, *loss);
  const auto& last = evals.rbegin()->second;
  into.final_loss = number_at(last, "loss").value_or(std::nan(""));  // a diverged run logs null
  if (const auto accuracy = number_at(last, "masked_accuracy")) into.masked_accuracy = accuracy;
  if (const auto psnr = number_at(last, "psnr")) into.psnr = psnr;
  into.steps = last_step;
  if (units_count > 0) into.units_per_s = units_sum / static_cast<double>(units_count);
}

// ---------------------------------------------------------------- grouping and statistics

std::vector<RunSeeds> by_run(const std::vector<RunResult>& results) {
  std::vector<RunSeeds> runs;
  for (const auto& result : results) {
    const auto same = std::find_if(runs.begin(), runs.end(),
                                   [&](const RunSeeds& run) { return run.first().name == result.name; });
    if (same == runs.end()) runs.push_back({{&result}});
    else same->seeds.push_back(&result);
  }
  for (auto& run : runs)
    std::stable_sort(run.seeds.begin(), run.seeds.end(),
                     [](const RunResult* a, const RunResult* b) { return a->seed < b->seed; });
  return runs;
}

std::vector<const Score*> scores_of(const RunSeeds& run, const std::string& protocol, Encoder encoder) {
  std::vector<const Score*> scores;
  for (const auto* seed : run.seeds) {
    const auto found = seed->protocols.find(protocol);
    if (found == seed->protocols.end()) continue;
    const ProtocolScores& scored = found->second;
    if (encoder == Encoder::trained) scores.push_back(&scored.trained);
    else if (encoder == Encoder::random_init) scores.push_back(&scored.random_init);
    else if (scored.raw) scores.push_back(&*scored.raw);
  }
  return scores;
}

Estimate estimate(const std::vector<const Score*>& scores) {
  if (scores.empty()) throw Error("comparison: no score to estimate");
  // One seed, or outcomes the seed does not change (the raw inputs): the only
  // noise left is that of the eval samples.
  const bool seed_free = std::all_of(scores.begin(), scores.end(),
                                     [&](const Score* score) { return score->correct == scores[0]->correct; });
  if (seed_free) return bootstrap_estimate(scores[0]->correct);
  std::vector<double> accuracies;
  for (const auto* score : scores) accuracies.push_back(score->accuracy);
  Estimate over_seeds = seed_estimate(accuracies);
  // An accuracy lies in [0, 1]; the t interval is symmetric and, with few
  // seeds near either end, reaches past it, where it says nothing.
  over_seeds.interval = {std::max(over_seeds.interval.low, 0.0), std::min(over_seeds.interval.high, 1.0)};
  return over_seeds;
}

Difference difference(const std::vector<const Score*>& a, const std::vector<const Score*>& b) {
  if (a.size() != b.size() || a.empty())
    throw Error("comparison: cannot pair " + std::to_string(a.size()) + " seeds with " + std::to_string(b.size()));
  if (a.size() > 1) {
    std::vector<double> left, right;
    for (std::size_t k = 0; k < a.size(); ++k) {
      left.push_back(a[k]->accuracy);
      right.push_back(b[k]->accuracy);
    }
    return paired_seed_difference(left, right);
  }
  if (a[0]->correct.size() == b[0]->correct.size()) return paired_bootstrap_difference(a[0]->correct, b[0]->correct);
  // Different eval samples (text objectives that cut the corpus into chunks of
  // other lengths): nothing to pair, so the two bootstraps are independent.
  const Estimate left = bootstrap_estimate(a[0]->correct), right = bootstrap_estimate(b[0]->correct);
  Difference d;
  d.mean = left.mean - right.mean;
  const double half = 1.959964 * std::hypot(left.std, right.std);  // the normal 97.5% quantile
  d.interval = {d.mean - half, d.mean + half};
  d.method = "independent bootstraps over " + std::to_string(left.count) + " and " + std::to_string(right.count) +
             " eval samples";
  return d;
}

// ---------------------------------------------------------------- verdicts

namespace {


std::string points(const Difference& d) { return difference_text(d) + " points"; }

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i)
    text += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return text;
}

struct Ranked {
  const RunSeeds* run;
  std::vector<const Score*> scores;
  Estimate score;
};

// a - b over the seeds both have. Seeds finish in order (1, 2, ...), so while
// a sweep is still running the common seeds are the shorter list's.
Difference common_difference(const Ranked& a, const Ranked& b) {
  const std::size_t n = std::min(a.scores.size(), b.scores.size());
  return difference({a.scores.begin(), a.scores.begin() + static_cast<std::ptrdiff_t>(n)},
                    {b.scores.begin(), b.scores.begin() + static_cast<std::ptrdiff_t>(n)});
}

std::string verdict(const std::string& modality, const std::string& protocol, const std::vector<RunSeeds>& runs) {
  std::vector<Ranked> ranked;
  for (const auto& run : runs) {
    if (run.first().modality != modality) continue;
    auto scores = scores_of(run, protocol, Encoder::trained);
    if (!scores.empty()) ranked.push_back({&run, scores, estimate(scores)});
  }
  if (ranked.empty()) return "";
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) { return a.score.mean > b.score.mean; });
  const auto label = [](const Ranked& r) { return r.run->first().name + " " + percent_text(r.score.mean); };

  std::string sentence = modality + ", " + protocol_title(protocol) + ": ";
  const Ranked& best = ranked[0];
  if (ranked.size() == 1) {
    sentence += label(best) + ", the only run";
  } else {
    // Level: the runs whose difference to the best includes 0; behind: the
    // runs the best leads beyond noise. Nothing is said of the order within
    // either group, nor between a level run and one behind.
    std::vector<std::string> level{label(best)}, behind;
    const Ranked* lowest_level = nullptr;
    for (std::size_t i = 1; i < ranked.size(); ++i) {
      if (common_difference(best, ranked[i]).separated()) {
        behind.push_back(label(ranked[i]));
      } else {
        level.push_back(label(ranked[i]));
        lowest_level = &ranked[i];
      }
    }
    if (lowest_level == nullptr) {
      const Difference lead = common_difference(best, ranked[1]);
      sentence += fmt::format("{} leads, {} over the runner-up {} ({}), beyond noise", label(best), points(lead),
                              label(ranked[1]), lead.method);
    } else {
      const Difference gap = common_difference(best, *lowest_level);
      sentence += fmt::format("{} are level within noise ({} against {}: {}, {}, includes 0)", joined(level),
                              best.run->first().name, lowest_level->run->first().name, points(gap), gap.method);
      if (!behind.empty()) sentence += "; " + best.run->first().name + " leads " + joined(behind) + " beyond noise";
    }
  }
  // Each run against the same architecture at its initialisation.
  std::vector<std::string> beat, not_beat;
  for (const auto& r : ranked) {
    const auto initial = scores_of(*r.run, protocol, Encoder::random_init);
    if (initial.size() != r.scores.size()) continue;
    const Difference gain = difference(r.scores, initial);
    (gain.separated() && gain.mean > 0 ? beat : not_beat).push_back(r.run->first().name + " " + points(gain));
  }
  if (!beat.empty()) sentence += "; beyond its random-init encoder: " + joined(beat);
  if (!not_beat.empty()) sentence += "; not beyond its random-init encoder: " + joined(not_beat);
  return sentence + ".";
}

}  // namespace

std::string protocol_title(const std::string& protocol) {
  if (protocol == "linear") return "linear probe";
  if (protocol == "knn") return "kNN (k = 20)";
  if (protocol == "finetune") return "fine-tuning";
  return protocol;
}

std::string percent_text(double fraction) { return fmt::format("{:.1f}%", 100 * fraction); }

std::string difference_text(const Difference& d) {
  // Points with one decimal; a difference that rounds to zero prints +0.0, never -0.0.
  const auto shown = [](double fraction) { return std::fabs(fraction) < 5e-4 ? 0.0 : 100 * fraction; };
  return fmt::format("{:+.1f} [{:+.1f}, {:+.1f}]", shown(d.mean), shown(d.interval.low), shown(d.interval.high));
}

std::string verdicts(const std::vector<RunResult>& results, const std::vector<std::string>& protocols) {
  const auto runs = by_run(results);
  std::vector<std::string> modalities;
  for (const auto& run : runs)
    if (std::find(modalities.begin(), modalities.end(), run.first().modality) == modalities.end())
      modalities.push_back(run.first().modality);
  std::string text;
  for (const auto& modality : modalities)
    for (const auto& protocol : protocols)
      if (auto sentence = verdict(modality, protocol, runs); !sentence.empty()) text += sentence + "\n";
  return text;
}

}  // namespace cloze
