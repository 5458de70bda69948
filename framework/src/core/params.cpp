#include "cloze/core/params.h"

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
    values_[spec.name] = spec.default_value;
    origins_[spec.name] = "default";
  }
}

void Params::set(const std::string& name, Value value, std::string origin) {
  values_[name] = std::move(value);
  origins_[name] = std::move(origin);
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
  out << "| parameter | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& spec : schema)
    out << "| `" << spec.name << "` | " << to_string(spec.type) << " | `" << to_toml(spec.default_value) << "` | "
        << spec.doc << " |\n";
  return out.str();
}

}  // namespace cloze
