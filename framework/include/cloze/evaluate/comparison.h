// What a comparison sweep measured, and what it may conclude. A run of the
// sweep is pretrained once per seed; each seed's encoder is scored by every
// protocol of the sweep beside two baselines through the same protocol (the
// same architecture at its initialisation, and the raw inputs), and the task's
// own baselines (the majority class; for text, the unigram predictor's masked
// accuracy). A score is the mean over seeds with a t interval, or with one
// seed a bootstrap interval over the eval samples (cloze/statistics.h). A
// verdict names a winner only when its lead holds beyond the interval of the
// difference; otherwise it says the runs are level within noise.
//
// Accuracies are fractions in [0, 1] here and percentages on the page.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cloze/evaluate/statistics.h"

namespace cloze {

// One protocol's result on one encoder: its accuracy and each eval sample's
// outcome (1 = right), in eval order, for the bootstrap.
struct Score {
  double accuracy = 0;
  std::vector<uint8_t> correct;
  double chosen_lr = 0;  // fine-tuning: the learning rate validation chose (0: a frozen-feature protocol)
};

// One protocol on one seed: the pretrained encoder, the same architecture at
// its initialisation, and the raw inputs (none for fine-tuning, which trains
// an encoder).
struct ProtocolScores {
  Score trained, random_init;
  std::optional<Score> raw;
};

// One seed of one run: pretrained, then evaluated.
struct RunResult {
  std::string name;        // the run's name in the sweep, shared by its seeds: "image-mae"
  int64_t seed = 1;        // 1 .. sweep seeds
  std::string modality;    // "image"
  std::string objective;   // corruption name, "patch_mask"
  std::string mode;        // "fill", "in_place", "sequence", "detect"
  std::string parameters;  // key parameters, short: "ratio=0.75 pattern=random"
  int64_t steps = 0;
  double final_loss = 0;                   // last eval masked loss
  std::optional<double> masked_accuracy;   // discrete units
  std::optional<double> unigram_accuracy;  // discrete units: the most frequent target id's share of the masked units
  std::optional<double> psnr;              // continuous units, dB
  std::map<std::string, ProtocolScores> protocols;  // by protocol name (cloze/sweep.h)
  double majority_accuracy = 0;  // the train split's most frequent class, scored on eval
  int64_t classes = 0;
  double train_flops = 0;        // cloze/flops.h; NaN when unknown
  double units_per_s = 0, wall_seconds = 0, peak_memory_mb = 0;
  std::vector<std::pair<int64_t, double>> eval_curve;  // (step, eval masked loss), by step
  std::vector<std::filesystem::path> pictures;         // preview PNGs (image, audio)
  std::string text_samples;                            // preview text (text modality), may be empty
};

// Reads a run folder's metrics.jsonl into `into`, leaving its other fields:
// - eval_curve: (step, loss) of every eval line, by step; when a step appears
//   twice (a resumed run) the later line wins;
// - final_loss and masked_accuracy from the eval line of the last step, psnr
//   too when that line carries one. The trainer logs masked_accuracy 0 for
//   continuous units: the caller resets it there (it knows the unit kind);
// - steps: the largest step of any line;
// - units_per_s: the mean of the train lines' units_per_s (kept when none);
// - train_flops: the last train line's flops (kept when none).
// Blank lines and lines that are not JSON objects are skipped. Throws
// cloze::Error naming the file when it cannot be read or has no eval line.
void read_metrics(const std::filesystem::path& metrics_jsonl, RunResult& into);

// A run of the sweep: its seeds, in seed order.
struct RunSeeds {
  std::vector<const RunResult*> seeds;
  const RunResult& first() const { return *seeds.front(); }
};

// The results grouped by run name, in order of first appearance.
std::vector<RunSeeds> by_run(const std::vector<RunResult>& results);

// Which of the three scores a protocol gave.
enum class Encoder { trained, random_init, raw };

// The scores of `encoder` under `protocol` over the seeds that have them.
std::vector<const Score*> scores_of(const RunSeeds& run, const std::string& protocol, Encoder encoder);

// Mean over seeds with a t interval (2 or more seeds), or the one seed's
// accuracy with a bootstrap interval over its eval samples; the same
// bootstrap when every seed has the same outcomes (the raw inputs do not
// depend on the seed), rather than a t interval of zero width. Throws
// cloze::Error when `scores` is empty.
Estimate estimate(const std::vector<const Score*>& scores);

// a - b: paired over seeds (seed k with seed k) with 2 or more seeds; with one
// seed, a paired bootstrap over eval samples when both scored the same number
// of samples, else the difference of two independent bootstraps (normal
// approximation). Throws cloze::Error on different seed counts.
Difference difference(const std::vector<const Score*>& a, const std::vector<const Score*>& b);

// "linear probe", "kNN (k = 20)", "fine-tuning": how tables and plots name a protocol.
std::string protocol_title(const std::string& protocol);

// An accuracy as the report prints it: 0.423 -> "42.3%".
std::string percent_text(double fraction);

// A difference in points: "+3.2 [+2.1, +4.3]", the mean and its interval.
std::string difference_text(const Difference& d);

// One sentence per (modality, protocol), one per line, modalities in order of
// first appearance and protocols in `protocols` order: the ranking where it
// holds beyond noise, "level within noise" with the numbers where it does not,
// and each run against its random-init encoder.
std::string verdicts(const std::vector<RunResult>& results, const std::vector<std::string>& protocols);

}  // namespace cloze
