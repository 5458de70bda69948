// Config values to parameter Values, by the type the schema declares (see
// experiment_values.h).
#include "experiment_values.h"

namespace cloze {

namespace {

std::optional<Value> strings_from_node(const toml::node& node) {
  const toml::array* array = node.as_array();
  if (!array) return std::nullopt;
  std::vector<std::string> strings;
  for (const toml::node& element : *array) {
    const auto* string = element.as_string();
    if (!string) return std::nullopt;
    strings.push_back(string->get());
  }
  return Value(std::move(strings));
}

std::string scalar_type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
  }
  return "?";
}

// `text` as exactly one TOML value (kept inside its table), or nullopt.
std::optional<toml::table> parse_literal(const std::string& text) {
  try {
    toml::table table = toml::parse("value = " + text);
    // More than one key means the text smuggled in more TOML than a value.
    if (table.size() == 1 && table.contains("value")) return table;
  } catch (const toml::parse_error&) {
  }
  return std::nullopt;
}

bool starts_with_any(const std::string& text, const char* firsts) {
  return !text.empty() && std::string(firsts).find(text.front()) != std::string::npos;
}

}  // namespace

std::optional<Value> value_from_node(const toml::node& node, ParamType type) {
  switch (type) {
    case ParamType::integer:
      if (const auto* v = node.as_integer()) return Value(v->get());
      break;
    case ParamType::real:
      if (const auto* v = node.as_floating_point()) return Value(v->get());
      if (const auto* v = node.as_integer()) return Value(static_cast<double>(v->get()));
      break;
    case ParamType::boolean:
      if (const auto* v = node.as_boolean()) return Value(v->get());
      break;
    case ParamType::string:
      if (const auto* v = node.as_string()) return Value(v->get());
      break;
    case ParamType::string_list:
      return strings_from_node(node);
  }
  return std::nullopt;
}

std::optional<Value> value_from_text(const std::string& text, ParamType type) {
  // Only text that opens like a TOML string (or array) is read as TOML: a bare
  // word, a number or `true` given for a string is that text itself.
  const bool quoted = starts_with_any(text, "\"'");
  if (type == ParamType::string && !quoted) return Value(text);
  if (type == ParamType::string_list && !quoted && !starts_with_any(text, "["))
    return Value(std::vector<std::string>{text});

  const auto literal = parse_literal(text);
  if (!literal) return std::nullopt;
  const toml::node& node = *literal->get("value");
  if (type == ParamType::string_list && node.is_string())
    return Value(std::vector<std::string>{node.as_string()->get()});
  return value_from_node(node, type);
}

std::string type_name(const toml::node& node) {
  const toml::array* array = node.as_array();
  if (!array) return scalar_type_name(node.type());
  if (array->empty()) return "empty array";
  const toml::node_type first = array->front().type();
  if (!array->is_homogeneous(first)) return "mixed array";
  return "array of " + scalar_type_name(first) + "s";
}

}  // namespace cloze
