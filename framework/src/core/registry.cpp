#include "cloze/core/registry.h"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "cloze/core/error.h"
#include "cloze/core/plugin.h"
#include "cloze/core/suggest.h"

namespace cloze {

const char* abi_stamp() { return CLOZE_ABI_STAMP; }
const char* version() { return CLOZE_VERSION; }

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::add_modality(std::string name, std::string doc, Schema schema, ModalityFactory factory) {
  Entry entry{{}, {PluginKind::modality, std::move(name), std::move(doc), std::move(schema), {}}, std::move(factory), {}};
  add(std::move(entry));
}

void Registry::add_corruption(std::string name, std::string doc, Schema schema, CorruptionFactory factory) {
  Entry entry{{}, {PluginKind::corruption, std::move(name), std::move(doc), std::move(schema), {}}, {}, std::move(factory)};
  add(std::move(entry));
}

void Registry::add(Entry entry) {
  if (loading_) {
    entry.library = loading_;
    entry.info.library = loading_->location().string();
  }
  const std::string where = entry.info.library.empty() ? "the framework" : entry.info.library.string();
  // Building the defaults validates that each default matches its declared type.
  Params(to_string(entry.info.kind) + " " + entry.info.name, entry.info.schema);
  auto key = std::make_pair(entry.info.kind, entry.info.name);
  auto existing = entries_.find(key);
  if (existing != entries_.end()) {
    const auto& other = existing->second.info.library;
    throw Error(to_string(entry.info.kind) + " '" + entry.info.name + "' from " + where +
                " is already registered by " + (other.empty() ? "the framework" : other.string()));
  }
  entries_.emplace(std::move(key), std::move(entry));
}

void Registry::load_library(const std::filesystem::path& path) { load(path, /*skip_foreign=*/false); }

void Registry::load(const std::filesystem::path& path, bool skip_foreign) {
  const auto canonical = std::filesystem::weakly_canonical(path);
  if (std::find(loaded_.begin(), loaded_.end(), canonical) != loaded_.end()) return;
  if (!std::filesystem::exists(canonical)) throw Error("plugin " + path.string() + ": no such file");

  const auto foreign = [&](const std::string& why) {
    if (!skip_foreign) throw Error("plugin " + path.string() + ": " + why);
    skipped_.push_back(path.string() + ": " + why);
  };
  auto library = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  library->load(canonical.string(), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) return foreign("cannot be loaded: " + ec.message());
  if (!library->has("cloze_plugin"))
    return foreign("no cloze entry point (symbol 'cloze_plugin'); is it built with CLOZE_PLUGIN(...)?");
  const auto& entry = library->get_alias<const PluginEntry>("cloze_plugin");
  if (entry.abi_stamp == nullptr || std::strcmp(entry.abi_stamp, abi_stamp()) != 0)
    throw Error("plugin " + path.string() + ": ABI stamp '" + (entry.abi_stamp ? entry.abi_stamp : "(none)") +
                "' does not match this cloze's '" + abi_stamp() + "'; rebuild the plugin against this cloze");

  loading_ = library;
  try {
    entry.register_plugins(*this);
  } catch (const std::exception& e) {
    loading_.reset();
    throw Error("plugin " + path.string() + ": " + e.what());
  }
  loading_.reset();
  loaded_.push_back(canonical);
}

void Registry::load_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return;
  std::vector<std::filesystem::path> libraries;
  for (const auto& file : std::filesystem::recursive_directory_iterator(dir)) {
    const auto name = file.path().filename().string();
    if (file.is_regular_file() && name.rfind("lib", 0) == 0 && file.path().extension() == ".so")
      libraries.push_back(file.path());
  }
  std::sort(libraries.begin(), libraries.end());  // a stable load order
  for (const auto& library : libraries) load(library, /*skip_foreign=*/true);
}

namespace {

// The shipped plugins: beside an installed libcloze (<libdir>/cloze/plugins),
// else in the build tree libcloze was built in.
std::filesystem::path shipped_plugin_dir() {
  const std::filesystem::path installed =
      std::filesystem::path(boost::dll::this_line_location().parent_path().string()) / "cloze" / "plugins";
  if (std::filesystem::is_directory(installed)) return installed;
#ifdef CLOZE_BUILD_PLUGIN_DIR
  return CLOZE_BUILD_PLUGIN_DIR;
#else
  return {};
#endif
}

}  // namespace

void Registry::load_default_plugins(const std::vector<std::string>& extra_dirs) {
  if (const auto shipped = shipped_plugin_dir(); !shipped.empty()) load_directory(shipped);
  if (const char* env = std::getenv("CLOZE_PLUGIN_PATH")) {
    std::string paths = env;
    std::size_t start = 0;
    while (start <= paths.size()) {
      const std::size_t end = std::min(paths.find(':', start), paths.size());
      if (end > start) load_directory(paths.substr(start, end - start));
      start = end + 1;
    }
  }
  for (const auto& dir : extra_dirs) load_directory(dir);
}

bool Registry::contains(PluginKind kind, const std::string& name) const {
  return entries_.count({kind, name}) != 0;
}

const Registry::Entry& Registry::entry(PluginKind kind, const std::string& name) const {
  auto it = entries_.find({kind, name});
  if (it == entries_.end()) {
    const auto known = names(kind);
    std::string list;
    for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
    throw Error("unknown " + to_string(kind) + " '" + name + "'" + did_you_mean(name, known) +
                " (known: " + (list.empty() ? "none; are the plugins built?" : list) + ")");
  }
  return it->second;
}

const PluginInfo& Registry::info(PluginKind kind, const std::string& name) const { return entry(kind, name).info; }

std::vector<PluginInfo> Registry::list() const {
  std::vector<PluginInfo> all;
  for (const auto& kv : entries_) all.push_back(kv.second.info);
  return all;
}

std::vector<std::string> Registry::names(PluginKind kind) const {
  std::vector<std::string> result;
  for (const auto& kv : entries_)
    if (kv.first.first == kind) result.push_back(kv.first.second);
  return result;
}

namespace {

// Ties the lifetime of a plugin-made object to its library: the returned
// pointer shares ownership of both, so the library is unloaded last.
template <typename T>
std::shared_ptr<T> keep_library_alive(std::shared_ptr<T> object, std::shared_ptr<boost::dll::shared_library> library) {
  if (!object || !library) return object;
  struct Owner {
    std::shared_ptr<boost::dll::shared_library> library;  // destroyed after object
    std::shared_ptr<T> object;
  };
  T* raw = object.get();
  auto owner = std::make_shared<Owner>(Owner{std::move(library), std::move(object)});
  return std::shared_ptr<T>(owner, raw);
}

}  // namespace

std::shared_ptr<Modality> Registry::make_modality(const std::string& name, const Params& params,
                                                  const ModalityContext& context) const {
  const auto& e = entry(PluginKind::modality, name);
  return keep_library_alive(e.make_modality(params, context), e.library);
}

std::shared_ptr<Corruption> Registry::make_corruption(const std::string& name, const Params& params) const {
  return corruption_factory(name)(params);
}

// A plugin's corruption factory that names what it makes and keeps the
// plugin's library loaded for as long as the factory or anything it made
// lives. A struct, not a lambda, so that the factory (whose code is in the
// library) is destroyed before the library.
struct Registry::NamingFactory {
  std::shared_ptr<boost::dll::shared_library> library;
  CorruptionFactory make;
  std::string name;

  std::shared_ptr<Corruption> operator()(const Params& params) const {
    std::shared_ptr<Corruption> corruption = make(params);
    if (!corruption) throw Error("corruption '" + name + "': its factory made nothing");
    corruption->name_ = name;
    return keep_library_alive(std::move(corruption), library);
  }
};

CorruptionFactory Registry::corruption_factory(const std::string& name) const {
  const auto& e = entry(PluginKind::corruption, name);
  return NamingFactory{e.library, e.make_corruption, name};
}

}  // namespace cloze
