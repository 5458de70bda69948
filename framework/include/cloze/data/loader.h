// The data loader: worker threads read, collate and corrupt batches into a
// bounded reorder buffer; the trainer takes them in order.
//
// The stream of batches is a pure function of (seed, dataset, batch size):
// batch k belongs to epoch k / batches_per_epoch, its samples come from a
// permutation keyed by (seed, epoch), and its corruption from SampleRng keyed
// by (seed, epoch, sample). So the batches are identical with any number of
// workers, and a loader started at batch k continues a run exactly. In a
// data-parallel run each rank's loader makes only its shard of every batch:
// the same samples with the same corruption as the whole batch holds, so the
// run does not depend on the number of ranks.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/modality.h"
#include "cloze/core/params.h"

namespace cloze {

// [loader] section.
Schema loader_schema();

struct Shard {
  int64_t index = 0, count = 1;  // this rank's slice of each batch: rows [index, index + 1) * batch_size / count
};

// Where in training batch k of the stream is used, for corruption parameters
// on a schedule: optimizer step k / batches_per_step of `steps`, or `fixed`
// for a stream that is not training's (the held-out batches, a preview).
struct TrainingClock {
  int64_t steps = 0;  // 0: every batch at `fixed`
  int64_t batches_per_step = 1;
  double fixed = 0;

  double fraction(int64_t batch) const;
};

struct LoaderOptions {
  int64_t batch_size = 0;  // of the whole batch, over all shards
  Shard shard;
  int64_t workers = 0;   // threads that collate and corrupt; 0 = on the caller's thread, in next()
  int64_t prefetch = 0;  // batches made ahead of the one next() returns, at most
  bool shuffle = true;
  int64_t shuffle_buffer = 0;  // 0: a full permutation each epoch; N: buffered_order through N samples
  // Page-locks each corrupted batch in the worker that made it, so that the
  // trainer's copy to a GPU is a non-blocking DMA rather than a memcpy on its
  // own thread first (PyTorch's DataLoader(pin_memory=True)). CUDA only.
  bool pin_memory = false;
  TrainingClock clock;  // sets each batch's training_fraction
  static LoaderOptions from(const Params& loader, int64_t batch_size);  // validates, naming the key
};

// WebDataset's order, for storage that reads files front to back far faster
// than at random: the dataset's runs (Dataset::runs(), its shards) in an
// order shuffled per epoch, read front to back through a buffer of `buffer`
// samples that hands out one at random as each new one comes in, then
// empties in random order. A pure function of (runs, size, buffer, seed,
// epoch), so the loader's batches stay the same for any worker or rank
// count and after a resume; a sample leaves at most `buffer` places before
// its place in the runs' order.
std::vector<int64_t> buffered_order(const std::vector<int64_t>& runs, int64_t size, int64_t buffer, uint64_t seed,
                                    int64_t epoch);

struct LoadedBatch {
  int64_t index = 0;  // position in the stream
  Batch batch;
  Corrupted corrupted;
};

class Loader {
 public:
  // `corruption` must be prepared (Corruption::prepare) already. Throws
  // cloze::Error when the dataset holds fewer samples than one batch, or the
  // batch does not split evenly into the shards.
  Loader(std::shared_ptr<const Dataset> dataset, std::shared_ptr<const Corruption> corruption, uint64_t seed,
         LoaderOptions options, int64_t first_batch = 0);
  ~Loader();  // stops and joins the workers, also those waiting for room
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch of the stream; blocks until it is ready. Rethrows, on the
  // caller's thread, an exception hit while making it; the stream then goes on
  // with the batch after it.
  LoadedBatch next();

  int64_t batches_per_epoch() const;  // full batches only; a partial last batch is dropped
  int64_t next_index() const;         // the index the next call to next() returns

  // The dataset indices of this shard of batch k (exposed for tests and previews).
  std::vector<int64_t> batch_indices(int64_t k) const;

 private:
  struct State;  // see loader.cpp
  std::unique_ptr<State> state_;
};

}  // namespace cloze
