// Data-parallel training: torchrun's environment, the loader's shards, the
// gradient all-reduce (two ranks as two threads of this process, on Gloo over
// loopback), and `cloze train --nproc 2` against one process on the same
// global batch.
#include <catch2/catch.hpp>

#include <ATen/ops/randn.h>
#include <ATen/ops/zeros_like.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cloze/core/error.h"
#include "cloze/data/loader.h"
#include "cloze/distributed/collectives.h"
#include "cloze/distributed/gradient_sync.h"
#include "cloze/distributed/world.h"
#include "cloze/io/safetensors.h"
#include "test_support.h"
#include "toy_text.h"

using Catch::Matchers::Contains;

namespace {

// Sets environment variables for its lifetime (ctest runs each case in its
// own process, so nothing else sees them).
struct Environment {
  std::vector<std::string> names;
  Environment(std::initializer_list<std::pair<const char*, const char*>> variables) {
    for (const auto& [name, value] : variables) {
      ::setenv(name, value, 1);
      names.emplace_back(name);
    }
  }
  ~Environment() {
    for (const auto& name : names) ::unsetenv(name.c_str());
  }
};

cloze::World two_ranks_world(int rank, uint16_t port) {
  cloze::World world;
  world.rank = rank;
  world.size = 2;
  world.local_rank = rank;
  world.local_size = 2;
  world.master_port = port;
  return world;
}

}  // namespace

TEST_CASE("the world comes from torchrun's variables, and bad ones are named") {
  CHECK_FALSE(cloze::World::from_environment().distributed());
  {
    Environment env{{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
                    {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29512"}};
    const auto world = cloze::World::from_environment();
    CHECK(world.distributed());
    CHECK_FALSE(world.leader());
    CHECK(world.rank == 1);
    CHECK(world.size == 4);
    CHECK(world.local_size == 2);
    CHECK(world.master_addr == "node7");
    CHECK(world.master_port == 29512);
  }
  {
    Environment env{{"WORLD_SIZE", "2"}};
    CHECK_THROWS_WITH(cloze::World::from_environment(), Contains("RANK is not set"));
  }
  {
    Environment env{{"WORLD_SIZE", "2"}, {"RANK", "2"}};
    CHECK_THROWS_WITH(cloze::World::from_environment(), Contains("RANK=2") && Contains("[0, 1]"));
  }
  {
    Environment env{{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_PORT", "http"}};
    CHECK_THROWS_WITH(cloze::World::from_environment(), Contains("MASTER_PORT=http"));
  }
}

TEST_CASE("the shards of a batch are its rows, corrupted as in the whole batch") {
  constexpr int64_t vocab = 200;
  auto data = std::make_shared<toy::Text>(64, 24, vocab);
  auto corruption = toy::token_mask();
  corruption->prepare(toy::units(vocab));
  cloze::LoaderOptions whole_options;
  whole_options.batch_size = 8;
  cloze::Loader whole(data, corruption, 5, whole_options, /*first_batch=*/3);
  const int64_t shards = GENERATE(2, 4);
  std::vector<std::unique_ptr<cloze::Loader>> parts;
  for (int64_t index = 0; index < shards; ++index) {
    cloze::LoaderOptions options = whole_options;
    options.shard = {index, shards};
    parts.push_back(std::make_unique<cloze::Loader>(data, corruption, 5, options, 3));
  }
  for (int batch = 0; batch < 10; ++batch) {  // across an epoch boundary (8 batches per epoch)
    const cloze::LoadedBatch full = whole.next();
    int64_t row = 0;
    for (auto& part : parts) {
      const cloze::LoadedBatch shard = part->next();
      for (int64_t r = 0; r < shard.batch.units.size(0); ++r, ++row) {
        CHECK(shard.batch.sample_ids[static_cast<std::size_t>(r)] == full.batch.sample_ids[static_cast<std::size_t>(row)]);
        // Each part pads to its own longest row; the rows agree up to that width.
        const int64_t width = shard.corrupted.input.size(1);
        CHECK(shard.corrupted.input[r].equal(full.corrupted.input[row].narrow(0, 0, width)));
        CHECK(shard.corrupted.loss_mask[r].equal(full.corrupted.loss_mask[row].narrow(0, 0, width)));
      }
    }
    CHECK(row == 8);
  }

  cloze::LoaderOptions uneven = whole_options;
  uneven.shard = {0, 3};
  CHECK_THROWS_WITH(cloze::Loader(data, corruption, 5, uneven), Contains("does not split into 3 equal shards"));
}

TEST_CASE("gradient sync sums every gradient over the ranks, accumulated micro-batches included") {
  const uint16_t port = cloze::free_local_port();
  constexpr int ranks = 2;
  // Per rank: its gradients as summed by GradientSync, and as computed alone.
  std::vector<std::vector<at::Tensor>> synced(ranks), alone(ranks);
  std::vector<int64_t> buckets(ranks), started_in_backward(ranks);

  const auto rank_main = [&](int rank) {
    torch::manual_seed(7);  // the same model on both ranks
    torch::nn::Sequential model(torch::nn::Linear(6, 16), torch::nn::Linear(16, 16), torch::nn::Linear(16, 3));
    // Backward never reaches `unused`; first in order, it lands in the last
    // bucket, which therefore starts only in finish().
    std::vector<at::Tensor> parameters{torch::randn({5}).requires_grad_(true)};
    for (const auto& parameter : model->parameters()) parameters.push_back(parameter);
    torch::manual_seed(100 + rank);  // each rank its own data
    const std::vector<at::Tensor> inputs{at::randn({4, 6}), at::randn({4, 6})};
    const auto backward = [&](const at::Tensor& input) { model->forward(input).pow(2).sum().backward(); };

    for (const auto& input : inputs) backward(input);  // the local gradient of both micro-batches
    for (auto& parameter : parameters) {
      alone[rank].push_back(parameter.grad().defined() ? parameter.grad().clone() : at::zeros_like(parameter));
      parameter.mutable_grad().reset();
    }

    cloze::Collectives collectives(two_ranks_world(rank, port), c10::Device(c10::kCPU));
    cloze::GradientSync sync(parameters, collectives, /*bucket_bytes=*/300);  // several buckets
    buckets[rank] = sync.buckets();
    backward(inputs[0]);  // accumulates locally
    sync.arm();
    backward(inputs[1]);  // summed over the ranks as it runs
    started_in_backward[rank] = sync.buckets_started();
    sync.finish();
    for (auto& parameter : parameters) synced[rank].push_back(parameter.grad().clone());
  };
  std::thread other(rank_main, 1);
  rank_main(0);
  other.join();

  CHECK(buckets[0] >= 3);
  CHECK(started_in_backward[0] == buckets[0] - 1);  // all but the one waiting for `unused`
  for (std::size_t i = 0; i < synced[0].size(); ++i) {
    const at::Tensor expected = alone[0][i] + alone[1][i];
    CHECK(synced[0][i].allclose(expected, 1e-6, 1e-6));
    CHECK(synced[1][i].equal(synced[0][i]));
  }
}

namespace {

// A tiny text experiment without dropout, so that one process and two ranks
// train the same model on the same global batches; `model_keys` adds to
// [model].
std::filesystem::path write_experiment(const std::filesystem::path& dir, const std::string& model_keys = "") {
  std::ofstream corpus(dir / "corpus.txt");
  for (int i = 0; i < 60; ++i) corpus << "the cat " << i << " sat on the mat and looked at the dog\n%\n";
  std::ofstream(dir / "tiny.toml") << "[run]\nseed = 11\nthreads = 1\ncache_dir = \"" << (dir / "cache").string()
                                   << "\"\n[modality]\nname = \"text\"\ntokenizer = \"byte\"\nsentinels = 0\n"
                                      "separator = \"%\"\nseq_len = 32\neval_fraction = 0.2\ncorpus = [\""
                                   << (dir / "corpus.txt").string()
                                   << "\"]\n[corruption]\nname = \"token_mask\"\n"
                                      "[model]\ndim = 32\nlayers = 2\nheads = 2\ndropout = 0.0\n"
                                   << model_keys
                                   << "[train]\nsteps = 8\nbatch_size = 8\naccumulate = 2\nwarmup_steps = 2\n"
                                      "log_every = 1\n[eval]\nevery = 4\nbatches = 1\n";
  return dir / "tiny.toml";
}

int cloze_train(const std::filesystem::path& config, const std::filesystem::path& run_dir,
                const std::string& options) {
  const std::string command = std::string(CLOZE_CLI) + " train " + config.string() + " run.dir=" +
                              run_dir.string() + " " + options + " > " + run_dir.string() + ".log 2>&1";
  return std::system(command.c_str());
}

std::vector<nlohmann::json> train_records(const std::filesystem::path& run_dir) {
  std::vector<nlohmann::json> records;
  std::ifstream in(run_dir / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto record = nlohmann::json::parse(line);
    if (record["split"] == "train") records.push_back(std::move(record));
  }
  return records;
}

std::vector<double> train_losses(const std::filesystem::path& run_dir) {
  std::vector<double> losses;
  for (const auto& record : train_records(run_dir)) losses.push_back(record["loss"].get<double>());
  return losses;
}

}  // namespace

TEST_CASE("two ranks train the model that one process trains on the same global batch", "[train]") {
  test_support::Fixture f("data_parallel", "cli");
  const auto config = write_experiment(f.dir);
  REQUIRE(cloze_train(config, f.dir / "one", "") == 0);
  REQUIRE(cloze_train(config, f.dir / "two", "--nproc 2") == 0);

  const auto one = cloze::load_safetensors(f.dir / "one" / "model.safetensors").tensors;
  const auto two = cloze::load_safetensors(f.dir / "two" / "model.safetensors").tensors;
  REQUIRE(one.size() == two.size());
  double largest = 0;
  for (const auto& [name, tensor] : one) {
    INFO(name);
    REQUIRE(two.count(name) == 1);
    largest = std::max(largest, (tensor - two.at(name)).abs().max().item<double>());
  }
  CHECK(largest < 1e-5);

  const auto losses_one = train_losses(f.dir / "one"), losses_two = train_losses(f.dir / "two");
  REQUIRE(losses_one.size() == 8);
  REQUIRE(losses_two.size() == 8);
  for (std::size_t i = 0; i < losses_one.size(); ++i) CHECK(losses_two[i] == Approx(losses_one[i]).epsilon(1e-5));

  // Every rank resumes from rank 0's checkpoint: stopped at step 3 and resumed,
  // two ranks end where they end uninterrupted, bit for bit.
  REQUIRE(cloze_train(config, f.dir / "halves", "--nproc 2 --stop-at 3") == 0);
  REQUIRE(cloze_train(config, f.dir / "halves", "--nproc 2") == 0);
  CHECK(train_losses(f.dir / "halves") == losses_two);
  for (const auto& [name, tensor] : cloze::load_safetensors(f.dir / "halves" / "model.safetensors").tensors) {
    INFO(name);
    CHECK(tensor.equal(two.at(name)));
  }

  // A global batch that does not split over the ranks is refused, naming the key.
  CHECK(cloze_train(config, f.dir / "uneven", "--nproc 2 train.batch_size=7") != 0);
  std::ifstream log(f.dir.string() + "/uneven.log");
  const std::string said{std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>()};
  CHECK_THAT(said, Contains("train.batch_size") && Contains("WORLD_SIZE = 2"));
}

TEST_CASE("two ranks log ELECTRA's parts over the whole global batch, as one process does", "[train]") {
  test_support::Fixture f("data_parallel", "electra_parts");
  const auto config = write_experiment(f.dir, "generator = 0.5\n");
  REQUIRE(cloze_train(config, f.dir / "one", "") == 0);
  REQUIRE(cloze_train(config, f.dir / "two", "--nproc 2") == 0);
  const auto one = train_records(f.dir / "one"), two = train_records(f.dir / "two");
  REQUIRE(one.size() == 8);
  REQUIRE(two.size() == one.size());
  // The shards are the global batch's rows, masked as in the whole batch: the
  // units each part scores are the same, though each rank draws its own
  // samples. Rank 0's alone would be about half.
  for (std::size_t i = 0; i < one.size(); ++i) {
    INFO("train record " << i);
    for (const char* part : {"generator", "detection"}) {
      INFO(part);
      const auto units = one[i]["parts"][part]["units"].get<int64_t>();
      CHECK(units > 0);
      CHECK(two[i]["parts"][part]["units"].get<int64_t>() == units);
    }
  }
}
