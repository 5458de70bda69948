#include "cloze/data/pipeline.h"

#include "cloze/core/error.h"
#include "cloze/model/model.h"
#include "cloze/train/trainer.h"

namespace cloze {

Schema run_schema() {
  return {
      {"seed", ParamType::integer, int64_t{0}, "seeds model init, data order and every corruption"},
      {"dir", ParamType::string, std::string("runs/default"), "run folder: metrics, checkpoints, exported weights"},
      {"device", ParamType::string, std::string("auto"), "auto (CUDA when available), cpu or cuda"},
      {"threads", ParamType::integer, int64_t{0}, "intra-op threads; 0 = the cores available"},
      {"bf16", ParamType::boolean, true, "bf16 autocast on CUDA (ignored on CPU)"},
      {"cache_dir", ParamType::string, std::string(".cache/cloze"), "tokenizers and tokenized corpora"},
  };
}

SectionSchemas framework_sections() {
  return {{"run", run_schema()},     {"model", model_schema()},   {"train", train_schema()},
          {"eval", eval_schema()},   {"loader", loader_schema()}};
}

Pipeline::Pipeline(const Experiment& experiment, const Registry& registry)
    : seed_(static_cast<uint64_t>(experiment.section("run").integer("seed"))),
      loader_params_(experiment.section("loader")),
      bad_samples_(BadSamples::from(loader_params_)) {
  corruption_ = build_corruption(experiment.corruption, registry, experiment.source);
  ModalityContext context;
  context.cache_dir = experiment.section("run").string("cache_dir");
  context.seed = seed_;
  context.bad_samples = bad_samples_;
  context.raw_length = [corruption = corruption_](int64_t n) { return corruption->raw_length(n); };
  modality_ = registry.make_modality(experiment.modality, experiment.section("modality"), context);
  units_ = modality_->units();
  grid_ = modality_->grid();
  const std::string why = corruption_->incompatibility(units_);
  if (!why.empty())
    throw Error(experiment.source + ": corruption '" + experiment.corruption.name() + "' cannot work on modality '" +
                experiment.modality + "': " + why);
  units_.add_special_tokens(corruption_->added_tokens());
  corruption_->prepare(units_);
  train_ = modality_->dataset(Split::train);
  eval_ = modality_->dataset(Split::eval);
  labelled_train_ = modality_->labelled_dataset(Split::train);
  labelled_eval_ = modality_->labelled_dataset(Split::eval);
}

std::unique_ptr<Loader> Pipeline::loader(Split split, int64_t batch_size, int64_t first_batch, Shard shard,
                                         bool pin_memory, TrainingClock clock) const {
  LoaderOptions options = LoaderOptions::from(loader_params_, batch_size);
  options.shard = shard;
  options.pin_memory = pin_memory;
  options.clock = clock;
  if (split == Split::eval) options.shuffle = false;
  return std::make_unique<Loader>(split == Split::train ? train_ : eval_, corruption_, seed_, options, first_batch);
}

DenoisingModel build_model(const Experiment& experiment, const Pipeline& pipeline) {
  const auto lengths = pipeline.corruption()->max_lengths(pipeline.grid().numel());
  return DenoisingModel(ModelOptions::from(experiment.section("model")),
                        ModelShape{pipeline.units(), pipeline.grid(), pipeline.corruption()->mode(), lengths.input,
                                   lengths.target});
}

}  // namespace cloze
