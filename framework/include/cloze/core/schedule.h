// A numeric parameter that changes over training: mmBERT's mask rate falling
// from 30% to 15% to 5%, or a curriculum of span lengths, as a config value
//
//   rate = { schedule = [[0.0, 0.3], [0.6, 0.15], [0.9, 0.05]] }
//   rate = { schedule = [[0.0, 0.3], [1.0, 0.05]], interpolate = "linear" }
//
// Each point is (fraction of training, value). Piecewise constant, a value
// holds from its fraction until the next point's; linear, it moves straight
// to the next point's value and holds the last one to the end. The fraction of
// a batch is its optimizer step over train.steps (cloze/data/loader.h), so a
// schedule is a pure function of the step and continues exactly on resume.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace cloze {

enum class Interpolation { constant, linear };

struct ParamSchedule {
  std::vector<std::pair<double, double>> points;  // (fraction, value); fractions rise from 0 to at most 1
  Interpolation interpolation = Interpolation::constant;

  // The value at `fraction` of training.
  double at(double fraction) const;
  // Why the points are not a schedule ("fractions must rise: 0.6 then 0.3"), or "".
  std::string violation() const;
  // As the config writes it: { schedule = [[0.0, 0.3], [1.0, 0.05]], interpolate = "linear" }.
  std::string to_toml() const;

  bool operator==(const ParamSchedule& other) const {
    return points == other.points && interpolation == other.interpolation;
  }
};

}  // namespace cloze
