// The resolved experiment: section look-up, comparison, and writing it back
// out as TOML (the run's record of exactly what it trained with). Reading and
// validating a file is in experiment_loader.cpp.
#include "cloze/experiment.h"

#include <sstream>

#include "cloze/error.h"
#include "cloze/suggest.h"

namespace cloze {

namespace {

bool is_plugin_section(const std::string& name) { return name == "modality" || name == "corruption"; }

// A TOML key: bare when it can be, quoted otherwise.
std::string toml_key(const std::string& key) {
  const bool bare = !key.empty() && key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                          "0123456789_-") == std::string::npos;
  return bare ? key : to_toml(Value(key));
}

// "[name]", after a blank line unless it is the first section.
void begin_section(std::ostringstream& out, const std::string& name) {
  out << (out.tellp() > 0 ? "\n" : "") << "[" << toml_key(name) << "]\n";
}

void write_values(std::ostream& out, const Params& params) {
  for (const auto& [key, value] : params.values()) out << toml_key(key) << " = " << to_toml(value) << "\n";
}

// A plugin section: `name` first, then the plugin's parameters.
void write_plugin_section(std::ostringstream& out, const std::string& section, const std::string& name,
                          const std::map<std::string, Params>& sections) {
  begin_section(out, section);
  out << "name = " << to_toml(Value(name)) << "\n";
  const auto it = sections.find(section);
  if (it != sections.end()) write_values(out, it->second);
}

}  // namespace

const Params& Experiment::section(const std::string& name) const {
  const auto it = sections.find(name);
  if (it != sections.end()) return it->second;
  std::vector<std::string> known;
  for (const auto& entry : sections) known.push_back(entry.first);
  throw Error("experiment " + source + " has no section [" + name + "]" + did_you_mean(name, known));
}

std::string Experiment::to_toml() const {
  std::ostringstream out;
  for (const auto& [name, params] : sections) {
    if (is_plugin_section(name)) continue;
    begin_section(out, name);
    write_values(out, params);
  }
  if (!plugin_paths.empty()) {
    begin_section(out, "plugins");
    out << "paths = " << cloze::to_toml(Value(plugin_paths)) << "\n";
  }
  write_plugin_section(out, "modality", modality, sections);
  write_plugin_section(out, "corruption", corruption, sections);
  return out.str();
}

bool Experiment::operator==(const Experiment& other) const {
  return sections == other.sections && modality == other.modality && corruption == other.corruption &&
         plugin_paths == other.plugin_paths;
}

}  // namespace cloze
