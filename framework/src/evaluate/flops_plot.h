// The report's cost-quality plot: a protocol's accuracy against training
// FLOPs as inline SVG, for report.html. Used only by the report.
#pragma once

#include <string>
#include <vector>

#include "cloze/evaluate/comparison.h"

namespace cloze {

// The runs of `modality` scored by `protocol`, accuracy against training FLOPs
// (log scale): one point per run with its interval as an error bar, its
// random-init encoder as a hollow marker at the same cost, and the majority
// class as a dashed line; a legend names the runs. "" when no run of the
// modality has both a score and a positive cost.
std::string flops_plot(const std::string& modality, const std::string& protocol, const std::vector<RunSeeds>& runs);

}  // namespace cloze
