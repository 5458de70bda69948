// The plugin loader and the checked registry: good plugins load and make
// objects; bad ones are refused with a message naming the file.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/core/registry.h"
#include "cloze/core/suggest.h"
#include "test_support.h"

namespace {

std::filesystem::path test_plugin(const std::string& name) {
  return std::filesystem::path(CLOZE_TEST_PLUGIN_DIR) / ("lib" + name + ".so");
}

}  // namespace

TEST_CASE("a good plugin registers its corruption with its schema", "[registry]") {
  cloze::Registry registry;
  registry.load_library(test_plugin("good_plugin"));
  REQUIRE(registry.contains(cloze::PluginKind::corruption, "keep_all"));
  const auto& info = registry.info(cloze::PluginKind::corruption, "keep_all");
  CHECK(info.library.filename() == "libgood_plugin.so");
  REQUIRE(info.schema.size() == 1);
  CHECK(info.schema[0].name == "strength");
  auto corruption = registry.make_corruption("keep_all", cloze::Params("corruption", info.schema));
  REQUIRE(corruption != nullptr);
  CHECK(corruption->mode() == cloze::ReconstructionMode::in_place);
}

TEST_CASE("an object made by a plugin outlives the registry", "[registry]") {
  std::shared_ptr<cloze::Corruption> corruption;
  {
    cloze::Registry registry;
    registry.load_library(test_plugin("good_plugin"));
    corruption = registry.make_corruption("keep_all", cloze::Params("corruption", {}));
  }
  // The library stays loaded while the object lives: calling into it works.
  CHECK(corruption->incompatibility(cloze::UnitSpec{}).empty());
}

TEST_CASE("loading the same library twice is harmless", "[registry]") {
  cloze::Registry registry;
  registry.load_library(test_plugin("good_plugin"));
  REQUIRE_NOTHROW(registry.load_library(test_plugin("good_plugin")));
  CHECK(registry.names(cloze::PluginKind::corruption).size() == 1);
}

TEST_CASE("a plugin with a foreign ABI stamp is refused naming the file", "[registry]") {
  cloze::Registry registry;
  REQUIRE_THROWS_WITH(registry.load_library(test_plugin("wrong_abi_plugin")),
                      Catch::Contains("libwrong_abi_plugin.so") && Catch::Contains("ABI stamp") &&
                          Catch::Contains("cloze-abi 0"));
}

TEST_CASE("a library without the entry point is refused naming the file", "[registry]") {
  cloze::Registry registry;
  REQUIRE_THROWS_WITH(registry.load_library(test_plugin("no_entry_plugin")),
                      Catch::Contains("libno_entry_plugin.so") && Catch::Contains("no cloze entry point"));
}

TEST_CASE("every shipped plugin loads from the build tree and registers its name", "[registry]") {
  cloze::Registry registry;
  registry.load_default_plugins();
  CHECK(registry.skipped().empty());
  CHECK(registry.names(cloze::PluginKind::modality) == std::vector<std::string>{"audio", "image", "synthetic", "text"});
  CHECK(registry.names(cloze::PluginKind::corruption) ==
        std::vector<std::string>{"patch_mask", "prefix_lm", "rotate", "sentence_permute", "span_infill", "span_mask",
                                 "text_infill", "token_deletion", "token_mask", "token_replace"});
  for (const auto& info : registry.list()) {
    INFO(info.name);
    CHECK(info.library.filename().string().rfind("libcloze_", 0) == 0);  // each from its own shipped library
    CHECK_FALSE(info.doc.empty());
  }
}

TEST_CASE("a plugin folder skips libraries that are not cloze plugins, naming them", "[registry]") {
  const auto dir = std::filesystem::temp_directory_path() / "cloze_test_plugin_folder";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(test_plugin("good_plugin"), dir / "libgood_plugin.so");
  std::filesystem::copy_file(test_plugin("no_entry_plugin"), dir / "libno_entry_plugin.so");
  std::ofstream(dir / "libnot_elf.so") << "this is not an ELF file";
  cloze::Registry registry;
  REQUIRE_NOTHROW(registry.load_directory(dir));
  CHECK(registry.contains(cloze::PluginKind::corruption, "keep_all"));
  REQUIRE(registry.skipped().size() == 2);
  CHECK_THAT(registry.skipped()[0], Catch::Contains("libno_entry_plugin.so: no cloze entry point"));
  CHECK_THAT(registry.skipped()[1], Catch::Contains("libnot_elf.so: cannot be loaded"));
  // A cloze plugin built against another cloze is refused, not skipped.
  std::filesystem::copy_file(test_plugin("wrong_abi_plugin"), dir / "libwrong_abi_plugin.so");
  cloze::Registry again;
  CHECK_THROWS_WITH(again.load_directory(dir), Catch::Contains("libwrong_abi_plugin.so") && Catch::Contains("ABI stamp"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("an unreadable or missing library is refused naming the file", "[registry]") {
  cloze::Registry registry;
  REQUIRE_THROWS_WITH(registry.load_library("/nonexistent/libnothing.so"),
                      Catch::Contains("/nonexistent/libnothing.so") && Catch::Contains("no such file"));
  const auto garbage = std::filesystem::temp_directory_path() / "libcloze_garbage_test.so";
  std::ofstream(garbage) << "this is not an ELF file";
  REQUIRE_THROWS_WITH(registry.load_library(garbage),
                      Catch::Contains("libcloze_garbage_test.so") && Catch::Contains("cannot be loaded"));
  std::filesystem::remove(garbage);
}

TEST_CASE("a duplicate name is refused naming both libraries", "[registry]") {
  cloze::Registry registry;
  registry.load_library(test_plugin("good_plugin"));
  REQUIRE_THROWS_WITH(registry.load_library(test_plugin("duplicate_plugin")),
                      Catch::Contains("libduplicate_plugin.so") && Catch::Contains("libgood_plugin.so") &&
                          Catch::Contains("already registered"));
}

TEST_CASE("an unknown plugin name gets a did-you-mean", "[registry]") {
  cloze::Registry registry;
  registry.load_library(test_plugin("good_plugin"));
  REQUIRE_THROWS_WITH(registry.info(cloze::PluginKind::corruption, "keep_al"),
                      Catch::Contains("unknown corruption 'keep_al'") && Catch::Contains("did you mean 'keep_all'"));
  REQUIRE_THROWS_WITH(registry.info(cloze::PluginKind::corruption, "zzzzzzzz"), !Catch::Contains("did you mean"));
}

TEST_CASE("a schema whose default does not match its type is refused", "[registry]") {
  cloze::Registry registry;
  REQUIRE_THROWS_WITH(
      registry.add_corruption("bad", "", {{"rate", cloze::ParamType::real, int64_t{1}, "a rate"}},
                              [](const cloze::Params&) { return std::shared_ptr<cloze::Corruption>(); }),
      Catch::Contains("'rate'") && Catch::Contains("declared float"));
}

TEST_CASE("the shipped plugins are found in the build tree", "[registry]") {
  cloze::Registry registry;
  registry.load_default_plugins();
  CHECK(registry.contains(cloze::PluginKind::modality, "text"));
  CHECK(registry.contains(cloze::PluginKind::corruption, "token_mask"));
}

TEST_CASE("edit distance and suggestions", "[registry]") {
  CHECK(cloze::edit_distance("kitten", "sitting") == 3);
  CHECK(cloze::edit_distance("", "abc") == 3);
  CHECK(cloze::closest_match("stpes", {"steps", "lr", "batch_size"}) == "steps");
  CHECK(cloze::closest_match("completely_different", {"steps", "lr"}).empty());
}

TEST_CASE("every shipped plugin's README holds its schema's parameter table", "[registry]") {
  // The table, with its ranges and choices, is what `cloze plugins --describe`
  // prints: one declaration, in the schema.
  const auto source = std::filesystem::path(__FILE__).parent_path().parent_path();
  const auto plugins = test_support::registry().list();
  REQUIRE(plugins.size() >= 14);
  for (const cloze::PluginInfo& plugin : plugins) {
    CAPTURE(plugin.name);
    const auto folder = source / (plugin.kind == cloze::PluginKind::corruption ? "objectives" : "plugins");
    std::ifstream in(folder / plugin.name / "README.md");
    REQUIRE(in);
    const std::string readme(std::istreambuf_iterator<char>(in), {});
    CHECK_THAT(readme, Catch::Contains(cloze::describe(plugin.schema)));
  }
}
