#include "cloze/core/units.h"

#include <algorithm>
#include <cmath>

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

int64_t UnitSpec::id_of(const std::string& piece) const {
  const auto found = std::find(pieces.begin(), pieces.end(), piece);
  return found == pieces.end() ? -1 : found - pieces.begin();
}

void UnitSpec::add_special_tokens(const std::vector<std::string>& tokens) {
  if (tokens.empty()) return;
  pieces.resize(static_cast<std::size_t>(vocab_size));  // unknown pieces stay ""
  for (const auto& token : tokens) {
    int64_t id = id_of(token);
    if (id < 0) {
      id = vocab_size;
      pieces.push_back(token);
      if (!begins_word.empty()) begins_word.push_back(1);
      ++vocab_size;
    }
    if (!is_special(id)) special_ids.push_back(id);
  }
}

std::optional<double> UnitSpec::psnr_db(double mse) const {
  if (kind != UnitKind::continuous || value_range <= 0 || normalize_targets || !(mse > 0)) return std::nullopt;
  return 10.0 * std::log10(value_range * value_range / mse);
}

}  // namespace cloze
