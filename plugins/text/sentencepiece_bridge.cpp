// Finding and loading the sentencepiece bridge (see sentencepiece_bridge.h);
// the plugin side of it.
#include "sentencepiece_bridge.h"

#include <dlfcn.h>

#include <filesystem>

#include "cloze/core/error.h"

namespace cloze::text {

namespace {

// The folder this plugin was loaded from.
std::filesystem::path plugin_folder() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&plugin_folder), &info) == 0 || info.dli_fname == nullptr)
    throw Error("text: cannot tell where the text plugin was loaded from");
  return std::filesystem::path(info.dli_fname).parent_path();
}

SentencepieceBridge load_bridge() {
  const auto path = plugin_folder() / "cloze_text_sentencepiece.so";
  // Never closed: tokenizers it makes may live until the process ends.
  void* library = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (library == nullptr)
    throw Error("text: cannot load the sentencepiece bridge " + path.string() + ": " + ::dlerror());
  const auto symbol = [&](const char* name) {
    void* address = ::dlsym(library, name);
    if (address == nullptr) throw Error("text: sentencepiece bridge " + path.string() + " has no symbol " + name);
    return address;
  };
  return {reinterpret_cast<ClozeTextLoadSentencepiece>(symbol("cloze_text_load_sentencepiece")),
          reinterpret_cast<ClozeTextTrainSentencepiece>(symbol("cloze_text_train_sentencepiece"))};
}

}  // namespace

const SentencepieceBridge& sentencepiece_bridge() {
  static const SentencepieceBridge bridge = load_bridge();
  return bridge;
}

std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& model) {
  return std::unique_ptr<Tokenizer>(sentencepiece_bridge().load(model.c_str()));
}

}  // namespace cloze::text
