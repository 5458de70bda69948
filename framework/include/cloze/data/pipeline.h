// The data side of an experiment, built once from its config: the modality,
// the corruption checked against the modality's units, and loaders over either
// split. `cloze train`, `corrupt` and `preview` all start here.
#pragma once

#include <cstdint>
#include <memory>

#include "cloze/config/experiment.h"
#include "cloze/core/corruption.h"
#include "cloze/core/modality.h"
#include "cloze/core/registry.h"
#include "cloze/data/bad_samples.h"
#include "cloze/data/loader.h"
#include "cloze/model/model.h"

namespace cloze {

// [run] section: what is not the model, the data or the optimisation.
Schema run_schema();

// Every framework section and its schema, for load_experiment.
SectionSchemas framework_sections();

class Pipeline {
 public:
  // Builds the plugins named by the experiment; throws cloze::Error with the
  // corruption's own sentence when it cannot work on the modality's units.
  Pipeline(const Experiment& experiment, const Registry& registry);

  const Modality& modality() const { return *modality_; }
  // The modality's units, with the corruption's added tokens (a mixture's
  // mode tokens) appended as special ids.
  const UnitSpec& units() const { return units_; }
  const Grid& grid() const { return grid_; }
  std::shared_ptr<const Corruption> corruption() const { return corruption_; }
  uint64_t seed() const { return seed_; }
  // The files the modality left out under loader.on_bad_sample = "skip".
  const BadSamples& bad_samples() const { return *bad_samples_; }

  // A loader over `split` starting at batch `first_batch` of its stream,
  // making `shard` of each batch of `batch_size`, page-locked for a GPU with
  // `pin_memory`, each batch at the point of training `clock` puts it. The
  // eval split is never shuffled, so its first batches are the same each time.
  std::unique_ptr<Loader> loader(Split split, int64_t batch_size, int64_t first_batch = 0, Shard shard = {},
                                 bool pin_memory = false, TrainingClock clock = {}) const;

  const Dataset& dataset(Split split) const { return split == Split::train ? *train_ : *eval_; }
  int64_t samples(Split split) const { return dataset(split).size(); }
  // What the evaluation protocols classify (Modality::labelled_dataset).
  const Dataset& labelled_dataset(Split split) const {
    return split == Split::train ? *labelled_train_ : *labelled_eval_;
  }

 private:
  std::shared_ptr<Modality> modality_;
  std::shared_ptr<Corruption> corruption_;
  std::shared_ptr<const Dataset> train_, eval_, labelled_train_, labelled_eval_;
  UnitSpec units_;
  Grid grid_;
  uint64_t seed_;
  Params loader_params_;
  std::shared_ptr<BadSamples> bad_samples_;
};

// The experiment's model, shaped for the pipeline's units, grid and the
// corruption's reconstruction mode and lengths. Initialised from the global
// torch seed (the trainer seeds it from [run] seed).
DenoisingModel build_model(const Experiment& experiment, const Pipeline& pipeline);

}  // namespace cloze
