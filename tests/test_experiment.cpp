// Tests of the TOML experiment loader: defaults, file:line errors with
// did-you-mean, type checks, command-line overrides, plugin switching, and
// the resolved config written back out and read again unchanged. The plugins
// are fakes registered in-process, so no library is built or loaded.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "cloze/config/experiment.h"
#include "cloze/core/error.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using Catch::Matchers::StartsWith;
using cloze::ParamType;
using cloze::Value;
using Strings = std::vector<std::string>;

namespace {

cloze::SectionSchemas framework_sections() {
  return {
      {"run",
       {{"seed", ParamType::integer, int64_t{0}, "random seed"},
        {"device", ParamType::string, std::string("cpu"), "where to train"}}},
      {"train",
       {{"steps", ParamType::integer, int64_t{1000}, "optimizer steps"},
        {"lr", ParamType::real, 1e-3, "peak learning rate"},
        {"bf16", ParamType::boolean, false, "bf16 autocast"},
        {"tags", ParamType::string_list, Strings{}, "labels for the run"}}},
  };
}

// Two fake modalities and two fake corruptions; their factories are never called.
void add_fake_plugins(cloze::Registry& registry) {
  auto no_modality = [](const cloze::Params&, const cloze::ModalityContext&) {
    return std::shared_ptr<cloze::Modality>();
  };
  auto no_corruption = [](const cloze::Params&) { return std::shared_ptr<cloze::Corruption>(); };
  registry.add_modality("fake_text", "text",
                        {{"tokenizer", ParamType::string, std::string("byte"), "tokenizer"},
                         {"max_len", ParamType::integer, int64_t{128}, "tokens per sample"},
                         {"corpora", ParamType::string_list, Strings{"a.txt"}, "text files"}},
                        no_modality);
  registry.add_modality("fake_image", "image", {{"patch", ParamType::integer, int64_t{4}, "patch side"}}, no_modality);
  registry.add_corruption("fake_mask", "mask",
                          {cloze::ParamSpec{"ratio", ParamType::real, 0.15, "share masked"}.above(0).below(1)},
                          no_corruption);
  registry.add_corruption("fake_span", "span", {{"mean_span", ParamType::real, 3.0, "mean span"}}, no_corruption);
}

const std::string minimal = R"([modality]
name = "fake_text"

[corruption]
name = "fake_mask"
)";

// A file with only [modality], for the corruption tables the tests add.
const std::string modality_only = "[modality]\nname = \"fake_text\"\n";

// Parses `text` as "mlm.toml" against the fake sections and plugins.
cloze::Experiment parse(const std::string& text, const Strings& overrides = {}) {
  cloze::Registry registry;
  add_fake_plugins(registry);
  return cloze::parse_experiment(text, "mlm.toml", overrides, registry, framework_sections());
}

// A fresh folder under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("cloze_test_experiment_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return path / name;
  }
};

}  // namespace

TEST_CASE("every section and key is filled with its default") {
  const auto experiment = parse(minimal);
  CHECK(experiment.modality == "fake_text");
  CHECK(experiment.corruption.name() == "fake_mask");
  CHECK(experiment.sections.size() == 3);  // run, train, modality
  CHECK(experiment.section("run").integer("seed") == 0);
  CHECK(experiment.section("run").string("device") == "cpu");
  CHECK(experiment.section("train").real("lr") == 1e-3);
  CHECK(experiment.section("train").strings("tags").empty());
  CHECK(experiment.section("train").origin("steps") == "default");
  const auto& modality = experiment.section("modality");
  CHECK(modality.section() == "modality");
  CHECK(modality.values().count("name") == 0);
  CHECK(modality.strings("corpora") == Strings{"a.txt"});
  CHECK(experiment.corruption.params().real("ratio") == 0.15);
  CHECK(experiment.plugin_paths.empty());
}

TEST_CASE("values from the file carry their file:line") {
  const auto experiment = parse(R"([train]
steps = 50
bf16 = true
tags = ["x", "y"]

[modality]
name = "fake_text"
max_len = 64

[corruption]
name = "fake_mask"
)");
  const auto& train = experiment.section("train");
  CHECK(train.integer("steps") == 50);
  CHECK(train.boolean("bf16"));
  CHECK(train.strings("tags") == Strings{"x", "y"});
  CHECK(train.origin("steps") == "mlm.toml:2");
  CHECK(train.origin("tags") == "mlm.toml:4");
  CHECK(experiment.section("modality").integer("max_len") == 64);
  CHECK(experiment.section("modality").origin("max_len") == "mlm.toml:8");
  CHECK_THROWS_WITH(experiment.section("modality").require(false, "max_len", "too short"),
                    Equals("mlm.toml:8: modality.max_len = 64: too short"));
}

TEST_CASE("an unknown key names file, line and the closest key") {
  const std::string text = minimal + "\n[train]\nstepz = 3\n";
  CHECK_THROWS_WITH(parse(text), Equals("mlm.toml:8: unknown key 'train.stepz'; did you mean 'train.steps'?"));
  CHECK_THROWS_WITH(parse(minimal + "\n[run]\nzzzzzzzz = 1\n"), Equals("mlm.toml:8: unknown key 'run.zzzzzzzz'"));
  CHECK_THROWS_WITH(parse("[modality]\nname = \"fake_text\"\ntokeniser = \"x\"\n[corruption]\nname = \"fake_mask\"\n"),
                    Equals("mlm.toml:3: unknown key 'modality.tokeniser'; did you mean 'modality.tokenizer'?"));
}

TEST_CASE("unknown sections, keys outside sections and nested tables are refused") {
  CHECK_THROWS_WITH(parse(minimal + "[trian]\nsteps = 3\n"),
                    Equals("mlm.toml:6: unknown section [trian]; did you mean 'train'?"));
  CHECK_THROWS_WITH(parse("seeds = 3\n" + minimal),
                    Equals("mlm.toml:1: key 'seeds' is outside any section; did you mean 'run.seed'?"));
  CHECK_THROWS_WITH(parse(minimal + "[train.optimizer]\nname = \"adam\"\n"),
                    Equals("mlm.toml:6: 'train.optimizer' is a nested table; a section holds only plain keys"));
  CHECK_THROWS_WITH(parse(minimal + "[[train]]\nsteps = 3\n"), StartsWith("mlm.toml:6: 'train' must be a section"));
}

TEST_CASE("a wrong type names the expected and the actual type") {
  CHECK_THROWS_WITH(parse(minimal + "[train]\nsteps = \"many\"\n"),
                    Equals("mlm.toml:7: train.steps: expected integer, got string"));
  CHECK_THROWS_WITH(parse(minimal + "[train]\nsteps = 1.5\n"),
                    Equals("mlm.toml:7: train.steps: expected integer, got float"));
  CHECK_THROWS_WITH(parse(minimal + "[train]\nbf16 = 1\n"),
                    Equals("mlm.toml:7: train.bf16: expected boolean, got integer"));
  CHECK_THROWS_WITH(parse(minimal + "[train]\ntags = [\"a\", 1]\n"),
                    Equals("mlm.toml:7: train.tags: expected array of strings, got mixed array"));
  CHECK_THROWS_WITH(parse(minimal + "[train]\ntags = [1, 2]\n"),
                    Equals("mlm.toml:7: train.tags: expected array of strings, got array of integers"));
  CHECK_THROWS_WITH(parse(minimal + "[train]\ntags = \"a\"\n"),
                    Equals("mlm.toml:7: train.tags: expected array of strings, got string"));
  CHECK_THROWS_WITH(parse(minimal + "[run]\ndevice = [\"cpu\"]\n"),
                    Equals("mlm.toml:7: run.device: expected string, got array of strings"));
}

TEST_CASE("a value outside its schema's range or choices names file:line, key, value and what is allowed") {
  CHECK_THROWS_WITH(parse(minimal + "ratio = 1.5\n"), Equals("mlm.toml:6: corruption.ratio = 1.5: must be in (0, 1)"));
  CHECK_THROWS_WITH(parse(minimal + "ratio = 0\n"), Equals("mlm.toml:6: corruption.ratio = 0.0: must be in (0, 1)"));
  CHECK_THROWS_WITH(parse(minimal, {"corruption.ratio=1"}),
                    Equals("override 'corruption.ratio=1': corruption.ratio = 1.0: must be in (0, 1)"));
  CHECK(parse(minimal + "ratio = 0.999\n").corruption.params().real("ratio") == 0.999);
  // A chain stage's parameters are checked against the same schema.
  CHECK_THROWS_WITH(parse(modality_only + "[[corruption.chain]]\nname = \"fake_mask\"\nratio = 2.0\n"),
                    Contains("mlm.toml:5") && Contains("ratio = 2.0: must be in (0, 1)"));
}

TEST_CASE("a schema says what is allowed, checks it, and prints it") {
  using cloze::ParamSpec;
  const ParamSpec rate = ParamSpec{"rate", ParamType::real, 0.5, "share"}.within(0, 1);
  const ParamSpec span = ParamSpec{"span", ParamType::integer, int64_t{3}, "units"}.at_least(1);
  const ParamSpec lambda = ParamSpec{"lambda", ParamType::real, 3.0, "mean"}.above(0).at_most(30);
  const ParamSpec mode = ParamSpec{"mode", ParamType::string, std::string("fill"), "how"}.one_of({"fill", "sequence"});
  const ParamSpec ends = ParamSpec{"ends", ParamType::string_list, Strings{"."}, "ends"}.one_of({".", "!", "?"});
  CHECK(rate.allowed() == "[0, 1]");
  CHECK(span.allowed() == ">= 1");
  CHECK(lambda.allowed() == "(0, 30]");
  CHECK(mode.allowed() == "\"fill\" or \"sequence\"");
  CHECK(ParamSpec{"free", ParamType::real, 0.0, "any"}.allowed().empty());

  CHECK(rate.violation(Value{1.0}).empty());
  CHECK(rate.violation(Value{1.0 + 1e-12}) == "must be in [0, 1]");
  CHECK(rate.violation(Value{std::numeric_limits<double>::quiet_NaN()}) == "must be in [0, 1]");
  CHECK(span.violation(Value{int64_t{0}}) == "must be at least 1");
  CHECK(lambda.violation(Value{0.0}) == "must be in (0, 30]");
  CHECK(ParamSpec{"p", ParamType::real, 0.5, "p"}.below(1).violation(Value{1.0}) == "must be below 1");
  CHECK(mode.violation(Value{std::string("sequense")}) == "must be \"fill\" or \"sequence\"; did you mean 'sequence'?");
  CHECK_THAT(ends.violation(Value{Strings{".", ";"}}), StartsWith("must be \".\", \"!\" or \"?\""));
  CHECK(ends.violation(Value{Strings{".", "?"}}).empty());

  cloze::Params params("corruption", {rate, mode});
  CHECK_THROWS_WITH(params.set("rate", 2.0, "x.toml:3"), Equals("x.toml:3: corruption.rate = 2.0: must be in [0, 1]"));
  CHECK_THROWS_WITH(cloze::Params("corruption", {ParamSpec{"rate", ParamType::real, 1.5, "share"}.within(0, 1)}),
                    Contains("the default of 'rate', 1.5, is not allowed"));
  CHECK_THAT(cloze::describe({rate, mode, ParamSpec{"free", ParamType::boolean, false, "flag"}}),
             Equals("| parameter | type | default | allowed | meaning |\n|---|---|---|---|---|\n"
                    "| `rate` | float | `0.5` | [0, 1] | share |\n"
                    "| `mode` | string | `\"fill\"` | \"fill\" or \"sequence\" | how |\n"
                    "| `free` | boolean | `false` | any | flag |\n"));
}

TEST_CASE("an integer is accepted where a float is expected") {
  const auto experiment = parse(minimal + "[train]\nlr = 1\n");
  CHECK(cloze::type_of(experiment.section("train").at("lr")) == ParamType::real);
  CHECK(experiment.section("train").real("lr") == 1.0);
}

TEST_CASE("TOML syntax errors give file:line:column") {
  CHECK_THROWS_WITH(parse("[train]\nsteps = \n"), StartsWith("mlm.toml:2:9: "));
}

TEST_CASE("plugin sections need a known name") {
  CHECK_THROWS_WITH(parse("[modality]\nname = \"fake_txt\"\n"),
                    StartsWith("mlm.toml:2: unknown modality 'fake_txt'; did you mean 'fake_text'?"));
  CHECK_THROWS_WITH(parse("[corruption]\nname = \"fake_mask\"\n"),
                    Equals("mlm.toml: [modality] needs name = \"...\", one of: fake_image, fake_text"));
  CHECK_THROWS_WITH(parse("[modality]\nname = \"fake_text\"\n[corruption]\nratio = 0.2\n"),
                    Equals("mlm.toml:3: [corruption] needs name = \"...\", one of: fake_mask, fake_span"));
  CHECK_THROWS_WITH(parse("[modality]\nnmae = \"fake_text\"\n"),
                    Equals("mlm.toml:2: unknown key 'modality.nmae'; did you mean 'modality.name'?"));
  CHECK_THROWS_WITH(parse("[modality]\nname = 3\n"), Equals("mlm.toml:2: modality.name: expected string, got integer"));
}

TEST_CASE("overrides set values after the file and name themselves") {
  const std::string text = minimal + "[train]\nsteps = 50\n";
  SECTION("typed values replace the file's, with the override as origin") {
    const auto experiment = parse(text, {"train.steps=7", "train.lr=1", "train.bf16=true", "run.seed=-3"});
    const auto& train = experiment.section("train");
    CHECK(train.integer("steps") == 7);
    CHECK(train.origin("steps") == "override 'train.steps=7'");
    CHECK(train.real("lr") == 1.0);
    CHECK(train.boolean("bf16"));
    CHECK(experiment.section("run").integer("seed") == -3);
  }
  SECTION("strings may be bare or quoted, lists may be one bare string") {
    const auto experiment = parse(text, {"modality.tokenizer=word piece", "run.device=\"cuda:0\"", "train.tags=solo",
                                         "modality.corpora=[\"a\", \"b\"]"});
    CHECK(experiment.section("modality").string("tokenizer") == "word piece");
    CHECK(experiment.section("run").string("device") == "cuda:0");
    CHECK(experiment.section("train").strings("tags") == Strings{"solo"});
    CHECK(experiment.section("modality").strings("corpora") == Strings{"a", "b"});
    CHECK(parse(text, {"run.device=123"}).section("run").string("device") == "123");
  }
  SECTION("later overrides win") {
    CHECK(parse(text, {"train.steps=1", "train.steps=2"}).section("train").integer("steps") == 2);
  }
  SECTION("bad values, unknown keys and malformed overrides are refused") {
    CHECK_THROWS_WITH(parse(text, {"train.steps=abc"}),
                      Equals("override 'train.steps=abc': train.steps: expected integer, got 'abc'"));
    CHECK_THROWS_WITH(parse(text, {"train.steps=1.5"}),
                      Equals("override 'train.steps=1.5': train.steps: expected integer, got '1.5'"));
    CHECK_THROWS_WITH(parse(text, {"train.steps=3\nfoo = 1"}), Contains("expected integer"));
    CHECK_THROWS_WITH(parse(text, {"train.bf16=yes"}), Contains("train.bf16: expected boolean, got 'yes'"));
    CHECK_THROWS_WITH(parse(text, {"train.tags=[1]"}), Contains("train.tags: expected array of strings, got '[1]'"));
    CHECK_THROWS_WITH(parse(text, {"run.device=\"cpu"}), Contains("run.device: expected string"));
    CHECK_THROWS_WITH(parse(text, {"train.stepz=3"}),
                      Equals("override 'train.stepz=3': unknown key 'train.stepz'; did you mean 'train.steps'?"));
    CHECK_THROWS_WITH(parse(text, {"trian.steps=3"}),
                      Equals("override 'trian.steps=3': unknown section [trian]; did you mean 'train'?"));
    for (const std::string bad : {"steps=3", "train.steps", ".steps=3", "train.=3", "train.a.b=3"})
      CHECK_THROWS_WITH(parse(text, {bad}), Equals("override '" + bad + "': expected section.key=value"));
  }
}

TEST_CASE("overriding a plugin name switches the plugin and its schema") {
  const auto image = parse(minimal, {"modality.name=fake_image", "modality.patch=8"});
  CHECK(image.modality == "fake_image");
  CHECK(image.section("modality").integer("patch") == 8);
  CHECK(image.section("modality").values().count("tokenizer") == 0);

  const auto span = parse(minimal, {"corruption.name=fake_span", "corruption.mean_span=5"});
  CHECK(span.corruption.name() == "fake_span");
  CHECK(span.corruption.params().real("mean_span") == 5.0);
  // The old plugin's key set in the file no longer exists: the file line is blamed.
  CHECK_THROWS_WITH(parse(minimal + "ratio = 0.3\n", {"corruption.name=fake_span"}),
                    Equals("mlm.toml:6: unknown key 'corruption.ratio'"));
  CHECK_THROWS_WITH(parse(minimal, {"corruption.name=fake_spam"}),
                    StartsWith("override 'corruption.name=fake_spam': unknown corruption 'fake_spam'; did you mean "
                               "'fake_span'?"));
}

TEST_CASE("the resolved config round-trips through to_toml") {
  const std::string text = R"([run]
seed = -9223372036854775808
device = "say \"hi\"\\path\nnext line\ttab é"

[train]
lr = 0.1
tags = ["", "a'b", "c\"d", "back\\slash", "new\nline"]
bf16 = true

[modality]
name = "fake_text"
tokenizer = 'C:\raw'
max_len = 9223372036854775807

[corruption]
name = "fake_mask"
ratio = 1e-4
)";
  const auto experiment = parse(text, {"train.steps=12"});
  CHECK(experiment.section("train").real("lr") == 0.1);
  CHECK(experiment.corruption.params().real("ratio") == 1e-4);
  CHECK(experiment.section("run").integer("seed") == std::numeric_limits<int64_t>::min());
  CHECK(experiment.section("run").string("device") == "say \"hi\"\\path\nnext line\ttab \xc3\xa9");
  CHECK(experiment.section("train").strings("tags") == Strings{"", "a'b", "c\"d", "back\\slash", "new\nline"});

  const std::string resolved = experiment.to_toml();
  CHECK_THAT(resolved, Contains("[modality]\nname = \"fake_text\"\ncorpora = [\"a.txt\"]\n"));
  CHECK_THAT(resolved, Contains("steps = 12\n"));  // an override is written as the value it set
  CHECK_THAT(resolved, Contains("tokenizer = \"C:\\\\raw\"\n"));  // a literal string comes back escaped
  const auto again = parse(resolved);
  CHECK(again == experiment);
  CHECK(again.to_toml() == resolved);
  CHECK(again.corruption.params().real("ratio") == 1e-4);

  SECTION("equality sees values, not the source") {
    auto changed = again;
    changed.source = "elsewhere.toml";
    CHECK(changed == experiment);
    changed.sections["train"].set("lr", 0.1000000000000001, "test");
    CHECK_FALSE(changed == experiment);
  }
}

TEST_CASE("config_difference names the first line where two resolved configs part") {
  const std::string recorded = parse(minimal, {"run.seed=1", "train.lr=0.1"}).to_toml();
  CHECK_FALSE(cloze::config_difference(recorded, recorded));
  const std::string now = parse(minimal, {"run.seed=4", "train.lr=0.2"}).to_toml();
  CHECK(cloze::config_difference(recorded, now) == std::string("[run] `seed = 1` recorded, `seed = 4` now"));
  CHECK(cloze::config_difference(recorded, now, {"run.seed"}) ==
        std::string("[train] `lr = 0.1` recorded, `lr = 0.2` now"));
  CHECK_FALSE(cloze::config_difference(recorded, parse(minimal, {"run.seed=4", "train.lr=0.1"}).to_toml(),
                                       {"run.seed"}));
  // A key only one side has: the other side has nothing there.
  CHECK(cloze::config_difference(recorded, recorded + "extra = 1\n") ==
        std::string("[corruption] nothing recorded, `extra = 1` now"));
}

TEST_CASE("a recorded config missing a key added since counts it at its default") {
  TempDir dir;
  cloze::Registry registry;
  add_fake_plugins(registry);
  const cloze::Experiment now = parse(minimal);
  // As written before [train] had `bf16`: the line is absent from the record.
  std::string recorded = now.to_toml();
  const auto line = recorded.find("bf16 = false\n");
  REQUIRE(line != std::string::npos);
  recorded.erase(line, std::string("bf16 = false\n").size());
  const auto file = dir.write("config.toml", recorded);
  CHECK_NOTHROW(cloze::require_recorded_config(file, now, {}, "advice", registry, framework_sections()));
  // The key at another value than its default is another run.
  CHECK_THROWS_WITH(
      cloze::require_recorded_config(file, parse(minimal, {"train.bf16=true"}), {}, "advice", registry,
                                     framework_sections()),
      Catch::Contains("config.toml records another configuration") && Catch::Contains("`bf16 = true` now") &&
          Catch::EndsWith("advice"));
  // A record that no longer parses (a key since removed) is compared as written.
  const auto stale = dir.write("stale.toml", now.to_toml() + "removed = 1\n");
  CHECK_THROWS_WITH(cloze::require_recorded_config(stale, now, {}, "advice", registry, framework_sections()),
                    Catch::Contains("`removed = 1` recorded"));
}

TEST_CASE("load_experiment reads a file and names it in messages") {
  TempDir dir;
  fs::create_directories(dir.path / "configs");
  fs::create_directories(dir.path / "my_plugins");
  const auto good = dir.write("configs/good.toml", "[plugins]\npaths = [\"../my_plugins/\"]\n\n" + minimal);
  cloze::Registry registry;
  add_fake_plugins(registry);
  const auto sections = framework_sections();

  const auto experiment = cloze::load_experiment(good, {}, registry, sections);
  CHECK(experiment.source == good.string());
  CHECK(experiment.plugin_paths == Strings{(dir.path / "my_plugins").string()});
  CHECK(cloze::parse_experiment(experiment.to_toml(), "resolved.toml", {}, registry, sections) == experiment);

  const auto bad = dir.write("configs/bad.toml", minimal + "[train]\nstepz = 3\n");
  CHECK_THROWS_WITH(cloze::load_experiment(bad, {}, registry, sections),
                    Equals(bad.string() + ":7: unknown key 'train.stepz'; did you mean 'train.steps'?"));
  const auto no_folder = dir.write("configs/no_folder.toml", "[plugins]\npaths = [\"nope\"]\n" + minimal);
  CHECK_THROWS_WITH(cloze::load_experiment(no_folder, {}, registry, sections),
                    Equals(no_folder.string() + ":2: plugins.paths: no plugin folder " +
                           (dir.path / "configs" / "nope").string()));
  CHECK_THROWS_WITH(cloze::load_experiment(dir.path / "absent.toml", {}, registry, sections),
                    Equals("cannot read experiment " + (dir.path / "absent.toml").string() + ": no such file"));
}

TEST_CASE("a plugin folder in an override is relative to the working directory") {
  TempDir dir;
  fs::create_directories(dir.path / "configs");
  fs::create_directories(dir.path / "my_plugins");
  const auto config = dir.write("configs/mlm.toml", minimal);
  const auto previous = fs::current_path();
  fs::current_path(dir.path);
  cloze::Registry registry;
  add_fake_plugins(registry);
  Strings paths;
  CHECK_NOTHROW(paths = cloze::load_experiment(config, {"plugins.paths=my_plugins"}, registry, framework_sections())
                            .plugin_paths);
  fs::current_path(previous);
  CHECK(paths == Strings{(dir.path / "my_plugins").string()});
}

TEST_CASE("[plugins] keys are checked like any other section") {
  CHECK_THROWS_WITH(parse("[plugins]\npath = [\"x\"]\n" + minimal),
                    Equals("mlm.toml:2: unknown key 'plugins.path'; did you mean 'plugins.paths'?"));
  CHECK_THROWS_WITH(parse("[plugins]\npaths = \"x\"\n" + minimal),
                    Equals("mlm.toml:2: plugins.paths: expected array of strings, got string"));
}

TEST_CASE("a plugin may not declare a parameter called name") {
  cloze::Registry registry;
  add_fake_plugins(registry);
  registry.add_corruption("fake_named", "named", {{"name", ParamType::string, std::string("x"), "clashes"}},
                          [](const cloze::Params&) { return std::shared_ptr<cloze::Corruption>(); });
  CHECK_THROWS_WITH(cloze::parse_experiment(minimal, "mlm.toml", {"corruption.name=fake_named"}, registry,
                                            framework_sections()),
                    Contains("declares a parameter 'name'"));
}

TEST_CASE("asking for an unknown section names it") {
  const auto experiment = parse(minimal);
  CHECK_THROWS_WITH(experiment.section("trian"),
                    Equals("experiment mlm.toml has no section [trian]; did you mean 'train'?"));
}

TEST_CASE("a chain of corruptions: a list of names, or [[corruption.chain]] tables with parameters") {
  const auto listed = parse(modality_only + "[corruption]\nname = [\"fake_span\", \"fake_mask\"]\n");
  REQUIRE(listed.corruption.stages.size() == 2);
  CHECK(listed.corruption.name() == "fake_span+fake_mask");
  CHECK(listed.corruption.stages[1].params.real("ratio") == 0.15);
  CHECK(listed.corruption.mixture.empty());

  const auto tables = parse(modality_only + R"(
[[corruption.chain]]
name = "fake_mask"
ratio = 0.3

[[corruption.chain]]
name = "fake_mask"
ratio = 0.5
)");
  REQUIRE(tables.corruption.stages.size() == 2);
  CHECK(tables.corruption.stages[0].params.real("ratio") == 0.3);
  CHECK(tables.corruption.stages[1].params.real("ratio") == 0.5);
  CHECK(tables.corruption.stages[1].params.origin("ratio") == "mlm.toml:10");
  CHECK(tables.corruption.set_parameters() == "fake_mask.ratio=0.3 fake_mask.ratio=0.5");
  CHECK_THROWS_WITH(tables.corruption.params(), Contains("is a chain"));
  CHECK(parse(tables.to_toml()) == tables);
  CHECK(parse(listed.to_toml()) == listed);

  CHECK_THROWS_WITH(parse(modality_only + "[corruption]\nname = [\"fake_span\", \"fake_mask\"]\nratio = 0.2\n"),
                    StartsWith("mlm.toml:5: unknown key 'corruption.ratio': a list of names chains the corruptions "
                               "with their defaults; give parameters in [[corruption.chain]] tables"));
  CHECK_THROWS_WITH(parse(modality_only + "[corruption]\nname = []\n"),
                    Equals("mlm.toml:4: corruption.name: the list of corruptions is empty"));
  const std::string first = modality_only + "[[corruption.chain]]\nname = \"fake_span\"\n";
  CHECK_THROWS_WITH(parse(first + "[[corruption.chain]]\nname = \"fake_mask\"\nratioo = 0.2\n"),
                    Equals("mlm.toml:7: unknown key 'corruption.chain[1].ratioo'; did you mean "
                           "'corruption.chain[1].ratio'?"));
  CHECK_THROWS_WITH(parse(first + "[[corruption.chain]]\nratio = 0.2\n"),
                    StartsWith("mlm.toml:5: [corruption.chain[1]] needs name = \"...\""));
}

TEST_CASE("a mixture of corruptions: weights, mode tokens, labels, and chains inside entries") {
  const std::string text = R"([modality]
name = "fake_text"

[[corruption.mixture]]
name = "fake_span"
weight = 3
token = "[R]"
mean_span = 8

[[corruption.mixture]]
name = "fake_mask"

[[corruption.mixture]]
label = "both"
weight = 0.5
[[corruption.mixture.chain]]
name = "fake_span"
[[corruption.mixture.chain]]
name = "fake_mask"
ratio = 0.4
)";
  const auto experiment = parse(text);
  const auto& entries = experiment.corruption.mixture;
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].label == "R");  // the token without its brackets
  CHECK(entries[0].weight == 3.0);
  CHECK(entries[0].token == "[R]");
  CHECK(entries[0].stages.at(0).params.real("mean_span") == 8.0);
  CHECK(entries[1].label == "fake_mask");  // no token: the corruption's name
  CHECK(entries[1].weight == 1.0);
  CHECK(entries[2].label == "both");
  REQUIRE(entries[2].stages.size() == 2);
  CHECK(entries[2].stages[1].params.real("ratio") == 0.4);
  CHECK(experiment.corruption.name() == "mixture(R,fake_mask,both)");
  CHECK(experiment.corruption.set_parameters() == "R: mean_span=8.0; both: fake_mask.ratio=0.4");
  CHECK(parse(experiment.to_toml()) == experiment);

  CHECK_THROWS_WITH(parse(modality_only + "[[corruption.mixture]]\nname = \"fake_mask\"\n[[corruption.mixture]]\nname = "
                                 "\"fake_mask\"\nratio = 0.3\n"),
                    Equals("mlm.toml:5: [[corruption.mixture]] label 'fake_mask' is taken by the entry at mlm.toml:3; "
                           "give each entry its own label = \"...\""));
  CHECK_THROWS_WITH(parse(modality_only + "[[corruption.mixture]]\nname = \"fake_mask\"\nweight = 0\n"),
                    StartsWith("mlm.toml:5: corruption.mixture[0].weight = 0.0: must be a number above 0"));
  CHECK_THROWS_WITH(parse(modality_only + "[corruption]\nname = \"fake_mask\"\n[[corruption.mixture]]\nname = \"fake_mask\"\n"),
                    StartsWith("mlm.toml:4: unknown key 'corruption.name': with [[corruption.mixture]] entries"));
  CHECK_THROWS_WITH(parse(modality_only + "[corruption]\nmixture = 3\n"),
                    Equals("mlm.toml:4: 'corruption.mixture' must be one or more [[corruption.mixture]] tables"));
}

TEST_CASE("a chain of one corruption is that corruption") {
  const auto plain = parse(modality_only + "[corruption]\nname = \"fake_mask\"\nratio = 0.3\n");
  const auto listed = parse(modality_only + "[corruption]\nname = [\"fake_mask\"]\n");
  const auto table = parse(modality_only + "[[corruption.chain]]\nname = \"fake_mask\"\nratio = 0.3\n");
  CHECK(table == plain);
  CHECK(listed.corruption.params().real("ratio") == 0.15);
  CHECK(parse(listed.to_toml()) == listed);
  CHECK(table.to_toml() == plain.to_toml());
}
