// A TOML experiment: every section validated against its schema, every key
// known, command-line overrides applied, defaults filled in.
//
//   [run]        seed, device, threads, ...       (framework schema)
//   [model]      dim, layers, heads, ...          (framework schema)
//   [train] [eval] [loader]                       (framework schemas)
//   [plugins]    paths = [...]                    extra plugin folders, loaded first
//   [modality]   name = "text", then that plugin's parameters
//   [corruption] name = "token_mask", then that plugin's parameters; or a
//                chain or mixture of corruptions (cloze/corruption_recipe.h)
//
// Errors name the file and line ("mlm.toml:7: unknown key 'train.stepz'; did
// you mean 'train.steps'?"): an unknown key or section gets a did-you-mean, a
// wrong type names the expected and the actual type, a bad override names
// itself ("override 'train.steps=abc': ...").
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cloze/config/corruption_recipe.h"
#include "cloze/core/params.h"
#include "cloze/core/registry.h"

namespace cloze {

// The framework's own sections and their schemas, by section name.
using SectionSchemas = std::map<std::string, Schema>;

struct Experiment {
  std::string source;  // the file it was read from (or a name given for text)
  std::map<std::string, Params> sections;  // every framework section and "modality"
  std::string modality;                    // the plugin's name
  CorruptionRecipe corruption;
  std::vector<std::string> plugin_paths;  // absolute, as loaded

  const Params& section(const std::string& name) const;  // throws naming the section

  // The resolved config as TOML: every key with its value, defaults included.
  // Parsing it back gives an equal Experiment.
  std::string to_toml() const;

  // Compares the resolved config; `source` and the origins are not part of it.
  bool operator==(const Experiment& other) const;
};

// Where the configuration `now` departs from `recorded`, both TOML as
// Experiment::to_toml writes them (recorded: a run's config.toml): the first
// line that differs, with its section, as "[train] `steps = 300` recorded,
// `steps = 500` now"; nullopt when they agree. Lines whose key is in
// `ignored` ("section.key", e.g. "run.threads") are left out on both sides.
std::optional<std::string> config_difference(const std::string& recorded, const std::string& now,
                                             const std::set<std::string>& ignored = {});

// Throws cloze::Error when `config_file` (a run's config.toml) records
// another configuration than `now`: "FILE records another configuration than
// the one given now: DIFFERENCE. ADVICE", keys in `may_differ` left out
// (config_difference). The record is read again through `registry` and
// `sections` first, so a key added to a schema since it was written counts as
// recorded with its default (a new key's default keeps the old behaviour); a
// record that no longer parses is compared as written. Does nothing when the
// file is absent. The trainer checks it before resuming a run, a sweep before
// reusing a finished seed.
void require_recorded_config(const std::filesystem::path& config_file, const Experiment& now,
                             const std::set<std::string>& may_differ, const std::string& advice, Registry& registry,
                             const SectionSchemas& sections);

// Reads `path` and resolves it:
//  1. the file, each value's origin "FILE:LINE";
//  2. `overrides`, "section.key=value" in order, each replacing the file's
//     value; a string may be bare (`modality.tokenizer=byte`), a string list
//     may be one bare string; other values are TOML literals;
//  3. the framework sections against `sections` (absent keys take defaults);
//  4. [plugins] paths (relative to the file; to the working directory in an
//     override) made absolute, checked to exist and loaded into `registry`;
//  5. [modality] and [corruption]: `name` picks the plugin (so an override of
//     the name switches it), the other keys are checked against its schema;
//     each stage of a corruption chain or mixture likewise.
// Whether the corruption supports the modality's units is left to the caller:
// that needs the built modality.
Experiment load_experiment(const std::filesystem::path& path, const std::vector<std::string>& overrides,
                           Registry& registry, const SectionSchemas& sections);

// The same from TOML text; `source` stands for the file name in messages.
Experiment parse_experiment(const std::string& toml_text, const std::string& source,
                            const std::vector<std::string>& overrides, Registry& registry,
                            const SectionSchemas& sections);

}  // namespace cloze
