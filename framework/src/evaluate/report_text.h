// The report's numbers and names as text: the cells of its tables
// (report.cpp) and the labels and tooltips of its plots (flops_plot.cpp).
// Used only by the report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "cloze/evaluate/comparison.h"

namespace cloze {

// A value that does not apply: "–", U+2013.
inline const std::string kMissing = "\xE2\x80\x93";

std::string grouped(int64_t n);                  // 1234567 -> "1,234,567"
std::string rounded(double value);               // grouped to the nearest integer; "inf", "nan" as they are
std::string loss_text(double loss);              // 4 significant digits
std::string duration_text(double seconds);       // "42 s", "1 min 23 s", "2 h 5 min 0 s"
std::string flops_text(double flops);            // "12.3 TFLOP"; kMissing unless finite and positive
std::string estimate_text(const Estimate& e);    // "81.2% ± 0.4 [80.2, 82.2]", the mean alone without an interval
std::string or_missing(const std::string& text); // kMissing for empty text

// Display width of UTF-8 text: code points, not bytes.
std::size_t width_of(const std::string& text);

// Text with & < > " ' escaped, for HTML and SVG text and attributes.
std::string html_escaped(const std::string& text);

// The mean over seeds of one number of each seed.
template <typename Field>
double mean_over(const RunSeeds& run, Field field) {
  double sum = 0;
  for (const auto* seed : run.seeds) sum += field(*seed);
  return sum / static_cast<double>(run.seeds.size());
}

}  // namespace cloze
