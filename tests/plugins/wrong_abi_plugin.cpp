// Exports the cloze entry point with a foreign ABI stamp, as a plugin built
// against another cloze or LibTorch would.
#include "cloze/core/plugin.h"

namespace {

void register_nothing(cloze::Registry&) {}
const cloze::PluginEntry foreign_entry{"cloze-abi 0; some other compiler; libtorch 0.0", &register_nothing};

}  // namespace

BOOST_DLL_ALIAS(foreign_entry, cloze_plugin)
