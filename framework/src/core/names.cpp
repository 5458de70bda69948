// Printable names of the framework's enums.
#include "cloze/core/corrupted.h"
#include "cloze/core/modality.h"
#include "cloze/core/registry.h"
#include "cloze/core/units.h"

namespace cloze {

std::string to_string(UnitKind kind) { return kind == UnitKind::discrete ? "discrete" : "continuous"; }

std::string to_string(ReconstructionMode mode) {
  switch (mode) {
    case ReconstructionMode::in_place: return "in_place";
    case ReconstructionMode::fill: return "fill";
    case ReconstructionMode::sequence: return "sequence";
    case ReconstructionMode::detect: return "detect";
  }
  return "?";
}

std::string to_string(Split split) { return split == Split::train ? "train" : "eval"; }

std::string to_string(PluginKind kind) { return kind == PluginKind::modality ? "modality" : "corruption"; }

}  // namespace cloze
