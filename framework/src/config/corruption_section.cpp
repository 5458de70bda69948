// Reading [corruption]: one corruption, a list of names chained with their
// defaults, [[corruption.chain]] tables, or [[corruption.mixture]] entries of
// either (cloze/config/corruption_recipe.h). Part of the experiment loader
// (experiment_settings.h): every value keeps its origin for messages.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "cloze/core/error.h"
#include "experiment_settings.h"

namespace cloze {

namespace {

CorruptionStage resolve_stage(const std::string& table, Section keys, const std::string& where,
                              const Registry& registry, const std::vector<std::string>& reserved = {"name"}) {
  PluginTable chosen =
      resolve_plugin(PluginKind::corruption, table, std::move(keys), where, registry, reserved, Schedules::allowed);
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

}  // namespace

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

}  // namespace cloze
