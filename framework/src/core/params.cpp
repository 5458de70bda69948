#include "cloze/core/params.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "cloze/core/error.h"
#include "cloze/core/suggest.h"

namespace cloze {

std::string to_string(ParamType type) {
  switch (type) {
    case ParamType::integer: return "integer";
    case ParamType::real: return "float";
    case ParamType::boolean: return "boolean";
    case ParamType::string: return "string";
    case ParamType::string_list: return "array of strings";
  }
  return "?";
}

ParamType type_of(const Value& value) { return static_cast<ParamType>(value.index()); }

namespace {

std::string quoted(const std::string& s) {
  std::ostringstream out;
  out << '"';
  for (char c : s) {
    switch (c) {
      case '"': out << "\\\""; break;
      case '\\': out << "\\\\"; break;
      case '\n': out << "\\n"; break;
      case '\t': out << "\\t"; break;
      case '\r': out << "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
          out << "\\u" << std::hex << std::setw(4) << std::setfill('0') << static_cast<int>(c) << std::dec;
        else
          out << c;
    }
  }
  out << '"';
  return out.str();
}

}  // namespace

std::string to_toml(const Value& value) {
  struct Printer {
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const {
      if (std::isnan(v)) return "nan";
      if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
      // The shortest text that reads back to the same double: 0.15, not 0.14999999999999999.
      char text[32];
      const auto result = std::to_chars(text, text + sizeof text, v);
      std::string s(text, result.ptr);
      if (s.find_first_of(".e") == std::string::npos) s += ".0";  // keep it a TOML float
      return s;
    }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const std::string& v) const { return quoted(v); }
    std::string operator()(const std::vector<std::string>& v) const {
      std::string s = "[";
      for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + quoted(v[i]);
      return s + "]";
    }
  };
  return std::visit(Printer{}, value);
}

namespace {

// 1 rather than 1.0 for a bound: most bounded parameters are integers.
std::string number_text(double value) {
  if (std::nearbyint(value) == value && std::abs(value) < 1e15) return std::to_string(std::llround(value));
  return to_toml(value);
}

bool below_low(double value, const std::optional<Bound>& low) {
  return low && !(low->inclusive ? value >= low->value : value > low->value);
}

bool above_high(double value, const std::optional<Bound>& high) {
  return high && !(high->inclusive ? value <= high->value : value < high->value);
}

// `spec` with one end of its range set.
ParamSpec bounded(ParamSpec spec, std::optional<Bound> ParamSpec::*end, Bound bound) {
  spec.*end = bound;
  return spec;
}

}  // namespace

ParamSpec ParamSpec::within(double min, double max) const { return at_least(min).at_most(max); }
ParamSpec ParamSpec::at_least(double min) const { return bounded(*this, &ParamSpec::low, {min, true}); }
ParamSpec ParamSpec::above(double min) const { return bounded(*this, &ParamSpec::low, {min, false}); }
ParamSpec ParamSpec::at_most(double max) const { return bounded(*this, &ParamSpec::high, {max, true}); }
ParamSpec ParamSpec::below(double max) const { return bounded(*this, &ParamSpec::high, {max, false}); }

ParamSpec ParamSpec::one_of(std::vector<std::string> allowed) const {
  ParamSpec spec = *this;
  spec.choices = std::move(allowed);
  return spec;
}

std::string ParamSpec::allowed() const {
  if (!choices.empty()) {
    std::string text;
    for (std::size_t i = 0; i < choices.size(); ++i)
      text += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + to_toml(choices[i]);
    return text;
  }
  if (low && high)
    return (low->inclusive ? "[" : "(") + number_text(low->value) + ", " + number_text(high->value) +
           (high->inclusive ? "]" : ")");
  if (low) return (low->inclusive ? ">= " : "> ") + number_text(low->value);
  if (high) return (high->inclusive ? "<= " : "< ") + number_text(high->value);
  return "";
}

std::string ParamSpec::violation(const Value& value) const {
  std::vector<std::string> strings;
  if (const auto* text = std::get_if<std::string>(&value)) strings.push_back(*text);
  if (const auto* list = std::get_if<std::vector<std::string>>(&value)) strings = *list;
  for (const std::string& text : strings)
    if (!choices.empty() && std::find(choices.begin(), choices.end(), text) == choices.end())
      return "must be " + allowed() + did_you_mean(text, choices);

  double number = 0;
  if (const auto* integer = std::get_if<int64_t>(&value))
    number = static_cast<double>(*integer);
  else if (const auto* real = std::get_if<double>(&value))
    number = *real;
  else
    return "";
  if (!below_low(number, low) && !above_high(number, high)) return "";
  if (low && high) return "must be in " + allowed();
  if (low) return std::string("must be ") + (low->inclusive ? "at least " : "above ") + number_text(low->value);
  return std::string("must be ") + (high->inclusive ? "at most " : "below ") + number_text(high->value);
}

const ParamSpec* find_param(const Schema& schema, const std::string& name) {
  for (const auto& spec : schema)
    if (spec.name == name) return &spec;
  return nullptr;
}

Params::Params(std::string section, const Schema& schema) : section_(std::move(section)) {
  for (const auto& spec : schema) {
    if (type_of(spec.default_value) != spec.type)
      throw Error("schema of [" + section_ + "]: default of '" + spec.name + "' is a " +
                  to_string(type_of(spec.default_value)) + ", declared " + to_string(spec.type));
    const std::string why = spec.violation(spec.default_value);
    if (!why.empty())
      throw Error("schema of [" + section_ + "]: the default of '" + spec.name + "', " +
                  to_toml(spec.default_value) + ", is not allowed: it " + why);
    specs_[spec.name] = spec;
    values_[spec.name] = spec.default_value;
    origins_[spec.name] = "default";
  }
}

void Params::set(const std::string& name, Value value, std::string origin) {
  schedules_.erase(name);
  values_[name] = std::move(value);
  origins_[name] = std::move(origin);
  const auto spec = specs_.find(name);
  if (spec == specs_.end()) return;
  const std::string why = spec->second.violation(values_[name]);
  require(why.empty(), name, why);
}

namespace {

// `value` as parameter `spec`'s type: rounded to a whole number for an integer.
Value typed_number(const ParamSpec& spec, double value) {
  return spec.type == ParamType::integer ? Value(static_cast<int64_t>(std::llround(value))) : Value(value);
}

}  // namespace

void Params::set_schedule(const std::string& name, ParamSchedule schedule, std::string origin) {
  const auto refuse = [&](const std::string& why) { throw Error(origin + ": " + section_ + "." + name + ": " + why); };
  const auto found = specs_.find(name);
  if (found == specs_.end()) refuse("[" + section_ + "] has no such parameter");
  const ParamSpec& spec = found->second;
  if (spec.type != ParamType::integer && spec.type != ParamType::real)
    refuse("only numbers can follow a schedule; " + name + " is a " + to_string(spec.type));
  if (const std::string why = schedule.violation(); !why.empty()) refuse(why);
  for (const auto& [fraction, value] : schedule.points) {
    const std::string at = "the value at fraction " + to_toml(fraction) + ", " + to_toml(value) + ", ";
    if (spec.type == ParamType::integer && std::nearbyint(value) != value) refuse(at + "is not a whole number");
    if (const std::string why = spec.violation(typed_number(spec, value)); !why.empty()) refuse(at + why);
  }
  values_[name] = typed_number(spec, schedule.points.front().second);
  origins_[name] = std::move(origin);
  schedules_[name] = std::move(schedule);
}

Params Params::at_fraction(double fraction) const {
  Params fixed = *this;
  for (const auto& [name, schedule] : schedules_)
    fixed.values_[name] = typed_number(specs_.at(name), schedule.at(fraction));
  fixed.schedules_.clear();
  return fixed;
}

std::string Params::literal(const std::string& name) const {
  const auto scheduled = schedules_.find(name);
  return scheduled == schedules_.end() ? to_toml(at(name)) : scheduled->second.to_toml();
}

const Value& Params::at(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    std::vector<std::string> known;
    for (const auto& kv : values_) known.push_back(kv.first);
    throw Error("[" + section_ + "] has no parameter '" + name + "'" + did_you_mean(name, known));
  }
  return it->second;
}

const Value& Params::checked(const std::string& name, ParamType type) const {
  const Value& value = at(name);
  if (type_of(value) != type)
    throw Error(origin(name) + ": " + section_ + "." + name + " is a " + to_string(type_of(value)) +
                ", read as a " + to_string(type));
  return value;
}

int64_t Params::integer(const std::string& name) const { return std::get<int64_t>(checked(name, ParamType::integer)); }
double Params::real(const std::string& name) const { return std::get<double>(checked(name, ParamType::real)); }
bool Params::boolean(const std::string& name) const { return std::get<bool>(checked(name, ParamType::boolean)); }
const std::string& Params::string(const std::string& name) const {
  return std::get<std::string>(checked(name, ParamType::string));
}
const std::vector<std::string>& Params::strings(const std::string& name) const {
  return std::get<std::vector<std::string>>(checked(name, ParamType::string_list));
}

const std::string& Params::origin(const std::string& name) const {
  static const std::string unknown = "unknown origin";
  auto it = origins_.find(name);
  return it == origins_.end() ? unknown : it->second;
}

void Params::require(bool ok, const std::string& name, const std::string& why) const {
  if (ok) return;
  throw Error(origin(name) + ": " + section_ + "." + name + " = " + to_toml(at(name)) + ": " + why);
}

std::string describe(const Schema& schema) {
  std::ostringstream out;
  out << "| parameter | type | default | allowed | meaning |\n|---|---|---|---|---|\n";
  for (const auto& spec : schema) {
    const std::string allowed = spec.allowed();
    out << "| `" << spec.name << "` | " << to_string(spec.type) << " | `" << to_toml(spec.default_value) << "` | "
        << (allowed.empty() ? "any" : allowed) << " | " << spec.doc << " |\n";
  }
  return out.str();
}

}  // namespace cloze
