// Checkpoints survive what a week-long run meets: they only ever appear
// whole, the `latest` pointer names a complete one, old ones go only after a
// new one is complete, a killed writer's leftovers are cleaned, and a write
// that fails (the disk fills up) leaves the earlier checkpoints as they were.
#include <signal.h>
#include <sys/resource.h>

#include <torch/nn/modules/linear.h>
#include <torch/optim/adamw.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <string>

#include "cloze/core/error.h"
#include "cloze/io/durable_file.h"
#include "cloze/train/checkpoint.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;

struct Trainable {
  torch::nn::Linear model{torch::nn::LinearOptions(8, 4)};
  torch::optim::AdamW optimizer{model->parameters(), torch::optim::AdamWOptions(1e-2)};

  void step() {
    optimizer.zero_grad();
    model->forward(at::ones({2, 8})).sum().backward();
    optimizer.step();
  }
};

std::string pointer_of(const fs::path& dir) { return test_support::read_bytes(dir / "latest"); }

// While alive, a file may grow to at most `bytes`: writes beyond fail with
// EFBIG, as they would with ENOSPC on a full disk.
struct FileSizeLimit {
  rlimit saved{};
  void (*saved_handler)(int);
  explicit FileSizeLimit(rlim_t bytes) {
    saved_handler = std::signal(SIGXFSZ, SIG_IGN);  // fail the write instead of killing the process
    getrlimit(RLIMIT_FSIZE, &saved);
    rlimit limit = saved;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, saved_handler);
  }
};

}  // namespace

TEST_CASE("checkpoints keep the newest K, the pointer names the newest, and loading restores it", "[checkpoint]") {
  const test_support::TempDir dir("checkpoint_keep");
  Trainable trained;
  for (int64_t step = 1; step <= 3; ++step) {
    trained.step();
    cloze::save_checkpoint(dir.path, *trained.model, trained.optimizer, {step, 10 * step, step - 1, 1.5e12 * static_cast<double>(step)}, 2);
  }
  CHECK_FALSE(fs::exists(dir.path / "checkpoint-1.pt"));
  CHECK(fs::exists(dir.path / "checkpoint-2.pt"));
  CHECK(pointer_of(dir.path) == "checkpoint-3.pt\n");
  CHECK(cloze::latest_checkpoint(dir.path) == dir.path / "checkpoint-3.pt");

  Trainable restored;
  const cloze::CheckpointState state = cloze::load_checkpoint(dir.path / "checkpoint-3.pt", *restored.model,
                                                               restored.optimizer);
  CHECK(state.step == 3);
  CHECK(state.next_batch == 30);
  CHECK(state.skipped_nonfinite == 2);  // the count of skipped updates goes on across a resume
  CHECK(state.train_flops == 4.5e12);     // and so does the cost spent so far
  CHECK(at::equal(restored.model->weight, trained.model->weight));
  // The optimizer's moments came back too: the next step is the same step.
  trained.step();
  restored.step();
  CHECK(at::equal(restored.model->weight, trained.model->weight));
}

TEST_CASE("a killed writer's temporaries are removed and never taken for a checkpoint", "[checkpoint]") {
  const test_support::TempDir dir("checkpoint_leftovers");
  Trainable trained;
  cloze::save_checkpoint(dir.path, *trained.model, trained.optimizer, {1, 0}, 2);
  test_support::write_bytes(cloze::temporary_for(dir.path / "checkpoint-2.pt"), "half a zip");
  test_support::write_bytes(cloze::temporary_for(dir.path / "latest"), "checkpoint-2.pt\n");
  CHECK(cloze::latest_checkpoint(dir.path) == dir.path / "checkpoint-1.pt");
  CHECK(cloze::remove_temporaries(dir.path) == 2);
  CHECK(cloze::remove_temporaries(dir.path) == 0);
  CHECK(fs::exists(dir.path / "checkpoint-1.pt"));

  // A pointer to a file that is gone falls back to the newest checkpoint present.
  test_support::write_bytes(dir.path / "latest", "checkpoint-7.pt\n");
  CHECK(cloze::latest_checkpoint(dir.path) == dir.path / "checkpoint-1.pt");
}

TEST_CASE("a save that fails for lack of space says so and leaves the earlier checkpoint intact", "[checkpoint]") {
  const test_support::TempDir dir("checkpoint_full_disk");
  Trainable trained;
  cloze::save_checkpoint(dir.path, *trained.model, trained.optimizer, {1, 0}, 1);
  const std::string before = test_support::read_bytes(dir.path / "checkpoint-1.pt");
  trained.step();
  {
    const FileSizeLimit full(static_cast<rlim_t>(before.size() / 2));
    CHECK_THROWS_WITH(cloze::save_checkpoint(dir.path, *trained.model, trained.optimizer, {2, 0}, 1),
                      Catch::Contains("checkpoint-2.pt") && Catch::Contains("File too large") &&
                          Catch::Contains("checkpoint-1.pt is intact"));
  }
  CHECK(test_support::read_bytes(dir.path / "checkpoint-1.pt") == before);
  CHECK(pointer_of(dir.path) == "checkpoint-1.pt\n");
  CHECK_FALSE(fs::exists(dir.path / "checkpoint-2.pt"));
  CHECK_FALSE(fs::exists(cloze::temporary_for(dir.path / "checkpoint-2.pt")));
  Trainable restored;
  CHECK(cloze::load_checkpoint(dir.path / "checkpoint-1.pt", *restored.model, restored.optimizer).step == 1);
}

TEST_CASE("a damaged checkpoint is refused with its file named", "[checkpoint]") {
  const test_support::TempDir dir("checkpoint_damaged");
  Trainable trained;
  const fs::path file = cloze::save_checkpoint(dir.path, *trained.model, trained.optimizer, {1, 0}, 1);
  const std::string bytes = test_support::read_bytes(file);
  test_support::write_bytes(file, bytes.substr(0, bytes.size() / 3));
  Trainable restored;
  CHECK_THROWS_WITH(cloze::load_checkpoint(file, *restored.model, restored.optimizer),
                    Catch::Contains("cannot read checkpoint " + file.string()));
}

TEST_CASE("a cache entry appears whole, the first builder's copy is kept, and a failed build leaves nothing",
          "[checkpoint]") {
  const test_support::TempDir temp("cache_entry");
  const fs::path& dir = temp.path;
  const fs::path target = dir / "entry";
  const auto build_with = [target](const std::string& text) {
    return [target, text](const fs::path& folder) {
      CHECK(folder.parent_path() == target.parent_path());  // beside the target, under another name
      CHECK(folder != target);
      fs::create_directories(folder);
      test_support::write_bytes(folder / "tokens", text);
    };
  };
  cloze::build_cache_entry(target, build_with("first"));
  CHECK(test_support::read_bytes(target / "tokens") == "first");
  // A builder that raced and lost: its copy is dropped, the published entry stays.
  cloze::build_cache_entry(target, build_with("second"));
  CHECK(test_support::read_bytes(target / "tokens") == "first");
  // A build that fails leaves neither the entry nor its temporary.
  CHECK_THROWS_WITH(cloze::build_cache_entry(dir / "broken",
                                             [](const fs::path& folder) {
                                               fs::create_directories(folder);
                                               throw cloze::Error("tokenizer failed");
                                             }),
                    "tokenizer failed");
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);  // only "entry"
}
