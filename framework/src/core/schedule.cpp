#include "cloze/core/schedule.h"

#include <cmath>

#include "cloze/core/params.h"

namespace cloze {

double ParamSchedule::at(double fraction) const {
  std::size_t next = 0;
  while (next < points.size() && points[next].first <= fraction) ++next;
  if (next == 0) return points.front().second;
  const auto& [from, value] = points[next - 1];
  if (interpolation == Interpolation::constant || next == points.size()) return value;
  const auto& [to, next_value] = points[next];
  return value + (next_value - value) * (fraction - from) / (to - from);
}

std::string ParamSchedule::violation() const {
  if (points.empty()) return "a schedule needs at least one [fraction, value] point";
  if (points.front().first != 0)
    return "a schedule starts at fraction 0.0, not " + cloze::to_toml(points.front().first) +
           ": it gives the value training starts with";
  for (std::size_t k = 0; k < points.size(); ++k) {
    const double fraction = points[k].first;
    if (!std::isfinite(points[k].second)) return "the value at fraction " + cloze::to_toml(fraction) + " is not finite";
    if (!(fraction <= 1)) return "fraction " + cloze::to_toml(fraction) + " is past the end of training (1.0)";
    if (k > 0 && !(fraction > points[k - 1].first))
      return "fractions must rise: " + cloze::to_toml(points[k - 1].first) + " then " + cloze::to_toml(fraction);
  }
  return "";
}

std::string ParamSchedule::to_toml() const {
  std::string text = "{ schedule = [";
  for (std::size_t k = 0; k < points.size(); ++k)
    text += (k ? ", [" : "[") + cloze::to_toml(points[k].first) + ", " + cloze::to_toml(points[k].second) + "]";
  text += "]";
  if (interpolation == Interpolation::linear) text += ", interpolate = \"linear\"";
  return text + " }";
}

}  // namespace cloze
