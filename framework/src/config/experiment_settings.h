// An experiment's settings before they are checked, and the checks the
// loader's two files share: experiment_loader.cpp reads the file, the
// overrides, the sections and [modality]; corruption_section.cpp reads
// [corruption] (one corruption, a chain or a mixture). Used only by the
// experiment loader.
#pragma once

#include <toml++/toml.h>

#include <map>
#include <string>
#include <vector>

#include "cloze/config/experiment.h"

namespace cloze {

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

// "mlm.toml:7": the file and the line `region` starts on.
std::string file_line(const std::string& source, const toml::source_region& region);

// The setting as a `type` Value; an error naming its origin and `full_name`
// ("train.steps") when it is not one.
Value value_of(const Setting& setting, ParamType type, const std::string& full_name);

// Whether a section's numeric parameters may follow a schedule
// (cloze/core/schedule.h): a corruption's may; the framework's sections read
// their values once.
enum class Schedules { refused, allowed };

// Every key of `section` checked against `schema`, into Params named `name`;
// an unknown key is refused with a did-you-mean.
Params resolve_section(const std::string& name, const Schema& schema, const Section& section,
                       Schedules schedules = Schedules::refused);

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
                           const Registry& registry, const std::vector<std::string>& reserved = {"name"},
                           Schedules schedules = Schedules::refused);

// [corruption]: one corruption, a chain, or a mixture (corruption_section.cpp).
CorruptionRecipe resolve_corruption(const Settings& settings, const std::string& source, const Registry& registry);

}  // namespace cloze
