// Fuzzes the experiment loader: TOML text -> parse_experiment against the
// framework's sections and the shipped plugins' schemas, then the corruption
// it names is built, so that its own validation of the values runs too.
// Every refusal must be a cloze::Error naming what is wrong.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cloze/config/experiment.h"
#include "cloze/data/pipeline.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cloze::fuzz::use_one_thread();
  static const cloze::SectionSchemas sections = cloze::framework_sections();
  const std::string text(reinterpret_cast<const char*>(data), size);
  // [plugins] paths loads every lib*.so under a folder the input names (paths
  // = ["/"] would load the whole system's libraries): the override, applied
  // after the file has been parsed and checked, empties it.
  const std::vector<std::string> overrides{"plugins.paths=[]"};
  cloze::Registry& registry = cloze::fuzz::shipped_plugins();
  cloze::fuzz::refuse_only_with_cloze_errors([&] {
    const cloze::Experiment experiment = cloze::parse_experiment(text, "fuzz.toml", overrides, registry, sections);
    cloze::build_corruption(experiment.corruption, registry, experiment.source);
  });
  return 0;
}
