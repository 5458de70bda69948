// The report of a comparison sweep (cloze/comparison.h holds what it shows):
// Markdown tables for report.md and the terminal, the verdicts, and a
// self-contained report.html with the same tables, one plot per modality and
// protocol of each run's score against its training FLOPs with error bars (the
// objectives' cost-quality frontier), and the previews embedded.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cloze/evaluate/comparison.h"

namespace cloze {

// Markdown, columns padded so that it also reads on a terminal:
// - pretraining, one row per run: run, modality, objective, mode, parameters,
//   seeds, steps, final masked loss (mean over seeds), masked accuracy or
//   PSNR, the unigram predictor's masked accuracy, training FLOPs per seed,
//   units/s, wall time per seed, peak memory;
// - each protocol, one row per run: seeds, the pretrained encoder's score,
//   its random-init encoder's, the gain over it, and the raw input's, each
//   "mean% ± std [low, high]" with the 95% interval (cloze::estimate);
// - the tasks, one row per modality: classes, eval samples, majority class.
// A value that does not apply is "–".
std::string results_table(const std::vector<RunResult>& results, const std::vector<std::string>& protocols);

// Writes dir/report.md (title, tables, verdicts, pictures linked relative to
// dir, text samples in code blocks) and dir/report.html, self-contained: the
// tables, the verdicts, the score-against-FLOPs plots as inline SVG, the
// pictures as base64 data: URIs and the text samples escaped in <pre>. Each
// file is written to a temporary name in dir and renamed, so an interrupted
// run never leaves half a report. Throws cloze::Error naming the path when dir
// is missing, a picture cannot be read or a file cannot be written.
void write_report(const std::filesystem::path& dir, const std::string& title, const std::vector<RunResult>& results,
                  const std::vector<std::string>& protocols);

}  // namespace cloze
