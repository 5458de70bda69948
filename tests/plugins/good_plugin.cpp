// A well-formed plugin: one corruption that keeps every unit, for the
// registry tests.
#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros_like.h>

#include "cloze/core/plugin.h"
#include "cloze/corrupt/in_place.h"

namespace {

class KeepAll : public cloze::Corruption {
 public:
  cloze::ReconstructionMode mode() const override { return cloze::ReconstructionMode::in_place; }
  std::string incompatibility(const cloze::UnitSpec&) const override { return ""; }

 private:
  cloze::Corrupted do_corrupt(const cloze::Batch& batch, uint64_t) const override {
    return cloze::in_place_corrupted(batch, batch.units, at::zeros_like(batch.padding));
  }
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption("keep_all", "keeps every unit (registry test)",
                          {{"strength", cloze::ParamType::real, 0.5, "unused"}},
                          [](const cloze::Params&) { return std::make_shared<KeepAll>(); });
}
