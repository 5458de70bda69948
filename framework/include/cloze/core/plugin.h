// The one macro a plugin library uses to export its entry point.
//
//   CLOZE_PLUGIN(registry) {
//     registry.add_corruption<TokenMask>("token_mask", "BERT masking", schema());
//   }
//
// It exports, through Boost.DLL, a PluginEntry carrying the ABI stamp the
// plugin was compiled with; the loader refuses a library whose stamp differs
// from its own (another cloze ABI version, compiler or LibTorch).
#pragma once

#include <boost/dll/alias.hpp>
#include <torch/csrc/api/include/torch/version.h>

#include "cloze/core/registry.h"

#define CLOZE_ABI_VERSION "4"  // 4: Dataset::collate_in_epoch, BadSamples::report_one
#define CLOZE_STRINGIFY_(x) #x
#define CLOZE_STRINGIFY(x) CLOZE_STRINGIFY_(x)
#define CLOZE_ABI_STAMP                                                   \
  "cloze-abi " CLOZE_ABI_VERSION "; " __VERSION__ "; libtorch " TORCH_VERSION \
  "; cxx11-abi " CLOZE_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)

namespace cloze {

struct PluginEntry {
  const char* abi_stamp;
  void (*register_plugins)(Registry&);
};

// The stamp libcloze was compiled with, and its version ("0.1.0").
const char* abi_stamp();
const char* version();

}  // namespace cloze

#define CLOZE_PLUGIN(registry)                                                        \
  static void cloze_register_plugins_(::cloze::Registry& registry);                  \
  namespace {                                                                        \
  const ::cloze::PluginEntry cloze_plugin_entry_{CLOZE_ABI_STAMP, &cloze_register_plugins_}; \
  }                                                                                  \
  BOOST_DLL_ALIAS(cloze_plugin_entry_, cloze_plugin)                                 \
  static void cloze_register_plugins_(::cloze::Registry& registry)
