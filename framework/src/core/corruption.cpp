#include "cloze/core/corruption.h"

#include "cloze/core/error.h"

namespace cloze {

void require_compatible(const Corruption& corruption, const UnitSpec& units) {
  const std::string why = corruption.incompatibility(units);
  if (!why.empty()) throw Error(why);
}

}  // namespace cloze
