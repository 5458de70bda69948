#include "cloze/config/corruption_recipe.h"

#include "cloze/core/error.h"
#include "cloze/corrupt/chain.h"
#include "cloze/corrupt/mixture.h"
#include "cloze/corrupt/scheduled.h"

namespace cloze {

std::string stage_names(const std::vector<CorruptionStage>& stages) {
  std::string names;
  for (const auto& stage : stages) names += (names.empty() ? "" : "+") + stage.name;
  return names;
}

namespace {

void append_set_values(const CorruptionStage& stage, const std::string& prefix, std::string& text) {
  for (const auto& [key, value] : stage.params.values())
    if (stage.params.origin(key) != "default")
      text += (text.empty() ? "" : " ") + prefix + key + "=" + stage.params.literal(key);
}

// One corruption's values bare, a chain's prefixed with their stage's name.
std::string stages_set_parameters(const std::vector<CorruptionStage>& stages) {
  std::string text;
  for (const auto& stage : stages) append_set_values(stage, stages.size() == 1 ? "" : stage.name + ".", text);
  return text;
}

// Chain's and Mixture's refusals, which know no file, start with `source`.
template <typename Composite, typename Parts>
std::shared_ptr<Corruption> composed(Parts parts, const std::string& source) {
  try {
    return std::make_shared<Composite>(std::move(parts));
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
}

// The plugin, or the plugin following its parameters' schedules.
std::shared_ptr<Corruption> make_stage(const CorruptionStage& stage, const Registry& registry) {
  if (stage.params.schedules().empty()) return registry.make_corruption(stage.name, stage.params);
  return std::make_shared<ScheduledCorruption>(stage.params, registry.corruption_factory(stage.name));
}

std::shared_ptr<Corruption> build_stages(const std::vector<CorruptionStage>& stages, const Registry& registry,
                                         const std::string& source) {
  if (stages.size() == 1) return make_stage(stages.front(), registry);
  std::vector<Chain::Stage> chain;
  for (const auto& stage : stages) chain.push_back({stage.name, make_stage(stage, registry)});
  return composed<Chain>(std::move(chain), source);
}

}  // namespace

std::string CorruptionRecipe::name() const {
  if (mixture.empty()) return stage_names(stages);
  std::string labels;
  for (const auto& entry : mixture) labels += (labels.empty() ? "" : ",") + entry.label;
  return "mixture(" + labels + ")";
}

std::string CorruptionRecipe::set_parameters() const {
  if (mixture.empty()) return stages_set_parameters(stages);
  std::string text;
  for (const auto& entry : mixture) {
    const std::string own = stages_set_parameters(entry.stages);
    if (!own.empty()) text += (text.empty() ? "" : "; ") + entry.label + ": " + own;
  }
  return text;
}

const Params& CorruptionRecipe::params() const {
  if (!mixture.empty() || stages.size() != 1)
    throw Error("the corruption '" + name() + "' is a " + (mixture.empty() ? "chain" : "mixture") +
                ", not one corruption with one set of parameters");
  return stages.front().params;
}

std::shared_ptr<Corruption> build_corruption(const CorruptionRecipe& recipe, const Registry& registry,
                                             const std::string& source) {
  if (recipe.mixture.empty()) return build_stages(recipe.stages, registry, source);
  std::vector<Mixture::Entry> entries;
  for (const auto& entry : recipe.mixture)
    entries.push_back({entry.label, stage_names(entry.stages), entry.weight, entry.token,
                       build_stages(entry.stages, registry, source)});
  return composed<Mixture>(std::move(entries), source);
}

}  // namespace cloze
