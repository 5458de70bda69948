// The report of a comparison sweep: several objectives trained on several
// modalities, each encoder probed, shown side by side. One Markdown table (for
// report.md and the terminal), one verdict sentence per modality, and a
// self-contained report.html with the same table, an SVG plot of the eval
// curves per modality and the previews embedded.
//
// Accuracies are fractions in [0, 1] here and percentages on the page.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cloze {

// One trained and probed run of a sweep.
struct RunResult {
  std::string name;        // "image-mae"
  std::string modality;    // "image"
  std::string objective;   // corruption name, "patch_mask"
  std::string mode;        // "fill", "in_place", "sequence"
  std::string parameters;  // key parameters, short: "ratio=0.75 pattern=random"
  int64_t steps = 0;
  double final_loss = 0;                  // last eval masked loss
  std::optional<double> masked_accuracy;  // discrete units
  std::optional<double> psnr;             // continuous units, dB
  double probe_accuracy = 0, random_probe_accuracy = 0, raw_probe_accuracy = 0;
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
// - units_per_s: the mean of the train lines' units_per_s (kept when none).
// Blank lines and lines that are not JSON objects are skipped. Throws
// cloze::Error naming the file when it cannot be read or has no eval line.
void read_metrics(const std::filesystem::path& metrics_jsonl, RunResult& into);

// The Markdown table, one row per run, columns padded so that it also reads on
// a terminal: run, modality, objective, mode, parameters, steps, final masked
// loss (4 significant digits), masked accuracy / PSNR (a percentage with one
// decimal, or dB), probe accuracy, random-init probe, raw-input probe (the
// three in percent), units/s, wall time ("1 min 23 s"), peak memory (MB).
// A value that does not apply (no accuracy and no PSNR, empty parameters)
// is "–".
std::string results_table(const std::vector<RunResult>& runs);

// One sentence per modality (in order of first appearance, one per line):
// the run whose encoder probes best, by how many points it leads the
// runner-up, and how it stands against its random-init and raw-input
// baselines, saying so plainly when pretraining did not beat the random-init
// encoder.
std::string verdicts(const std::vector<RunResult>& runs);

// Writes dir/report.md (title, table, verdicts, pictures linked relative to
// dir, text samples in code blocks) and dir/report.html, self-contained: the
// table, the verdicts, one inline SVG plot per modality of eval masked loss
// against step, the pictures embedded as base64 data: URIs and the text
// samples escaped in <pre>. Each file is written to a temporary name in dir
// and renamed, so an interrupted run never leaves half a report. Throws
// cloze::Error naming the path when dir is missing, a picture cannot be read
// or a file cannot be written.
void write_report(const std::filesystem::path& dir, const std::string& title, const std::vector<RunResult>& runs);

}  // namespace cloze
