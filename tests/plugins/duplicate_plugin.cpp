// Registers a name good_plugin already registers, for the duplicate test.
#include "cloze/core/plugin.h"

CLOZE_PLUGIN(registry) {
  registry.add_corruption("keep_all", "a second keep_all (registry test)", {},
                          [](const cloze::Params&) { return std::shared_ptr<cloze::Corruption>(); });
}
