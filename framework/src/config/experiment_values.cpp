// Config values to parameter Values, by the type the schema declares (see
// experiment_values.h).
#include "experiment_values.h"

#include "cloze/core/error.h"

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

ParamSchedule schedule_from_node(const toml::node& node) {
  const toml::table* table = node.as_table();
  if (!table) throw Error("a schedule is an inline table, { schedule = [[0.0, value], [fraction, value], ...] }");
  ParamSchedule schedule;
  for (const auto& [key, value] : *table) {
    if (key == "interpolate") {
      const auto* how = value.as_string();
      if (!how || (how->get() != "constant" && how->get() != "linear"))
        throw Error("interpolate must be \"constant\" or \"linear\"");
      schedule.interpolation = how->get() == "linear" ? Interpolation::linear : Interpolation::constant;
    } else if (key != "schedule") {
      throw Error("unknown key '" + std::string(key.str()) + "' in a schedule; it holds schedule and interpolate");
    }
  }
  const toml::array* points = table->get_as<toml::array>("schedule");
  if (!points) throw Error("a schedule needs schedule = [[0.0, value], [fraction, value], ...]");
  for (const toml::node& point : *points) {
    const toml::array* pair = point.as_array();
    std::optional<Value> fraction, value;
    if (pair && pair->size() == 2) {
      fraction = value_from_node(*pair->get(0), ParamType::real);
      value = value_from_node(*pair->get(1), ParamType::real);
    }
    if (!fraction || !value) throw Error("each point of a schedule is a [fraction, value] pair of numbers");
    schedule.points.emplace_back(std::get<double>(*fraction), std::get<double>(*value));
  }
  return schedule;
}

ParamSchedule schedule_from_text(const std::string& text) {
  const auto literal = parse_literal(text);
  if (!literal) throw Error("'" + text + "' is not a TOML inline table");
  return schedule_from_node(*literal->get("value"));
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
