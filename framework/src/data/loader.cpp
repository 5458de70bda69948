// The data loader (see loader.h): one permutation per (seed, epoch), worker
// threads that claim batch indices in order and make them, and a reorder
// buffer from which next() takes them back in index order.
#include "cloze/data/loader.h"

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <utility>

#include "cloze/core/error.h"
#include "cloze/core/rng.h"
#include "cloze/train/device.h"

namespace cloze {

Schema loader_schema() {
  return {
      {"workers", ParamType::integer, int64_t{2},
       "threads that collate and corrupt batches; 0 makes each batch on the trainer's thread"},
      {"prefetch", ParamType::integer, int64_t{4}, "batches made ahead of the trainer, at most"},
      {"shuffle", ParamType::boolean, true, "visit the samples in a new random order every epoch"},
      ParamSpec{"shuffle_buffer", ParamType::integer, int64_t{0},
                "0 = a full shuffle each epoch; N = WebDataset's order for data read front to back: the shards in a "
                "random order, each read in order through a buffer of N samples that hands them out at random"}
          .at_least(0),
      {"on_bad_sample", ParamType::string, std::string("error"),
       "a file the modality cannot read: \"error\" stops naming it; \"skip\" leaves it out and logs it to "
       "<run>/bad_samples.jsonl"},
      {"max_bad_fraction", ParamType::real, 0.01,
       "on_bad_sample = \"skip\": stop when more than this share of a folder's files cannot be read"},
  };
}

LoaderOptions LoaderOptions::from(const Params& loader, int64_t batch_size) {
  LoaderOptions options;
  options.batch_size = batch_size;
  options.workers = loader.integer("workers");
  options.prefetch = loader.integer("prefetch");
  options.shuffle = loader.boolean("shuffle");
  options.shuffle_buffer = loader.integer("shuffle_buffer");
  loader.require(options.workers >= 0, "workers", "must be at least 0 (0 makes each batch on the trainer's thread)");
  loader.require(options.prefetch >= 1, "prefetch", "must be at least 1");
  return options;
}

std::vector<int64_t> buffered_order(const std::vector<int64_t>& runs, int64_t size, int64_t buffer, uint64_t seed,
                                    int64_t epoch) {
  std::vector<int64_t> lengths = runs.empty() ? std::vector<int64_t>(static_cast<std::size_t>(size), 1) : runs;
  std::vector<int64_t> starts(lengths.size(), 0);
  for (std::size_t r = 1; r < lengths.size(); ++r) starts[r] = starts[r - 1] + lengths[r - 1];
  if (!lengths.empty() && starts.back() + lengths.back() != size)
    throw Error("loader: the dataset's runs hold " + std::to_string(starts.back() + lengths.back()) +
                " samples, not its " + std::to_string(size));
  std::vector<int64_t> run_order(lengths.size());
  std::iota(run_order.begin(), run_order.end(), int64_t{0});
  shuffle_for_epoch(run_order, seed, epoch);
  SampleRng pick(seed, RngStream::data_order, epoch, /*sample=*/1);  // sample 0 ordered the runs
  std::vector<int64_t> held, order;
  order.reserve(static_cast<std::size_t>(size));
  for (const int64_t run : run_order) {
    const auto r = static_cast<std::size_t>(run);
    for (int64_t i = starts[r]; i < starts[r] + lengths[r]; ++i) {
      if (static_cast<int64_t>(held.size()) < buffer) {
        held.push_back(i);
        continue;
      }
      int64_t& out = held[pick.below(held.size())];
      order.push_back(out);
      out = i;
    }
  }
  for (std::size_t i = held.size(); i > 1; --i) std::swap(held[i - 1], held[pick.below(i)]);
  order.insert(order.end(), held.begin(), held.end());
  return order;
}

double TrainingClock::fraction(int64_t batch) const {
  if (steps <= 0) return fixed;
  return static_cast<double>(batch / batches_per_step) / static_cast<double>(steps);
}

struct Loader::State {
  // A batch a worker made, or what it threw instead.
  struct Made {
    LoadedBatch batch;
    std::exception_ptr error;
  };

  std::shared_ptr<const Dataset> dataset;
  std::shared_ptr<const Corruption> corruption;
  uint64_t seed = 0;
  LoaderOptions options;
  int64_t batches_per_epoch = 0;

  std::mutex mutex;
  std::condition_variable room;   // a worker may claim another index
  std::condition_variable ready;  // a batch entered the reorder buffer
  int64_t next_out = 0;           // the index next() returns next
  int64_t next_claim = 0;         // the index the next free worker makes
  std::map<int64_t, Made> buffer;  // made, not yet taken; at most `prefetch` with those in the making
  bool stopping = false;
  std::vector<std::thread> workers;

  // Recent epochs' permutations: workers near an epoch boundary make batches
  // of two epochs at once, and each permutation costs O(dataset).
  std::mutex orders_mutex;
  std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> orders;

  std::shared_ptr<const std::vector<int64_t>> order(int64_t epoch) {
    std::lock_guard<std::mutex> lock(orders_mutex);
    auto found = orders.find(epoch);
    if (found != orders.end()) return found->second;
    std::shared_ptr<std::vector<int64_t>> permutation;
    if (options.shuffle && options.shuffle_buffer > 0) {
      permutation = std::make_shared<std::vector<int64_t>>(
          buffered_order(dataset->runs(), dataset->size(), options.shuffle_buffer, seed, epoch));
    } else {
      permutation = std::make_shared<std::vector<int64_t>>(static_cast<std::size_t>(dataset->size()));
      std::iota(permutation->begin(), permutation->end(), int64_t{0});
      if (options.shuffle) shuffle_for_epoch(*permutation, seed, epoch);
    }
    orders.emplace(epoch, permutation);
    while (orders.size() > 4) orders.erase(orders.begin());  // drop the oldest epochs
    return permutation;
  }

  std::vector<int64_t> indices(int64_t k) {
    if (k < 0) throw Error("loader: batch index " + std::to_string(k) + " is negative");
    const auto permutation = order(k / batches_per_epoch);
    const int64_t rows = options.batch_size / options.shard.count;
    const auto first = permutation->begin() + (k % batches_per_epoch) * options.batch_size + options.shard.index * rows;
    return std::vector<int64_t>(first, first + rows);
  }

  LoadedBatch make(int64_t k) {
    LoadedBatch out;
    out.index = k;
    out.batch = dataset->collate_in_epoch(indices(k), k / batches_per_epoch);
    out.batch.epoch = k / batches_per_epoch;
    out.batch.training_fraction = options.clock.fraction(k);
    out.corrupted = corruption->corrupt(out.batch, seed);
    if (options.pin_memory) out.corrupted = pinned(out.corrupted);
    return out;
  }

  void work() {
    for (;;) {
      int64_t k;
      {
        std::unique_lock<std::mutex> lock(mutex);
        room.wait(lock, [&] { return stopping || next_claim < next_out + options.prefetch; });
        if (stopping) return;
        k = next_claim++;
      }
      Made made;
      try {
        made.batch = make(k);
      } catch (...) {
        made.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex);
        buffer.emplace(k, std::move(made));
      }
      ready.notify_all();
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    room.notify_all();
    for (auto& worker : workers) worker.join();
    workers.clear();
  }
};

Loader::Loader(std::shared_ptr<const Dataset> dataset, std::shared_ptr<const Corruption> corruption, uint64_t seed,
               LoaderOptions options, int64_t first_batch)
    : state_(std::make_unique<State>()) {
  if (!dataset || !corruption) throw Error("loader: needs a dataset and a corruption");
  if (options.batch_size < 1)
    throw Error("loader: batch_size = " + std::to_string(options.batch_size) + " must be at least 1");
  if (first_batch < 0) throw Error("loader: first batch " + std::to_string(first_batch) + " is negative");
  const Shard& shard = options.shard;
  if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count)
    throw Error("loader: shard " + std::to_string(shard.index) + " of " + std::to_string(shard.count) +
                " does not exist");
  if (options.batch_size % shard.count != 0)
    throw Error("loader: a batch of " + std::to_string(options.batch_size) + " samples does not split into " +
                std::to_string(shard.count) + " equal shards; make the batch size a multiple of the world size");
  if (options.clock.batches_per_step < 1)
    throw Error("loader: " + std::to_string(options.clock.batches_per_step) + " batches per step; at least 1");
  const int64_t samples = dataset->size();
  if (samples < options.batch_size)
    throw Error("loader: the dataset has " + std::to_string(samples) + " samples, fewer than one batch of " +
                std::to_string(options.batch_size) + "; lower the batch size or add data");

  State& s = *state_;
  s.dataset = std::move(dataset);
  s.corruption = std::move(corruption);
  s.seed = seed;
  s.options = options;
  s.batches_per_epoch = samples / options.batch_size;
  s.next_out = first_batch;
  s.next_claim = first_batch;
  try {
    for (int64_t i = 0; i < options.workers; ++i) s.workers.emplace_back([&s] { s.work(); });
  } catch (...) {
    s.stop();  // join the threads already started before the state goes away
    throw;
  }
}

Loader::~Loader() { state_->stop(); }

LoadedBatch Loader::next() {
  State& s = *state_;
  if (s.workers.empty()) return s.make(s.next_out++);

  State::Made made;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    const int64_t k = s.next_out;
    s.ready.wait(lock, [&] { return s.buffer.count(k) != 0; });
    auto found = s.buffer.find(k);
    made = std::move(found->second);
    s.buffer.erase(found);
    ++s.next_out;
  }
  s.room.notify_all();
  if (made.error) std::rethrow_exception(made.error);
  return std::move(made.batch);
}

int64_t Loader::batches_per_epoch() const { return state_->batches_per_epoch; }

int64_t Loader::next_index() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->next_out;
}

std::vector<int64_t> Loader::batch_indices(int64_t k) const { return state_->indices(k); }

}  // namespace cloze
