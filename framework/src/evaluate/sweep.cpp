// Reading a sweep file (cloze/evaluate/sweep.h): [sweep], then each [[runs]]
// table, expanded over its grid into one run per combination.
#include "cloze/evaluate/sweep.h"

#include <toml++/toml.h>

#include <algorithm>
#include <optional>
#include <set>

#include "cloze/core/error.h"
#include "cloze/core/params.h"
#include "cloze/core/suggest.h"

namespace cloze {

namespace fs = std::filesystem;

namespace {

std::string at(const std::string& source, const toml::source_region& region) {
  return source + ":" + std::to_string(region.begin.line);
}

// Refuses keys of `table` outside `known`, with a did-you-mean.
void check_keys(const toml::table& table, const std::vector<std::string>& known, const std::string& source,
                const std::string& where) {
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw Error(at(source, key.source()) + ": unknown key '" + name + "' in " + where + did_you_mean(name, known));
  }
}

std::string string_at(const toml::table& table, const std::string& key, const std::string& source,
                      const std::string& where, bool required) {
  const toml::node* node = table.get(key);
  if (!node) {
    if (required) throw Error(source + ": " + where + " needs '" + key + "'");
    return "";
  }
  if (!node->is_string()) throw Error(at(source, node->source()) + ": '" + key + "' in " + where + " must be a string");
  return node->as_string()->get();
}

std::vector<std::string> strings_at(const toml::table& table, const std::string& key, const std::string& source,
                                    const std::string& where) {
  std::vector<std::string> out;
  const toml::node* node = table.get(key);
  if (!node) return out;
  const toml::array* array = node->as_array();
  if (!array) throw Error(at(source, node->source()) + ": '" + key + "' in " + where + " must be a list of strings");
  for (const toml::node& item : *array) {
    if (!item.is_string())
      throw Error(at(source, item.source()) + ": '" + key + "' in " + where + " must hold strings only");
    out.push_back(item.as_string()->get());
  }
  return out;
}

int64_t count_at(const toml::table& table, const std::string& key, int64_t fallback, const std::string& source) {
  const toml::node* node = table.get(key);
  if (!node) return fallback;
  if (!node->is_integer() || node->as_integer()->get() < 1)
    throw Error(at(source, node->source()) + ": 'sweep." + key + "' must be a positive integer");
  return node->as_integer()->get();
}

// A grid value as the override parser reads it ("0.5", "\"block\"", "true"),
// and as a run's name shows it (strings bare).
struct GridValue {
  std::string literal, shown;
};

GridValue grid_value(const toml::node& node, const std::string& source) {
  if (const auto* text = node.as_string()) return {to_toml(Value{text->get()}), text->get()};
  std::string literal;
  if (const auto* integer = node.as_integer()) literal = to_toml(Value{integer->get()});
  else if (const auto* real = node.as_floating_point()) literal = to_toml(Value{real->get()});
  else if (const auto* boolean = node.as_boolean()) literal = to_toml(Value{boolean->get()});
  else throw Error(at(source, node.source()) + ": a grid value must be a string, number or boolean");
  return {literal, literal};
}

// Every combination of the grid's values, last key fastest: each as
// (overrides, name suffix).
std::vector<std::pair<std::vector<std::string>, std::string>> expand_grid(const toml::table& grid,
                                                                           const std::string& source) {
  std::vector<std::pair<std::vector<std::string>, std::string>> points{{{}, ""}};
  for (const auto& [key, node] : grid) {
    const std::string name(key.str());
    if (node.is_table())
      throw Error(at(source, key.source()) + ": grid key '" + name + "' reads as a nested table; quote dotted keys: \"" +
                  name + ".key\" = [...]");
    const toml::array* values = node.as_array();
    if (!values || values->empty())
      throw Error(at(source, key.source()) + ": grid key '" + name + "' must list one or more values");
    if (name.find('.') == std::string::npos)
      throw Error(at(source, key.source()) + ": grid key '" + name + "' must be section.key, e.g. corruption.ratio");
    const std::string short_name = name.substr(name.rfind('.') + 1);
    std::vector<std::pair<std::vector<std::string>, std::string>> next;
    for (const auto& point : points)
      for (const toml::node& item : *values) {
        const GridValue value = grid_value(item, source);
        auto overrides = point.first;
        overrides.push_back(name + "=" + value.literal);
        next.emplace_back(std::move(overrides), point.second + "-" + short_name + "=" + value.shown);
      }
    points = std::move(next);
  }
  return points;
}

toml::table parse_sweep(const std::string& source) {
  try {
    return toml::parse_file(source);
  } catch (const toml::parse_error& e) {
    throw Error(source + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
}

// sweep.finetune_lrs: one or more positive numbers.
std::vector<double> rates_at(const toml::node& rates, const std::string& source) {
  const toml::array* list = rates.as_array();
  const auto refuse = [&] {
    throw Error(at(source, rates.source()) + ": 'sweep.finetune_lrs' must be a list of positive numbers");
  };
  if (!list || list->empty()) refuse();
  std::vector<double> values;
  for (const toml::node& rate : *list) {
    const std::optional<double> value = rate.value<double>();
    if (!value || !(*value > 0)) refuse();
    values.push_back(*value);
  }
  return values;
}

// sweep.protocols: one or more of known_protocols(), kept each once in that order.
std::vector<std::string> protocols_at(const toml::table& head, const std::string& source) {
  const auto named = strings_at(head, "protocols", source, "[sweep]");
  const auto where = at(source, head.get("protocols")->source());
  if (named.empty()) throw Error(where + ": 'sweep.protocols' must name at least one of linear, knn, finetune");
  for (const auto& name : named)
    if (std::find(known_protocols().begin(), known_protocols().end(), name) == known_protocols().end())
      throw Error(where + ": unknown protocol '" + name + "' in sweep.protocols; known: linear, knn, finetune" +
                  did_you_mean(name, known_protocols()));
  std::vector<std::string> protocols;
  for (const auto& name : known_protocols())  // each once, in a fixed order
    if (std::find(named.begin(), named.end(), name) != named.end()) protocols.push_back(name);
  return protocols;
}

// [sweep]: the sweep without its runs; `shared` gets the overrides every run starts with.
Sweep read_head(const toml::table& root, const fs::path& path, std::vector<std::string>& shared) {
  const std::string source = path.string();
  const toml::table* head = root["sweep"].as_table();
  if (!head) throw Error(source + ": needs a [sweep] section with at least 'dir'");
  check_keys(*head,
             {"title", "dir", "overrides", "probe_train", "probe_eval", "protocols", "seeds", "finetune_steps",
              "finetune_lrs"},
             source, "[sweep]");

  Sweep sweep;
  sweep.title = string_at(*head, "title", source, "[sweep]", false);
  sweep.dir = string_at(*head, "dir", source, "[sweep]", true);
  if (sweep.title.empty()) sweep.title = path.stem().string();
  shared = strings_at(*head, "overrides", source, "[sweep]");
  sweep.probe_train = count_at(*head, "probe_train", sweep.probe_train, source);
  sweep.probe_eval = count_at(*head, "probe_eval", sweep.probe_eval, source);
  sweep.seeds = count_at(*head, "seeds", sweep.seeds, source);
  sweep.finetune_steps = count_at(*head, "finetune_steps", sweep.finetune_steps, source);
  if (const toml::node* rates = head->get("finetune_lrs")) sweep.finetune_lrs = rates_at(*rates, source);
  if (head->get("protocols")) sweep.protocols = protocols_at(*head, source);
  return sweep;
}

// A run's experiment file, absolute: relative to the sweep file, and present.
fs::path config_at(const toml::table& run, const fs::path& path, const std::string& where) {
  const std::string source = path.string();
  fs::path config = string_at(run, "config", source, where, true);
  if (config.is_relative()) config = fs::absolute(path).parent_path() / config;
  config = config.lexically_normal();
  if (!fs::is_regular_file(config))
    throw Error(at(source, run.get("config")->source()) + ": config " + config.string() + ": no such file");
  return config;
}

// One [[runs]] table as its runs: one, or one per point of its grid.
std::vector<SweepRun> runs_of(const toml::node& node, const fs::path& path, const std::vector<std::string>& shared) {
  const std::string source = path.string();
  const toml::table* run = node.as_table();
  if (!run) throw Error(at(source, node.source()) + ": each entry of 'runs' must be a [[runs]] table");
  const std::string where = "[[runs]] at " + at(source, node.source());
  check_keys(*run, {"name", "config", "overrides", "grid"}, source, where);
  const std::string name = string_at(*run, "name", source, where, true);
  const fs::path config = config_at(*run, path, where);
  auto overrides = shared;
  for (auto& text : strings_at(*run, "overrides", source, where)) overrides.push_back(std::move(text));

  std::vector<std::pair<std::vector<std::string>, std::string>> points{{{}, ""}};
  if (const toml::node* grid = run->get("grid")) {
    if (!grid->is_table()) throw Error(at(source, grid->source()) + ": 'grid' must be a table of section.key = [values]");
    points = expand_grid(*grid->as_table(), source);
  }
  std::vector<SweepRun> expanded;
  for (auto& [grid_overrides, suffix] : points) {
    expanded.push_back({name + suffix, config, overrides});
    expanded.back().overrides.insert(expanded.back().overrides.end(), grid_overrides.begin(), grid_overrides.end());
  }
  return expanded;
}

}  // namespace

Sweep load_sweep(const fs::path& path) {
  const std::string source = path.string();
  const toml::table root = parse_sweep(source);
  check_keys(root, {"sweep", "runs"}, source, "the sweep file");
  std::vector<std::string> shared;
  Sweep sweep = read_head(root, path, shared);

  const toml::array* runs = root["runs"].as_array();
  if (!runs || runs->empty()) throw Error(source + ": lists no [[runs]]");
  std::set<std::string> names;
  for (const toml::node& node : *runs)
    for (SweepRun& run : runs_of(node, path, shared)) {
      if (!names.insert(run.name).second)
        throw Error(at(source, node.source()) + ": two runs are named '" + run.name + "'; run names must differ");
      sweep.runs.push_back(std::move(run));
    }
  return sweep;
}

fs::path seed_folder(const Sweep& sweep, const SweepRun& run, int64_t seed) {
  return sweep.dir / run.name / ("seed-" + std::to_string(seed));
}

}  // namespace cloze
