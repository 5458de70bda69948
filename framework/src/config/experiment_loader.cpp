// Reading an experiment: the TOML file, then the command-line overrides, then
// every value checked against its section's schema. Each value is carried
// with its origin ("mlm.toml:7" or "override 'train.steps=3'") so that every
// error, and later every plugin's refusal, can point at where it was written.
// [corruption] is read in corruption_section.cpp; what both files share is in
// experiment_settings.h.
#include <algorithm>
#include <fstream>
#include <iterator>

#include "cloze/config/experiment.h"
#include "cloze/core/error.h"
#include "cloze/core/suggest.h"
#include "experiment_settings.h"
#include "experiment_values.h"

namespace cloze {

namespace fs = std::filesystem;

namespace {

const Schema& plugins_schema() {
  static const Schema schema{
      {"paths", ParamType::string_list, std::vector<std::string>{}, "extra plugin folders, relative to this file"}};
  return schema;
}

// The sections the loader itself defines, beside the framework's.
const std::vector<std::string>& own_sections() {
  static const std::vector<std::string> names{"plugins", "modality", "corruption"};
  return names;
}

std::vector<std::string> section_names(const SectionSchemas& sections) {
  std::vector<std::string> names = own_sections();
  for (const auto& entry : sections) names.push_back(entry.first);
  return names;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> key_names(const Schema& schema) {
  std::vector<std::string> names;
  for (const auto& spec : schema) names.push_back(spec.name);
  return names;
}

// "; did you mean 'train.steps'?" for the key of `section` closest to `key`.
std::string key_suggestion(const std::string& section, const std::string& key, const std::vector<std::string>& keys) {
  const std::string match = closest_match(key, keys);
  return match.empty() ? std::string() : "; did you mean '" + section + "." + match + "'?";
}

void check_section_schemas(const SectionSchemas& sections) {
  for (const auto& reserved : own_sections())
    if (sections.count(reserved))
      throw Error("framework section [" + reserved + "] clashes with the experiment's own section");
}

// ---- the file ---------------------------------------------------------------

toml::table parse_toml(const std::string& text, const std::string& source) {
  try {
    return toml::parse(text, std::string_view(source));
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw Error(source + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " +
                std::string(e.description()));
  }
}

// A key outside any section: point at the framework section that has it.
[[noreturn]] void refuse_top_level_key(const std::string& at, const std::string& key, const SectionSchemas& sections) {
  std::vector<std::string> keys;
  for (const auto& entry : sections)
    for (const auto& spec : entry.second) keys.push_back(spec.name);
  const std::string match = closest_match(key, keys);
  std::string hint;
  if (!match.empty())
    for (const auto& [name, schema] : sections)
      if (find_param(schema, match)) {
        hint = "; did you mean '" + name + "." + match + "'?";
        break;
      }
  throw Error(at + ": key '" + key + "' is outside any section" + hint);
}

void read_section(const std::string& source, const std::string& name, const toml::table& table, Settings& settings) {
  for (const auto& [key, node] : table) {
    const std::string at = file_line(source, key.source());
    const std::string full_name = name + "." + std::string(key.str());
    // An inline table may be a schedule (resolve_section decides); a [a.b] table is not a value.
    if (node.is_table() && !node.as_table()->is_inline())
      throw Error(at + ": '" + full_name + "' is a nested table; a section holds only plain keys");
    settings.sections[name][std::string(key.str())] = Setting{at, &node, {}};
  }
}

// The file's settings; the nodes they point at live in `root`.
Settings read_file(const toml::table& root, const std::string& source, const SectionSchemas& sections) {
  const auto known = section_names(sections);
  Settings settings;
  for (const auto& [key, node] : root) {
    const std::string name(key.str());
    const std::string at = file_line(source, key.source());
    if (!contains(known, name)) {
      if (!node.is_table()) refuse_top_level_key(at, name, sections);
      throw Error(at + ": unknown section [" + name + "]" + did_you_mean(name, known));
    }
    if (!node.is_table()) throw Error(at + ": '" + name + "' must be a section [" + name + "], got " + type_name(node));
    settings.headers[name] = at;
    read_section(source, name, *node.as_table(), settings);
  }
  return settings;
}

// ---- the overrides ----------------------------------------------------------

void apply_override(const std::string& text, const SectionSchemas& sections, Settings& settings) {
  const std::string origin = "override '" + text + "'";
  const auto equals = text.find('=');
  const auto dot = text.find('.');
  const bool well_formed = equals != std::string::npos && dot != std::string::npos && dot > 0 && dot + 1 < equals &&
                           text.find('.', dot + 1) > equals;
  if (!well_formed) throw Error(origin + ": expected section.key=value");
  const std::string section = text.substr(0, dot);
  const auto known = section_names(sections);
  if (!contains(known, section))
    throw Error(origin + ": unknown section [" + section + "]" + did_you_mean(section, known));
  const std::string key = text.substr(dot + 1, equals - dot - 1);
  settings.sections[section][key] = Setting{origin, nullptr, text.substr(equals + 1)};
}

// ---- plugins ----------------------------------------------------------------

// The plugin folders, absolute: a path in the file is relative to the file, a
// path in an override to the working directory. A folder that does not exist
// is refused rather than skipped, since it is almost always a typo.
std::vector<std::string> plugin_paths(const Section& section, const std::string& source) {
  const Params params = resolve_section("plugins", plugins_schema(), section);
  const auto it = section.find("paths");
  if (it == section.end()) return {};
  const fs::path base = it->second.node ? fs::path(source).parent_path() : fs::path();
  std::vector<std::string> paths;
  for (const auto& path : params.strings("paths")) {
    fs::path dir = fs::absolute(base / path).lexically_normal();
    if (!dir.has_filename()) dir = dir.parent_path();  // "plugins/" and "." name the folder itself
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      throw Error(it->second.origin + ": plugins.paths: no plugin folder " + dir.string());
    paths.push_back(dir.string());
  }
  return paths;
}

// [modality] or [corruption] without a `name`: say which names exist, or
// catch the typo when a key is close to `name`.
[[noreturn]] void refuse_missing_name(const std::string& where, const std::string& section, const Section& keys,
                                      const std::vector<std::string>& known) {
  for (const auto& [key, setting] : keys)
    if (!closest_match(key, {"name"}).empty())
      throw Error(setting.origin + ": unknown key '" + section + "." + key + "'; did you mean '" + section + ".name'?");
  std::string list;
  for (const auto& name : known) list += (list.empty() ? "" : ", ") + name;
  throw Error(where + ": [" + section + "] needs name = \"...\", one of: " + (list.empty() ? "none registered" : list));
}

}  // namespace

// ---- checking values against schemas (shared, experiment_settings.h) --------

std::string file_line(const std::string& source, const toml::source_region& region) {
  return source + ":" + std::to_string(region.begin.line);
}

Value value_of(const Setting& setting, ParamType type, const std::string& full_name) {
  auto value = setting.node ? value_from_node(*setting.node, type) : value_from_text(setting.text, type);
  if (value) return std::move(*value);
  const std::string got = setting.node ? type_name(*setting.node) : "'" + setting.text + "'";
  throw Error(setting.origin + ": " + full_name + ": expected " + to_string(type) + ", got " + got);
}

namespace {

bool written_as_table(const Setting& setting) {
  return setting.node ? setting.node->is_table() : (!setting.text.empty() && setting.text.front() == '{');
}

ParamSchedule schedule_of(const Setting& setting, const std::string& full_name) {
  try {
    return setting.node ? schedule_from_node(*setting.node) : schedule_from_text(setting.text);
  } catch (const Error& e) {
    throw Error(setting.origin + ": " + full_name + ": " + e.what());
  }
}

}  // namespace

Params resolve_section(const std::string& name, const Schema& schema, const Section& section, Schedules schedules) {
  Params params(name, schema);
  for (const auto& [key, setting] : section) {
    const ParamSpec* spec = find_param(schema, key);
    const std::string full_name = name + "." + key;
    if (!spec)
      throw Error(setting.origin + ": unknown key '" + full_name + "'" + key_suggestion(name, key, key_names(schema)));
    if (!written_as_table(setting)) {
      params.set(key, value_of(setting, spec->type, full_name), setting.origin);
    } else if (schedules == Schedules::allowed) {
      params.set_schedule(key, schedule_of(setting, full_name), setting.origin);
    } else {
      throw Error(setting.origin + ": " + full_name + ": only a corruption's parameters can follow a schedule; [" +
                  name + "] takes one " + to_string(spec->type));
    }
  }
  return params;
}

PluginTable resolve_plugin(PluginKind kind, const std::string& table, Section keys, const std::string& where,
                           const Registry& registry, const std::vector<std::string>& reserved, Schedules schedules) {
  const auto name_setting = keys.find("name");
  if (name_setting == keys.end()) refuse_missing_name(where, table, keys, registry.names(kind));
  const std::string name = std::get<std::string>(value_of(name_setting->second, ParamType::string, table + ".name"));
  const PluginInfo* info = nullptr;
  try {
    info = &registry.info(kind, name);
  } catch (const Error& e) {
    throw Error(name_setting->second.origin + ": " + e.what());
  }
  // These keys pick the plugin or place it, so parameters of theirs could never be set.
  for (const auto& key : reserved)
    if (find_param(info->schema, key))
      throw Error(to_string(kind) + " '" + name + "' (" +
                  (info->library.empty() ? "built in" : info->library.string()) + ") declares a parameter '" + key +
                  "', which [" + table + "] keeps for itself");
  keys.erase(name_setting);
  return {name, resolve_section(table, info->schema, keys, schedules)};
}

// ---- the experiment ---------------------------------------------------------

Experiment parse_experiment(const std::string& toml_text, const std::string& source,
                            const std::vector<std::string>& overrides, Registry& registry,
                            const SectionSchemas& sections) {
  check_section_schemas(sections);
  const toml::table root = parse_toml(toml_text, source);
  Settings settings = read_file(root, source, sections);
  for (const auto& text : overrides) apply_override(text, sections, settings);

  Experiment experiment;
  experiment.source = source;
  for (const auto& [name, schema] : sections)
    experiment.sections[name] = resolve_section(name, schema, settings.sections[name]);
  experiment.plugin_paths = plugin_paths(settings.sections["plugins"], source);
  // Plugins first: the names in [modality] and [corruption] may come from them.
  for (const auto& dir : experiment.plugin_paths) registry.load_directory(dir);
  PluginTable modality = resolve_plugin(PluginKind::modality, "modality", settings.sections["modality"],
                                        settings.header("modality", source), registry);
  experiment.modality = modality.name;
  experiment.sections["modality"] = std::move(modality.params);
  experiment.corruption = resolve_corruption(settings, source, registry);
  return experiment;
}

Experiment load_experiment(const std::filesystem::path& path, const std::vector<std::string>& overrides,
                           Registry& registry, const SectionSchemas& sections) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error("cannot read experiment " + path.string() + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!fs::is_regular_file(path, ec) || !in)
    throw Error("cannot read experiment " + path.string() + ": not a readable file");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return parse_experiment(text, path.string(), overrides, registry, sections);
}

}  // namespace cloze
