// Sweep files for `cloze compare`: runs in file order, grids expanded into
// one run per combination with the overrides in order, and errors that name
// the file and line.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "cloze/core/error.h"
#include "cloze/evaluate/sweep.h"

namespace fs = std::filesystem;

namespace {

// A fresh folder per test case (ctest runs cases in parallel) holding an
// experiment file for the sweeps to point at.
struct Folder {
  fs::path dir;
  explicit Folder(const std::string& name) : dir(fs::temp_directory_path() / ("cloze-test-sweep-" + name)) {
    fs::remove_all(dir);
    fs::create_directories(dir / "configs");
    std::ofstream(dir / "configs" / "a.toml") << "[run]\nseed = 1\n";
  }
  ~Folder() { fs::remove_all(dir); }
  fs::path write(const std::string& text) const {
    const fs::path path = dir / "sweep.toml";
    std::ofstream(path) << text;
    return path;
  }
};

}  // namespace

TEST_CASE("a sweep lists its runs in order with their overrides") {
  Folder f("order");
  const auto sweep = cloze::load_sweep(f.write(R"(
[sweep]
dir = "runs/x"
overrides = ["run.threads=1"]
probe_train = 50

[[runs]]
name = "first"
config = "configs/a.toml"
overrides = ["train.steps=3"]

[[runs]]
name = "second"
config = "configs/a.toml"
)"));
  CHECK(sweep.title == "sweep");
  CHECK(sweep.dir == "runs/x");
  CHECK(sweep.probe_train == 50);
  CHECK(sweep.probe_eval == 1000);
  REQUIRE(sweep.runs.size() == 2);
  CHECK(sweep.runs[0].name == "first");
  CHECK(sweep.runs[0].config == (f.dir / "configs" / "a.toml").lexically_normal());
  CHECK(sweep.runs[0].overrides == std::vector<std::string>{"run.threads=1", "train.steps=3"});
  CHECK(sweep.runs[1].overrides == std::vector<std::string>{"run.threads=1"});
}

TEST_CASE("a grid expands into one run per combination, last key fastest") {
  Folder f("grid");
  const auto sweep = cloze::load_sweep(f.write(R"(
[sweep]
dir = "runs/x"

[[runs]]
name = "mae"
config = "configs/a.toml"
overrides = ["train.steps=3"]
grid = { "corruption.pattern" = ["random", "block"], "corruption.ratio" = [0.5, 0.75] }
)"));
  REQUIRE(sweep.runs.size() == 4);
  CHECK(sweep.runs[0].name == "mae-pattern=random-ratio=0.5");
  CHECK(sweep.runs[1].name == "mae-pattern=random-ratio=0.75");
  CHECK(sweep.runs[3].name == "mae-pattern=block-ratio=0.75");
  CHECK(sweep.runs[3].overrides ==
        std::vector<std::string>{"train.steps=3", "corruption.pattern=\"block\"", "corruption.ratio=0.75"});
}

TEST_CASE("bad sweeps are refused naming the file and line") {
  Folder f("errors");
  const std::string head = "[sweep]\ndir = \"runs/x\"\n\n[[runs]]\nname = \"a\"\n";
  CHECK_THROWS_WITH(cloze::load_sweep(f.write(head + "config = \"configs/a.toml\"\nconfg = 1\n")),
                    Catch::Contains("sweep.toml:7: unknown key 'confg'") && Catch::Contains("did you mean 'config'"));
  CHECK_THROWS_WITH(cloze::load_sweep(f.write(head + "config = \"configs/missing.toml\"\n")),
                    Catch::Contains("sweep.toml:6: config") && Catch::Contains("missing.toml: no such file"));
  const std::string run_a = "\n[[runs]]\nname = \"a\"\nconfig = \"configs/a.toml\"\n";
  CHECK_THROWS_WITH(cloze::load_sweep(f.write(head + "config = \"configs/a.toml\"\n" + run_a)),
                    Catch::Contains("two runs are named 'a'"));
  CHECK_THROWS_WITH(cloze::load_sweep(f.write(head + "config = \"configs/a.toml\"\ngrid = { corruption.ratio = [0.5] }\n")),
                    Catch::Contains("quote dotted keys"));
  CHECK_THROWS_WITH(cloze::load_sweep(f.write(head + "config = \"configs/a.toml\"\ngrid = { \"ratio\" = [0.5] }\n")),
                    Catch::Contains("must be section.key"));
  CHECK_THROWS_WITH(cloze::load_sweep(f.write("[sweep]\ndir = \"runs/x\"\n")), Catch::Contains("lists no [[runs]]"));
  CHECK_THROWS_WITH(cloze::load_sweep(f.write("[sweep]\ntitle = \"t\"\n[[runs]]\nname = \"a\"\nconfig = \"configs/a.toml\"\n")),
                    Catch::Contains("[sweep] needs 'dir'"));
  CHECK_THROWS_WITH(cloze::load_sweep(f.write("[sweep]\ndir = \"x\"\nprobe_train = 0\n")),
                    Catch::Contains("sweep.toml:3: 'sweep.probe_train' must be a positive integer"));
  CHECK_THROWS_WITH(cloze::load_sweep(f.write("[sweep\n")), Catch::Contains("sweep.toml:1"));
}

TEST_CASE("protocols, seeds and the fine-tuning budget, each refused naming its line when wrong") {
  Folder f("protocols");
  const std::string runs = "\n[[runs]]\nname = \"a\"\nconfig = \"configs/a.toml\"\n";
  const auto plain = cloze::load_sweep(f.write("[sweep]\ndir = \"runs/x\"\n" + runs));
  CHECK(plain.protocols == std::vector<std::string>{"linear"});
  CHECK(plain.seeds == 1);
  CHECK(cloze::seed_folder(plain, plain.runs[0], 1) == fs::path("runs/x/a/seed-1"));

  const auto full = cloze::load_sweep(f.write(
      "[sweep]\ndir = \"runs/x\"\nprotocols = [\"finetune\", \"linear\", \"knn\", \"linear\"]\nseeds = 3\n"
      "finetune_steps = 40\nfinetune_lrs = [1e-3, 5e-4]\n" + runs));
  CHECK(full.protocols == std::vector<std::string>{"linear", "knn", "finetune"});  // fixed order, each once
  CHECK(full.seeds == 3);
  CHECK(full.finetune_steps == 40);
  CHECK(full.finetune_lrs == std::vector<double>{1e-3, 5e-4});
  CHECK(cloze::seed_folder(full, full.runs[0], 3) == fs::path("runs/x/a/seed-3"));

  CHECK_THROWS_WITH(cloze::load_sweep(f.write("[sweep]\ndir = \"x\"\nprotocols = [\"knm\"]\n" + runs)),
                    Catch::Contains("sweep.toml:3: unknown protocol 'knm'") && Catch::Contains("did you mean 'knn'"));
  CHECK_THROWS_WITH(cloze::load_sweep(f.write("[sweep]\ndir = \"x\"\nprotocols = []\n" + runs)),
                    Catch::Contains("sweep.toml:3") && Catch::Contains("at least one"));
  CHECK_THROWS_WITH(cloze::load_sweep(f.write("[sweep]\ndir = \"x\"\nseeds = 0\n" + runs)),
                    Catch::Contains("sweep.toml:3: 'sweep.seeds' must be a positive integer"));
  CHECK_THROWS_WITH(cloze::load_sweep(f.write("[sweep]\ndir = \"x\"\nfinetune_lrs = [1e-3, -1.0]\n" + runs)),
                    Catch::Contains("sweep.toml:3: 'sweep.finetune_lrs' must be a list of positive numbers"));
  CHECK_THROWS_WITH(cloze::load_sweep(f.write("[sweep]\ndir = \"x\"\nfinetune_lrs = 3e-4\n" + runs)),
                    Catch::Contains("sweep.toml:3: 'sweep.finetune_lrs' must be a list of positive numbers"));
}
