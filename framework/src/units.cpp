#include "cloze/units.h"

#include <algorithm>

namespace cloze {

bool UnitSpec::is_special(int64_t id) const {
  return std::find(special_ids.begin(), special_ids.end(), id) != special_ids.end();
}

std::vector<int64_t> UnitSpec::ordinary_ids() const {
  std::vector<int64_t> ids;
  ids.reserve(static_cast<std::size_t>(vocab_size));
  for (int64_t id = 0; id < vocab_size; ++id)
    if (!is_special(id)) ids.push_back(id);
  return ids;
}

}  // namespace cloze
