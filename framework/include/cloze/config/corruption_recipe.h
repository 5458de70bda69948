// What [corruption] asks for: one corruption, a chain of corruptions applied
// in order (cloze/chain.h), or a weighted mixture of either
// (cloze/mixture.h), each stage a plugin with its checked parameters.
//
//   [corruption]                 one corruption
//   name = "text_infill"
//   rate = 0.3
//
//   [corruption]                 a chain, each with its defaults
//   name = ["sentence_permute", "text_infill"]
//
//   [[corruption.chain]]         a chain with parameters, one table per stage
//   name = "patch_mask"
//   pattern = "time"
//
//   [[corruption.mixture]]       a mixture, one table per entry: a corruption
//   name = "span_infill"         (or a list of names, or its own
//   weight = 0.5                 [[corruption.mixture.chain]] tables), with
//   token = "[R]"                its weight (default 1), an optional mode
//   label = "R"                  token and a label for metrics (default: the
//   mean_noise_span_length = 3   token without brackets, else the names)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/params.h"
#include "cloze/core/registry.h"

namespace cloze {

struct CorruptionStage {
  std::string name;  // the plugin
  Params params;
  bool operator==(const CorruptionStage& other) const { return name == other.name && params == other.params; }
};

// The stages' plugin names joined by '+': "sentence_permute+text_infill".
std::string stage_names(const std::vector<CorruptionStage>& stages);

struct MixtureEntry {
  std::string label;
  double weight = 1;
  std::string token;  // "" for none
  std::vector<CorruptionStage> stages;  // one corruption or a chain
  bool operator==(const MixtureEntry& other) const {
    return label == other.label && weight == other.weight && token == other.token && stages == other.stages;
  }
};

struct CorruptionRecipe {
  std::vector<CorruptionStage> stages;  // one corruption or a chain; empty for a mixture
  std::vector<MixtureEntry> mixture;    // a mixture's entries; empty otherwise

  // "text_infill", "sentence_permute+text_infill", "mixture(R,X,S)".
  std::string name() const;
  // The values the config set, defaults left out: "rate=0.3" for one
  // corruption, "text_infill.rate=0.3" in a chain, "R: rate=0.3; X: rate=0.5"
  // in a mixture.
  std::string set_parameters() const;
  // The single corruption's parameters; throws cloze::Error for a chain or a
  // mixture.
  const Params& params() const;

  bool operator==(const CorruptionRecipe& other) const {
    return stages == other.stages && mixture == other.mixture;
  }
};

// The corruption the recipe describes, made by `registry`'s plugins. A chain or
// mixture whose modes cannot work together is refused with a cloze::Error that
// starts with `source` and names both corruptions and their modes.
std::shared_ptr<Corruption> build_corruption(const CorruptionRecipe& recipe, const Registry& registry,
                                             const std::string& source);

}  // namespace cloze
