// The resolved experiment: section look-up, comparison, and writing it back
// out as TOML (the run's record of exactly what it trained with). Reading and
// validating a file is in experiment_loader.cpp.
#include "cloze/config/experiment.h"

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/core/suggest.h"

namespace cloze {

namespace {


// A TOML key: bare when it can be, quoted otherwise.
std::string toml_key(const std::string& key) {
  const bool bare = !key.empty() && key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                          "0123456789_-") == std::string::npos;
  return bare ? key : to_toml(Value(key));
}

// "[name]", after a blank line unless it is the first section; "[[name]]"
// for a table of an array of tables.
void begin_section(std::ostringstream& out, const std::string& name, bool array_entry = false) {
  out << (out.tellp() > 0 ? "\n" : "") << (array_entry ? "[[" : "[") << name << (array_entry ? "]]\n" : "]\n");
}

void write_values(std::ostream& out, const Params& params) {
  for (const auto& [key, value] : params.values()) out << toml_key(key) << " = " << params.literal(key) << "\n";
}

// A plugin's table: `name` first, then its parameters.
void write_plugin(std::ostringstream& out, const std::string& name, const Params& params) {
  out << "name = " << to_toml(Value(name)) << "\n";
  write_values(out, params);
}

// One corruption as [corruption] (or the body of a mixture entry); a chain
// as one [[table.chain]] per stage.
void write_stages(std::ostringstream& out, const std::string& table, const std::vector<CorruptionStage>& stages) {
  if (stages.size() == 1) {
    write_plugin(out, stages.front().name, stages.front().params);
    return;
  }
  for (const auto& stage : stages) {
    begin_section(out, table + ".chain", true);
    write_plugin(out, stage.name, stage.params);
  }
}

void write_corruption(std::ostringstream& out, const CorruptionRecipe& recipe) {
  if (recipe.mixture.empty()) {
    if (recipe.stages.size() == 1) begin_section(out, "corruption");
    write_stages(out, "corruption", recipe.stages);
    return;
  }
  for (const auto& entry : recipe.mixture) {
    begin_section(out, "corruption.mixture", true);
    out << "label = " << to_toml(Value(entry.label)) << "\nweight = " << to_toml(Value(entry.weight)) << "\n";
    if (!entry.token.empty()) out << "token = " << to_toml(Value(entry.token)) << "\n";
    write_stages(out, "corruption.mixture", entry.stages);
  }
}

// A config's lines that carry a value, each with the section header in
// force: ("[train]", "steps = 300"). Keys in `ignored` are left out.
std::vector<std::pair<std::string, std::string>> config_lines(const std::string& text,
                                                              const std::set<std::string>& ignored) {
  std::vector<std::pair<std::string, std::string>> lines;
  std::istringstream in(text);
  std::string line, header, section;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.front() == '[') {
      header = line;
      section = line.substr(line.find_first_not_of('['), line.find(']') - line.find_first_not_of('['));
    } else if (!ignored.count(section + "." + line.substr(0, line.find(" = ")))) {
      lines.emplace_back(header, line);
    }
  }
  return lines;
}

}  // namespace

std::optional<std::string> config_difference(const std::string& recorded, const std::string& now,
                                             const std::set<std::string>& ignored) {
  const auto before = config_lines(recorded, ignored), after = config_lines(now, ignored);
  const auto quoted = [](const auto& lines, std::size_t i) {
    return i < lines.size() ? "`" + lines[i].second + "`" : std::string("nothing");
  };
  for (std::size_t i = 0; i < std::max(before.size(), after.size()); ++i) {
    if (i < before.size() && i < after.size() && before[i] == after[i]) continue;
    const std::string& header = i < after.size() ? after[i].first : before[i].first;
    return header + " " + quoted(before, i) + " recorded, " + quoted(after, i) + " now";
  }
  return std::nullopt;
}

void require_recorded_config(const std::filesystem::path& config_file, const Experiment& now,
                             const std::set<std::string>& may_differ, const std::string& advice, Registry& registry,
                             const SectionSchemas& sections) {
  std::ifstream in(config_file);
  if (!in) return;
  std::ostringstream read;
  read << in.rdbuf();
  std::string recorded = read.str();
  try {
    recorded = parse_experiment(recorded, config_file.string(), {}, registry, sections).to_toml();
  } catch (const Error&) {
    // A key since removed or renamed: the difference below names it.
  }
  if (const auto difference = config_difference(recorded, now.to_toml(), may_differ))
    throw Error(config_file.string() + " records another configuration than the one given now: " + *difference +
                ". " + advice);
}

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
    if (name == "modality") continue;
    begin_section(out, toml_key(name));
    write_values(out, params);
  }
  if (!plugin_paths.empty()) {
    begin_section(out, "plugins");
    out << "paths = " << cloze::to_toml(Value(plugin_paths)) << "\n";
  }
  begin_section(out, "modality");
  write_plugin(out, modality, section("modality"));
  write_corruption(out, corruption);
  return out.str();
}

bool Experiment::operator==(const Experiment& other) const {
  return sections == other.sections && modality == other.modality && corruption == other.corruption &&
         plugin_paths == other.plugin_paths;
}

}  // namespace cloze
