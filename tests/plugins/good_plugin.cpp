// A well-formed plugin: one corruption that keeps every unit, for the
// registry tests.
#include <ATen/core/Tensor.h>

#include "cloze/core/plugin.h"

namespace {

class KeepAll : public cloze::Corruption {
 public:
  cloze::ReconstructionMode mode() const override { return cloze::ReconstructionMode::in_place; }
  std::string incompatibility(const cloze::UnitSpec&) const override { return ""; }
  cloze::Corrupted corrupt(const cloze::Batch& batch, uint64_t) const override {
    cloze::Corrupted c;
    c.input = batch.units;
    c.target = batch.units;
    return c;
  }
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption("keep_all", "keeps every unit (registry test)",
                          {{"strength", cloze::ParamType::real, 0.5, "unused"}},
                          [](const cloze::Params&) { return std::make_shared<KeepAll>(); });
}
