// The checked registry of named modality and corruption factories.
//
// Plugins add factories with their parameter schema when they are loaded; the
// framework looks them up by name. A duplicate name is refused naming both
// libraries, an unknown name gets a did-you-mean. The registry keeps every
// plugin library loaded for as long as any object it made is alive: objects
// handed out hold a reference to their library.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/modality.h"
#include "cloze/core/params.h"

namespace boost::dll { class shared_library; }

namespace cloze {

enum class PluginKind { modality, corruption };

std::string to_string(PluginKind kind);

using ModalityFactory = std::function<std::shared_ptr<Modality>(const Params&, const ModalityContext&)>;
using CorruptionFactory = std::function<std::shared_ptr<Corruption>(const Params&)>;

struct PluginInfo {
  PluginKind kind;
  std::string name;
  std::string doc;             // one line
  Schema schema;
  std::filesystem::path library;  // the .so it came from; empty when built in
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Called by plugins from their entry point (see plugin.h).
  void add_modality(std::string name, std::string doc, Schema schema, ModalityFactory factory);
  void add_corruption(std::string name, std::string doc, Schema schema, CorruptionFactory factory);
  // The same where the factory is the plugin class's constructor, from
  // (params, context) for a modality, from (params) for a corruption.
  template <class ModalityClass>
  void add_modality(std::string name, std::string doc, Schema schema) {
    add_modality(std::move(name), std::move(doc), std::move(schema),
                 [](const Params& params, const ModalityContext& context) {
                   return std::make_shared<ModalityClass>(params, context);
                 });
  }
  template <class CorruptionClass>
  void add_corruption(std::string name, std::string doc, Schema schema) {
    add_corruption(std::move(name), std::move(doc), std::move(schema),
                   [](const Params& params) { return std::make_shared<CorruptionClass>(params); });
  }

  // Loads one plugin library; throws cloze::Error naming the file when it
  // cannot be read, has no cloze entry point, or has a different ABI stamp.
  void load_library(const std::filesystem::path& path);
  // Loads every lib*.so under `dir` (recursively); a missing dir is skipped.
  // A library that cannot be loaded or has no cloze entry point is not a
  // cloze plugin: it is skipped and named in skipped(), so that one stray
  // library on CLOZE_PLUGIN_PATH does not stop every command. A cloze plugin
  // built against another cloze (its ABI stamp) is still refused.
  void load_directory(const std::filesystem::path& dir);
  // "PATH: why", for each library load_directory skipped.
  const std::vector<std::string>& skipped() const { return skipped_; }
  // The shipped plugins (installed beside libcloze, or the build tree's), then
  // CLOZE_PLUGIN_PATH, then `extra_dirs`.
  void load_default_plugins(const std::vector<std::string>& extra_dirs = {});

  bool contains(PluginKind kind, const std::string& name) const;
  const PluginInfo& info(PluginKind kind, const std::string& name) const;  // throws with did-you-mean
  std::vector<PluginInfo> list() const;
  std::vector<std::string> names(PluginKind kind) const;

  std::shared_ptr<Modality> make_modality(const std::string& name, const Params& params,
                                          const ModalityContext& context) const;
  std::shared_ptr<Corruption> make_corruption(const std::string& name, const Params& params) const;
  // make_corruption for one plugin as a function that outlives the registry
  // (it holds the plugin's library): a scheduled corruption makes its plugin
  // again for each new value (cloze/corrupt/scheduled.h).
  CorruptionFactory corruption_factory(const std::string& name) const;

 private:
  struct NamingFactory;  // see corruption_factory
  struct Entry {
    // First member, so it is destroyed last: the factories' code lives in it.
    std::shared_ptr<boost::dll::shared_library> library;
    PluginInfo info;
    ModalityFactory make_modality;
    CorruptionFactory make_corruption;
  };
  void add(Entry entry);
  // load_library's work; with `skip_foreign`, a library that is not a cloze
  // plugin goes to skipped_ instead of throwing.
  void load(const std::filesystem::path& path, bool skip_foreign);
  const Entry& entry(PluginKind kind, const std::string& name) const;

  std::map<std::pair<PluginKind, std::string>, Entry> entries_;
  std::vector<std::filesystem::path> loaded_;
  std::vector<std::string> skipped_;
  std::shared_ptr<boost::dll::shared_library> loading_;  // the library whose entry point is running
};

}  // namespace cloze
