// The data loader: the same stream with any number of workers, resuming at a
// batch, epoch permutations, the prefetch bound, worker errors surfacing in
// next(), and the options' validation.
#include <catch2/catch.hpp>

#include <ATen/core/Tensor.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/data/loader.h"
#include "toy_text.h"

namespace {

constexpr int64_t vocab = 200;

std::shared_ptr<const cloze::Corruption> prepared_token_mask() {
  auto corruption = toy::token_mask();
  corruption->prepare(toy::units(vocab));
  return corruption;
}

cloze::LoaderOptions options(int64_t batch_size, int64_t workers, int64_t prefetch = 3, bool shuffle = true) {
  cloze::LoaderOptions o;
  o.batch_size = batch_size;
  o.workers = workers;
  o.prefetch = prefetch;
  o.shuffle = shuffle;
  return o;
}

std::vector<cloze::LoadedBatch> take(cloze::Loader& loader, int64_t count) {
  std::vector<cloze::LoadedBatch> out;
  for (int64_t i = 0; i < count; ++i) out.push_back(loader.next());
  return out;
}

void check_same(const cloze::LoadedBatch& a, const cloze::LoadedBatch& b) {
  CHECK(a.index == b.index);
  CHECK(a.batch.epoch == b.batch.epoch);
  CHECK(a.batch.sample_ids == b.batch.sample_ids);
  CHECK(a.batch.units.equal(b.batch.units));
  CHECK(a.corrupted.input.equal(b.corrupted.input));
  CHECK(a.corrupted.loss_mask.equal(b.corrupted.loss_mask));
}

// Counts its collate calls; throws for any batch that holds `bad_sample`.
class Watched : public toy::Text {
 public:
  Watched(int64_t samples, int64_t bad_sample = -1) : toy::Text(samples, 24, vocab), bad_sample_(bad_sample) {}

  cloze::Batch collate(const std::vector<int64_t>& indices) const override {
    ++collated;
    if (std::find(indices.begin(), indices.end(), bad_sample_) != indices.end())
      throw cloze::Error("sample " + std::to_string(bad_sample_) + " is unreadable");
    return toy::Text::collate(indices);
  }

  mutable std::atomic<int64_t> collated{0};

 private:
  int64_t bad_sample_;
};

}  // namespace

TEST_CASE("the stream is the same with 0, 1 and 4 workers") {
  auto data = std::make_shared<toy::Text>(40, 24, vocab);
  const auto corruption = prepared_token_mask();
  constexpr int64_t count = 15;  // three epochs of 5 batches

  cloze::Loader inline_loader(data, corruption, 11, options(8, 0));
  REQUIRE(inline_loader.batches_per_epoch() == 5);
  const auto reference = take(inline_loader, count);
  REQUIRE(inline_loader.next_index() == count);
  for (int64_t k = 0; k < count; ++k) {
    CHECK(reference[static_cast<std::size_t>(k)].index == k);
    CHECK(reference[static_cast<std::size_t>(k)].batch.epoch == k / 5);
  }

  for (int64_t workers : {1, 4}) {
    cloze::Loader loader(data, corruption, 11, options(8, workers, workers == 1 ? 1 : 3));
    const auto stream = take(loader, count);
    for (int64_t k = 0; k < count; ++k) check_same(stream[static_cast<std::size_t>(k)], reference[static_cast<std::size_t>(k)]);
  }

  // Another seed gives another stream, so the comparison above can fail.
  cloze::Loader other(data, corruption, 12, options(8, 0));
  CHECK_FALSE(other.next().batch.sample_ids == reference[0].batch.sample_ids);
}

TEST_CASE("a loader started at batch k continues the stream exactly") {
  auto data = std::make_shared<toy::Text>(40, 24, vocab);
  const auto corruption = prepared_token_mask();
  cloze::Loader fresh(data, corruption, 3, options(8, 2));
  const auto reference = take(fresh, 10);

  cloze::Loader resumed(data, corruption, 3, options(8, 2), 7);
  REQUIRE(resumed.next_index() == 7);
  for (int64_t k = 7; k < 10; ++k) check_same(resumed.next(), reference[static_cast<std::size_t>(k)]);
}

TEST_CASE("each epoch visits every sample once, in its own order") {
  auto data = std::make_shared<toy::Text>(42, 24, vocab);  // 5 full batches of 8, 2 samples dropped
  const auto corruption = prepared_token_mask();
  cloze::Loader loader(data, corruption, 5, options(8, 0));
  REQUIRE(loader.batches_per_epoch() == 5);

  const auto epoch = [&](int64_t e) {
    std::vector<int64_t> order;
    for (int64_t b = 0; b < 5; ++b) {
      const auto indices = loader.batch_indices(e * 5 + b);
      REQUIRE(indices.size() == 8);
      order.insert(order.end(), indices.begin(), indices.end());
    }
    return order;
  };
  const auto first = epoch(0), second = epoch(1);
  for (const auto& order : {first, second}) {
    auto sorted = order;
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());  // no sample twice
    CHECK(sorted.front() >= 0);
    CHECK(sorted.back() < 42);
  }
  CHECK(first != second);
  CHECK(loader.next().batch.sample_ids == loader.batch_indices(0));

  // Unshuffled, batch 1 of every epoch is samples 8 to 15.
  cloze::Loader ordered(data, corruption, 5, options(8, 0, 3, false));
  std::vector<int64_t> second_batch(8);
  std::iota(second_batch.begin(), second_batch.end(), int64_t{8});
  CHECK(ordered.batch_indices(1) == second_batch);
  CHECK(ordered.batch_indices(5 + 1) == second_batch);
}

// Text whose samples lie in shards of the given sizes (Dataset::runs()).
class Sharded : public toy::Text {
 public:
  explicit Sharded(std::vector<int64_t> runs)
      : toy::Text(std::accumulate(runs.begin(), runs.end(), int64_t{0}), 24, vocab), runs_(std::move(runs)) {}
  std::vector<int64_t> runs() const override { return runs_; }

 private:
  std::vector<int64_t> runs_;
};

TEST_CASE("shuffle_buffer: WebDataset's order, shards shuffled and read in order through a bounded buffer") {
  const std::vector<int64_t> runs{7, 3, 12, 5, 9, 4};  // 40 samples in 6 shards
  const auto shard_of = [&](int64_t sample) {
    int64_t shard = 0;
    for (int64_t end = runs[0]; sample >= end; end += runs[static_cast<std::size_t>(++shard)]) {
    }
    return shard;
  };
  for (const int64_t buffer : {1, 4, 16}) {
    INFO("buffer " << buffer);
    const auto order = cloze::buffered_order(runs, 40, buffer, 3, 0);
    auto sorted = order;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> all(40);
    std::iota(all.begin(), all.end(), int64_t{0});
    CHECK(sorted == all);  // every sample once
    CHECK(order == cloze::buffered_order(runs, 40, buffer, 3, 0));
    CHECK(order != cloze::buffered_order(runs, 40, buffer, 3, 1));
    // The shards' order is the one read: no sample leaves more than `buffer`
    // places before its place in it.
    std::vector<int64_t> shard_order;
    for (const int64_t sample : order)
      if (std::find(shard_order.begin(), shard_order.end(), shard_of(sample)) == shard_order.end())
        shard_order.push_back(shard_of(sample));
    std::vector<int64_t> read;
    for (const int64_t shard : shard_order)
      for (int64_t i = 0; i < 40; ++i)
        if (shard_of(i) == shard) read.push_back(i);
    if (buffer == 1) CHECK(order == read);  // no buffer: each shard front to back, in turn
    for (std::size_t place = 0; place < order.size(); ++place) {
      const auto in_read = std::find(read.begin(), read.end(), order[place]) - read.begin();
      CHECK(in_read < static_cast<std::ptrdiff_t>(place) + buffer);
    }
  }
  CHECK_THROWS_WITH(cloze::buffered_order({3, 3}, 7, 2, 0, 0), Catch::Contains("runs hold 6 samples, not its 7"));

  // Through the loader: the same batches with 0 and 3 workers, and from a resume.
  auto data = std::make_shared<Sharded>(runs);
  const auto corruption = prepared_token_mask();
  auto buffered = options(8, 0);
  buffered.shuffle_buffer = 6;
  cloze::Loader serial(data, corruption, 3, buffered);
  const auto reference = take(serial, 10);
  const auto order = cloze::buffered_order(runs, 40, 6, 3, 0);
  CHECK(serial.batch_indices(0) == std::vector<int64_t>(order.begin(), order.begin() + 8));
  buffered.workers = 3;
  cloze::Loader threaded(data, corruption, 3, buffered);
  for (const auto& batch : reference) check_same(threaded.next(), batch);
  cloze::Loader resumed(data, corruption, 3, buffered, 7);
  for (int64_t k = 7; k < 10; ++k) check_same(resumed.next(), reference[static_cast<std::size_t>(k)]);
}

TEST_CASE("a worker's exception surfaces from next() for its batch") {
  const auto corruption = prepared_token_mask();
  for (int64_t workers : {0, 2}) {
    // Unshuffled, sample 7 lies in batch 1 (samples 4 to 7) of every epoch.
    auto data = std::make_shared<Watched>(16, 7);
    cloze::Loader loader(data, corruption, 1, options(4, workers, 2, false));
    CHECK(loader.next().index == 0);
    CHECK_THROWS_WITH(loader.next(), Catch::Contains("sample 7 is unreadable"));
    CHECK(loader.next().index == 2);
  }
}

TEST_CASE("workers make at most prefetch batches ahead and stop when destroyed") {
  auto data = std::make_shared<Watched>(400);
  const auto corruption = prepared_token_mask();
  {
    cloze::Loader loader(data, corruption, 1, options(4, 4, 2));
    loader.next();
    // Batch 0 was taken, so batches 1 and 2 may be made, and no more; the
    // other workers wait for room and must still be joined below.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (data->collated.load() < 3 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(data->collated.load() == 3);
  }
  CHECK(data->collated.load() == 3);
}

TEST_CASE("loader options and sizes are validated") {
  cloze::Params params("loader", cloze::loader_schema());
  const auto defaults = cloze::LoaderOptions::from(params, 8);
  CHECK(defaults.batch_size == 8);
  CHECK(defaults.workers == 2);
  CHECK(defaults.prefetch == 4);
  CHECK(defaults.shuffle);

  params.set("workers", int64_t{-1}, "test");
  CHECK_THROWS_WITH(cloze::LoaderOptions::from(params, 8), Catch::Contains("loader.workers = -1"));
  params.set("workers", int64_t{2}, "test");
  params.set("prefetch", int64_t{0}, "test");
  CHECK_THROWS_WITH(cloze::LoaderOptions::from(params, 8), Catch::Contains("loader.prefetch = 0"));

  const auto corruption = prepared_token_mask();
  auto tiny = std::make_shared<toy::Text>(5, 24, vocab);
  CHECK_THROWS_WITH(cloze::Loader(tiny, corruption, 1, options(8, 2)),
                    Catch::Contains("5 samples") && Catch::Contains("one batch of 8"));
}
