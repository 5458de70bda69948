// Parameter schemas and resolved parameter values.
//
// A schema (name, type, default, one-line doc, and the values allowed: a range
// for numbers, a list for strings) is the single source of truth for every
// configurable thing in cloze: plugins and the framework's own sections alike.
// Config validation, `cloze plugins --describe`, the plugin READMEs and the
// resolved config are all read from it; a default or a range is written once,
// in the schema, and nowhere else.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cloze/core/schedule.h"

namespace cloze {

enum class ParamType { integer, real, boolean, string, string_list };

std::string to_string(ParamType type);

using Value = std::variant<int64_t, double, bool, std::string, std::vector<std::string>>;

ParamType type_of(const Value& value);
std::string to_toml(const Value& value);  // the value as a TOML literal

// One end of a numeric parameter's range.
struct Bound {
  double value = 0;
  bool inclusive = true;
};

struct ParamSpec {
  std::string name;
  ParamType type;
  Value default_value;  // must match `type`
  std::string doc;      // one line
  // The values allowed, besides the type: numbers between `low` and `high`
  // (either may be open or absent), strings (and every string of a list) among
  // `choices` when it is not empty.
  std::optional<Bound> low{}, high{};
  std::vector<std::string> choices{};

  // Builders, so a schema reads {"rate", ParamType::real, 0.15, "..."}.within(0, 1).
  ParamSpec within(double min, double max) const;  // [min, max]
  ParamSpec at_least(double min) const;            // [min, ...)
  ParamSpec above(double min) const;               // (min, ...)
  ParamSpec at_most(double max) const;             // (..., max]
  ParamSpec below(double max) const;               // (..., max)
  ParamSpec one_of(std::vector<std::string> allowed) const;

  // The allowed values as the docs print them: [0, 1], (0, 1), >= 1,
  // "sequence" or "fill"; "" when any value of the type will do.
  std::string allowed() const;
  // Why `value` is not allowed ("must be in [0, 1]"), or "".
  std::string violation(const Value& value) const;
};

using Schema = std::vector<ParamSpec>;

const ParamSpec* find_param(const Schema& schema, const std::string& name);

// The resolved values of one section: every key of its schema, each taken from
// the config, an override or the default. Keeps where each value came from so a
// plugin that refuses a value can point at it.
class Params {
 public:
  Params() = default;
  // All defaults; throws when a default is not of its type or not allowed.
  Params(std::string section, const Schema& schema);

  // Throws cloze::Error "<origin>: <section>.<name> = <value>: must be in
  // [0, 1]" when the schema does not allow the value.
  void set(const std::string& name, Value value, std::string origin);

  // Makes numeric parameter `name` follow `schedule`; until at_fraction()
  // says otherwise its value is the schedule's first. Throws cloze::Error
  // "<origin>: <section>.<name>: <why>" when the parameter is not a number,
  // the points are not a schedule, or a value is not allowed (an integer's
  // values must be whole; linear steps between them are rounded).
  void set_schedule(const std::string& name, ParamSchedule schedule, std::string origin);
  const std::map<std::string, ParamSchedule>& schedules() const { return schedules_; }
  // The values at `fraction` of training, with no schedules left: each
  // scheduled parameter set to its schedule's value there.
  Params at_fraction(double fraction) const;

  const std::string& section() const { return section_; }
  const Value& at(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  double real(const std::string& name) const;
  bool boolean(const std::string& name) const;
  const std::string& string(const std::string& name) const;
  const std::vector<std::string>& strings(const std::string& name) const;

  // "configs/text/mlm.toml:12" or "default" or "override 'a.b=1'".
  const std::string& origin(const std::string& name) const;

  // Throws cloze::Error "<origin>: <section>.<name> = <value>: <why>" unless
  // ok: for what a schema cannot say (one parameter against another).
  void require(bool ok, const std::string& name, const std::string& why) const;

  // `name`'s value as a config writes it: its schedule's inline table, or
  // to_toml of its value.
  std::string literal(const std::string& name) const;

  const std::map<std::string, Value>& values() const { return values_; }
  bool operator==(const Params& other) const {
    return section_ == other.section_ && values_ == other.values_ && schedules_ == other.schedules_;
  }

 private:
  const Value& checked(const std::string& name, ParamType type) const;

  std::string section_;
  std::map<std::string, ParamSpec> specs_;
  std::map<std::string, Value> values_;
  std::map<std::string, std::string> origins_;
  std::map<std::string, ParamSchedule> schedules_;
};

// A short markdown table of a schema (for --describe and plugin READMEs):
// parameter, type, default, allowed values, meaning.
std::string describe(const Schema& schema);

}  // namespace cloze
