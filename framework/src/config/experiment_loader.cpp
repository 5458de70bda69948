// Reading an experiment: the TOML file, then the command-line overrides, then
// every value checked against its section's schema. Each value is carried
// with its origin ("mlm.toml:7" or "override 'train.steps=3'") so that every
// error, and later every plugin's refusal, can point at where it was written.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "cloze/config/experiment.h"
#include "cloze/core/error.h"
#include "cloze/core/suggest.h"
#include "experiment_values.h"

namespace cloze {

namespace {

namespace fs = std::filesystem;

// One key's value before it is checked: a node of the file or override text.
struct Setting {
  std::string origin;                // "mlm.toml:7" or "override 'train.steps=3'"
  const toml::node* node = nullptr;  // the value in the file, or
  std::string text;                  // the value as typed on the command line
};

using Section = std::map<std::string, Setting>;  // key -> setting

// Everything written in the file and the overrides, by section.
struct Settings {
  std::map<std::string, Section> sections;
  std::map<std::string, std::string> headers;  // where each section of the file starts

  // Where `section` starts, for messages about it as a whole; the file
  // itself when only overrides wrote it.
  std::string header(const std::string& section, const std::string& source) const {
    const auto found = headers.find(section);
    return found == headers.end() ? source : found->second;
  }
};

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

std::string file_line(const std::string& source, const toml::source_region& region) {
  return source + ":" + std::to_string(region.begin.line);
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
    if (node.is_table())
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

// ---- checking values against schemas ----------------------------------------

Value value_of(const Setting& setting, ParamType type, const std::string& full_name) {
  auto value = setting.node ? value_from_node(*setting.node, type) : value_from_text(setting.text, type);
  if (value) return std::move(*value);
  const std::string got = setting.node ? type_name(*setting.node) : "'" + setting.text + "'";
  throw Error(setting.origin + ": " + full_name + ": expected " + to_string(type) + ", got " + got);
}

Params resolve_section(const std::string& name, const Schema& schema, const Section& section) {
  Params params(name, schema);
  for (const auto& [key, setting] : section) {
    const ParamSpec* spec = find_param(schema, key);
    if (!spec)
      throw Error(setting.origin + ": unknown key '" + name + "." + key + "'" +
                  key_suggestion(name, key, key_names(schema)));
    params.set(key, value_of(setting, spec->type, name + "." + key), setting.origin);
  }
  return params;
}

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

// A table that picks a plugin by `name`; its other keys are the parameters.
struct PluginTable {
  std::string name;
  Params params;
};

// Resolves one plugin's table: `name` picks the plugin, whose schema then
// checks every other key. `table` names the table in messages and in the
// Params ("corruption", "corruption.mixture[2]"); `where` is its header's
// origin, for a missing name; `reserved` are the keys the table itself uses
// beside the plugin's, which its schema may not declare.
PluginTable resolve_plugin(PluginKind kind, const std::string& table, Section keys, const std::string& where,
                           const Registry& registry, const std::vector<std::string>& reserved = {"name"}) {
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
  return {name, resolve_section(table, info->schema, keys)};
}

// ---- corruption chains and mixtures -----------------------------------------

CorruptionStage resolve_stage(const std::string& table, Section keys, const std::string& where,
                              const Registry& registry, const std::vector<std::string>& reserved = {"name"}) {
  PluginTable chosen = resolve_plugin(PluginKind::corruption, table, std::move(keys), where, registry, reserved);
  return {std::move(chosen.name), std::move(chosen.params)};
}

bool is_list(const Setting& setting) {
  return setting.node ? setting.node->is_array() : (!setting.text.empty() && setting.text.front() == '[');
}

// The tables of an array of tables ([[corruption.chain]]), each with the
// origin of its header.
std::vector<std::pair<std::string, const toml::table*>> tables_of(const Setting& setting, const std::string& key,
                                                                  const std::string& source) {
  const toml::array* array = setting.node ? setting.node->as_array() : nullptr;
  if (!array || !array->is_array_of_tables() || array->empty())
    throw Error(setting.origin + ": '" + key + "' must be one or more [[" + key + "]] tables");
  std::vector<std::pair<std::string, const toml::table*>> tables;
  for (const auto& node : *array) tables.emplace_back(file_line(source, node.source()), node.as_table());
  return tables;
}

Section section_of(const toml::table& table, const std::string& source) {
  Section section;
  for (const auto& [key, node] : table)
    section[std::string(key.str())] = Setting{file_line(source, key.source()), &node, {}};
  return section;
}

// Keys that `table` cannot hold beside `what`.
void refuse_other_keys(const Section& keys, const std::string& table, const std::string& what) {
  for (const auto& [key, setting] : keys)
    throw Error(setting.origin + ": unknown key '" + table + "." + key + "': " + what);
}

// The name of stage `index` of `count` in `table`'s chain; a chain of one is
// the one corruption, named and written back as the table itself.
std::string stage_table(const std::string& table, std::size_t index, std::size_t count) {
  return count == 1 ? table : table + ".chain[" + std::to_string(index) + "]";
}

// One corruption, a list of names (each with its defaults), or
// [[TABLE.chain]] tables, from the keys of `table`.
std::vector<CorruptionStage> resolve_stages(const std::string& table, Section keys, const std::string& where,
                                            const std::string& source, const Registry& registry,
                                            const std::vector<std::string>& reserved) {
  const auto chain = keys.find("chain");
  if (chain != keys.end()) {
    const Setting setting = chain->second;
    keys.erase(chain);
    refuse_other_keys(keys, table, "with [[" + table + ".chain]] tables, every parameter belongs to a stage");
    const auto tables = tables_of(setting, table + ".chain", source);
    std::vector<CorruptionStage> stages;
    for (const auto& [at, keys_of_stage] : tables)
      stages.push_back(resolve_stage(stage_table(table, stages.size(), tables.size()),
                                     section_of(*keys_of_stage, source), at, registry));
    return stages;
  }
  const auto name = keys.find("name");
  if (name != keys.end() && is_list(name->second)) {
    const auto names =
        std::get<std::vector<std::string>>(value_of(name->second, ParamType::string_list, table + ".name"));
    if (names.empty()) throw Error(name->second.origin + ": " + table + ".name: the list of corruptions is empty");
    keys.erase(name);
    refuse_other_keys(keys, table,
                      "a list of names chains the corruptions with their defaults; give parameters in [[" + table +
                          ".chain]] tables, one per corruption");
    std::vector<CorruptionStage> stages;
    for (const auto& stage : names) {
      Section only_name{{"name", Setting{name->second.origin, nullptr, stage}}};
      stages.push_back(resolve_stage(stage_table(table, stages.size(), names.size()), only_name, where, registry));
    }
    return stages;
  }
  return {resolve_stage(table, std::move(keys), where, registry, reserved)};
}

// A mixture entry's own keys, taken out of `keys`.
MixtureEntry resolve_entry_keys(const std::string& table, Section& keys) {
  static const Schema schema{
      {"weight", ParamType::real, 1.0, "share of samples, relative to the other entries"},
      {"token", ParamType::string, std::string(), "mode token prepended to the input"},
      {"label", ParamType::string, std::string(), "name in metrics and previews"},
  };
  Section own;
  for (const auto& spec : schema) {
    const auto it = keys.find(spec.name);
    if (it == keys.end()) continue;
    own.insert(*it);
    keys.erase(it);
  }
  const Params params = resolve_section(table, schema, own);
  params.require(params.real("weight") > 0 && std::isfinite(params.real("weight")), "weight",
                 "must be a number above 0");
  return {params.string("label"), params.real("weight"), params.string("token"), {}};
}

std::vector<MixtureEntry> resolve_mixture(const Setting& setting, const std::string& source,
                                          const Registry& registry) {
  std::vector<MixtureEntry> entries;
  std::vector<std::string> entry_origins;
  for (const auto& [at, entry_table] : tables_of(setting, "corruption.mixture", source)) {
    const std::string table = "corruption.mixture[" + std::to_string(entries.size()) + "]";
    Section keys = section_of(*entry_table, source);
    MixtureEntry entry = resolve_entry_keys(table, keys);
    entry.stages = resolve_stages(table, std::move(keys), at, source, registry, {"name", "weight", "token", "label"});
    if (entry.label.empty()) {
      const bool bracketed = entry.token.size() > 2 && entry.token.front() == '[' && entry.token.back() == ']';
      entry.label = entry.token.empty() ? stage_names(entry.stages)
                    : bracketed         ? entry.token.substr(1, entry.token.size() - 2)
                                        : entry.token;
    }
    for (std::size_t k = 0; k < entries.size(); ++k)
      if (entries[k].label == entry.label)
        throw Error(at + ": [[corruption.mixture]] label '" + entry.label + "' is taken by the entry at " +
                    entry_origins[k] + "; give each entry its own label = \"...\"");
    entries.push_back(std::move(entry));
    entry_origins.push_back(at);
  }
  return entries;
}

// [corruption]: one corruption, a chain, or a mixture.
CorruptionRecipe resolve_corruption(const Settings& settings, const std::string& source, const Registry& registry) {
  const auto found = settings.sections.find("corruption");
  Section keys = found == settings.sections.end() ? Section{} : found->second;
  const std::string where = settings.header("corruption", source);
  CorruptionRecipe recipe;
  const auto mixture = keys.find("mixture");
  if (mixture == keys.end()) {
    recipe.stages = resolve_stages("corruption", std::move(keys), where, source, registry, {"name"});
    return recipe;
  }
  const Setting setting = mixture->second;
  keys.erase(mixture);
  refuse_other_keys(keys, "corruption", "with [[corruption.mixture]] entries, every key belongs to an entry");
  recipe.mixture = resolve_mixture(setting, source, registry);
  return recipe;
}

void check_section_schemas(const SectionSchemas& sections) {
  for (const auto& reserved : own_sections())
    if (sections.count(reserved))
      throw Error("framework section [" + reserved + "] clashes with the experiment's own section");
}

}  // namespace

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
