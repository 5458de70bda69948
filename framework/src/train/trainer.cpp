#include "cloze/train/trainer.h"

#include <ATen/core/Tensor.h>
#include <ATen/ops/scalar_tensor.h>
#include <fmt/core.h>
#include <torch/utils.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "cloze/core/corruption.h"
#include "cloze/core/error.h"
#include "cloze/core/rng.h"
#include "cloze/data/pipeline.h"
#include "cloze/distributed/collectives.h"
#include "cloze/distributed/world.h"
#include "cloze/io/durable_file.h"
#include "cloze/io/weights.h"
#include "cloze/model/flops.h"
#include "cloze/model/loss.h"
#include "cloze/model/model.h"
#include "cloze/model/objective.h"
#include "cloze/train/checkpoint.h"
#include "cloze/train/decoding_score.h"
#include "cloze/train/device.h"
#include "cloze/train/held_out.h"
#include "cloze/train/metrics.h"
#include "cloze/train/schedule.h"
#include "cloze/train/stop_signal.h"
#include "cloze/train/train_step.h"

namespace cloze {

namespace {

TrainSummary summarize(const std::filesystem::path& run_dir, int64_t steps, const UnitSpec& units) {
  TrainSummary summary;
  summary.run_dir = run_dir;
  summary.steps = steps;
  bool first = true;
  for (const auto& record : metrics_lines(run_dir / "metrics.jsonl")) {
    if (record.value("split", "") != "eval") continue;
    if (first) {
      summary.first_eval_loss = record.value("loss", 0.0);
      summary.first_eval_accuracy = record.value("masked_accuracy", 0.0);
      first = false;
    }
    summary.last_eval_loss = record.value("loss", 0.0);
    summary.last_eval_accuracy = record.value("masked_accuracy", 0.0);
  }
  summary.first_eval_quality = quality_text(units, summary.first_eval_loss, summary.first_eval_accuracy);
  summary.last_eval_quality = quality_text(units, summary.last_eval_loss, summary.last_eval_accuracy);
  return summary;
}

// Dropout draws from the torch generators, reseeded before every step from
// (seed, step, rank): a resumed run continues their streams exactly without
// saving their state, on the CPU and on CUDA alike, and the ranks of a
// data-parallel run drop out independently.
void seed_step(uint64_t seed, int64_t step, int rank) {
  torch::manual_seed(SampleRng(seed, RngStream::dropout, step, rank).next_u64());
}

// Every rank must resume from the same checkpoint: each reads it from the run
// folder, which therefore has to be shared between machines.
void check_same_start(Collectives& collectives, const CheckpointState& state) {
  const int64_t latest = collectives.max(state.step), earliest = -collectives.max(-state.step);
  if (latest != earliest)
    throw Error("the ranks found checkpoints of different steps (" + std::to_string(earliest) + " to " +
                std::to_string(latest) + ") in the run folder; every rank must see the same run folder " +
                "(a shared filesystem), or none a checkpoint");
}

// The state a training run carries from its first (or resumed) step to its
// last, and the stages it goes through, each a method: open and resume the
// run folder, evaluate, step (with the guard against non-finite losses), log
// an interval, save, finish.
class TrainingRun {
 public:
  TrainingRun(const Experiment& experiment, Registry& registry, const TrainControl& control)
      : experiment_(experiment),
        registry_(registry),
        control_(control),
        options_(TrainOptions::from(experiment.section("train"), experiment.section("eval"))),
        device_(resolve_device(experiment.section("run").string("device"))),
        bf16_(experiment.section("run").boolean("bf16")),
        world_(World::from_environment()),
        threads_(set_threads(experiment.section("run").integer("threads"), world_.local_size)),
        seed_(seeded(experiment.section("run").integer("seed"))),
        collectives_(connect()),
        pipeline_(experiment, registry),
        units_(pipeline_.units()),
        model_(placed(build_model(experiment, pipeline_), device_)),
        scored_units_(scored_units(units_, model_->options())),
        optimizer_(make_optimizer(model_, options_)),
        train_step_(model_, *optimizer_, units_, options_, device_, bf16_, collectives_.get()),
        schedule_{options_.lr, options_.warmup_steps, options_.steps, options_.decay, options_.min_lr_ratio},
        run_dir_(experiment.section("run").string("dir")) {
    open_run_folder();
    resume();
    announce();
    draw_eval_batches();
  }

  TrainSummary run() {
    if (checkpoint_.empty()) evaluate_at(0);
    loader_ = pipeline_.loader(Split::train, options_.batch_size, state_.next_batch, {world_.rank, world_.size},
                               /*pin_memory=*/device_.is_cuda(), TrainingClock{options_.steps, options_.accumulate});
    const StopOnSignal stop_signal;
    // A signal may reach the ranks at different steps; they stop together.
    const auto stop_requested = [&] {
      return collectives_ ? static_cast<int>(collectives_->max(stop_signal.received())) : stop_signal.received();
    };
    const int64_t last_step = control_.stop_at >= 0 ? std::min(control_.stop_at, options_.steps) : options_.steps;
    interval_start_ = clock::now();
    int stopped_by = 0;
    for (int64_t step = state_.step; step < last_step && (stopped_by = stop_requested()) == 0; ++step) {
      const double lr = schedule_.at(step);
      take_step(step, lr);
      if (state_.step % options_.log_every == 0 || state_.step == options_.steps) log_interval(lr);
      if (state_.step % options_.eval_every == 0 || state_.step == options_.steps) evaluate_at(state_.step);
      if (options_.checkpoint_every > 0 && state_.step % options_.checkpoint_every == 0 && state_.step != last_step)
        save();
    }
    progress_->finish();
    if (saved_step_ != state_.step) save();
    return finish(stopped_by);
  }

 private:
  using clock = std::chrono::steady_clock;

  // The process's generators and allocator, set before anything draws from them.
  static uint64_t seeded(int64_t seed) {
    keep_freed_host_memory();
    torch::manual_seed(static_cast<uint64_t>(seed));
    return static_cast<uint64_t>(seed);
  }

  static DenoisingModel placed(DenoisingModel model, const c10::Device& device) {
    model->to(device);
    return model;
  }

  std::unique_ptr<Collectives> connect() const {
    if (!world_.distributed()) return nullptr;
    experiment_.section("train").require(options_.batch_size % world_.size == 0, "batch_size",
                                         "must split evenly over WORLD_SIZE = " + std::to_string(world_.size) +
                                             " ranks: each takes batch_size / WORLD_SIZE samples of every batch");
    return std::make_unique<Collectives>(world_, device_);
  }

  // Rank 0 writes the run folder; the others only read checkpoints from it.
  void open_run_folder() {
    if (!world_.leader()) return;
    std::filesystem::create_directories(run_dir_);
    remove_temporaries(run_dir_);  // what a killed save left behind
    // Resuming continues the run that config.toml records: under another
    // model, data, objective or optimisation it would mix two runs in one
    // folder and overwrite the record. A run may be extended (train.steps),
    // and what only paces it, places it or keeps its records may change.
    if (control_.resume.empty() && !latest_checkpoint(run_dir_).empty())
      require_recorded_config(run_dir_ / "config.toml", experiment_,
                              {"run.threads", "run.device", "train.steps", "train.checkpoint_every",
                               "train.keep_checkpoints", "train.log_every", "eval.every", "eval.batches",
                               "loader.workers", "loader.prefetch"},
                              "Resume it with the configuration it records, or train into another run.dir "
                              "(with --resume " + latest_checkpoint(run_dir_).string() + " to start from its weights)",
                              registry_, framework_sections());
    write_durably(run_dir_ / "config.toml", experiment_.to_toml());
  }

  void resume() {
    checkpoint_ = control_.resume.empty() ? latest_checkpoint(run_dir_) : control_.resume;
    if (!control_.resume.empty() && !std::filesystem::is_regular_file(control_.resume))
      throw Error("--resume " + control_.resume.string() + ": no such checkpoint file");
    if (!checkpoint_.empty()) state_ = load_checkpoint(checkpoint_, *model_, *optimizer_);
    saved_step_ = checkpoint_.empty() ? -1 : state_.step;
    if (collectives_) {
      check_same_start(*collectives_, state_);
      std::vector<at::Tensor> parameters = model_->parameters();
      torch::NoGradGuard no_grad;
      collectives_->broadcast_from_leader(parameters);  // the same start even if initialisation differed
    }
    if (!world_.leader()) return;
    if (checkpoint_.empty())
      std::filesystem::remove(run_dir_ / "metrics.jsonl");
    else
      truncate_metrics(run_dir_ / "metrics.jsonl", state_.step);
    metrics_.emplace(run_dir_ / "metrics.jsonl");
  }

  void announce() {
    progress_.emplace(options_.steps, state_.step, /*quiet=*/!world_.leader());
    progress_->message("cloze: " + experiment_.modality + " + " + experiment_.corruption.name() + ", " +
                       std::to_string(model_->parameters().size()) + " tensors, " + std::to_string(threads_) +
                       " threads on " + device_.str() +
                       (world_.distributed() ? " in each of " + std::to_string(world_.size) + " ranks" : "") +
                       ", run folder " + run_dir_.string() +
                       (state_.step > 0 ? ", resuming at step " + std::to_string(state_.step) : ""));
    if (const auto skipped = pipeline_.bad_samples().skipped(); !skipped.empty() && world_.leader()) {
      write_bad_samples();
      progress_->message("left out " + std::to_string(skipped.size()) + " samples that cannot be read (first: " +
                         skipped.front().path.string() + "), listed in " +
                         (run_dir_ / "bad_samples.jsonl").string());
    }
  }

  // <run>/bad_samples.jsonl: the files left out under on_bad_sample = "skip",
  // with those the list already holds from before a resume. Streaming readers
  // meet them as training goes, so every save rewrites it.
  void write_bad_samples() {
    std::vector<BadSample> skipped = pipeline_.bad_samples().skipped();
    if (skipped.empty() || !world_.leader()) return;
    const auto file = run_dir_ / "bad_samples.jsonl";
    std::vector<BadSample> listed = std::filesystem::exists(file) ? read_jsonl(file) : std::vector<BadSample>{};
    std::set<std::filesystem::path> known;
    for (const BadSample& bad : listed) known.insert(bad.path);
    for (BadSample& bad : skipped)
      if (known.insert(bad.path).second) listed.push_back(std::move(bad));
    write_durably(file, to_jsonl(listed));
  }

  // The same held-out batches at every eval, so the curve measures the model,
  // on the task training ends with: scheduled corruption parameters at their
  // last value. Rank 0 evaluates alone, on all of them.
  void draw_eval_batches() {
    entry_labels_ = pipeline_.corruption()->entry_labels();
    if (!world_.leader()) return;
    // A small held-out split is still evaluated, in smaller batches.
    auto eval_loader = pipeline_.loader(Split::eval, std::min(options_.batch_size, pipeline_.samples(Split::eval)),
                                        0, {}, false, TrainingClock{0, 1, /*fixed=*/1.0});
    const int64_t count = std::min(options_.eval_batches, eval_loader->batches_per_epoch());
    for (int64_t i = 0; i < count; ++i) eval_batches_.push_back(to_device(eval_loader->next().corrupted, device_));
  }

  void evaluate_at(int64_t step) {
    if (!world_.leader()) return;
    const EvalResult r = evaluate(model_, eval_batches_, units_, bf16_, static_cast<int64_t>(entry_labels_.size()));
    nlohmann::json record{{"step", step}, {"split", "eval"}, {"loss", r.loss}, {"masked_accuracy", r.accuracy}};
    std::string per_entry;
    for (std::size_t e = 0; e < r.entries.size(); ++e) {
      if (r.entries[e].count == 0) continue;  // no held-out row drew it
      record["entries"][entry_labels_[e]] = {{"loss", r.entries[e].loss},
                                             {"masked_accuracy", r.entries[e].accuracy},
                                             {"units", r.entries[e].count}};
      per_entry +=
          (per_entry.empty() ? "; per entry " : ", ") + entry_labels_[e] + " " + std::to_string(r.entries[e].loss);
    }
    record_parts(r.parts, record);
    add_decoding_score(model_, eval_batches_.front(), record);
    metrics_->write(record);
    const std::string quality = quality_text(scored_units_, r.loss, r.accuracy) + parts_text(r.parts);
    progress_->message("eval step " + std::to_string(step) + ": masked loss " + std::to_string(r.loss) +
                       (quality.empty() ? "" : ", " + quality) +
                       (record.contains("decoded_accuracy")
                            ? ", greedy decoding " + std::to_string(record["decoded_accuracy"].get<double>())
                            : "") +
                       per_entry);
  }

  // An objective's named parts (ELECTRA's generator and detection) under
  // "parts" in a metrics record, each with its loss, accuracy and units.
  static void record_parts(const std::vector<std::pair<std::string, EvalResult>>& parts, nlohmann::json& record) {
    for (const auto& [name, part] : parts)
      record["parts"][name] = {{"loss", part.loss}, {"accuracy", part.accuracy}, {"units", part.count}};
  }

  static std::string parts_text(const std::vector<std::pair<std::string, EvalResult>>& parts) {
    std::string text;
    for (const auto& [name, part] : parts) text += fmt::format(", {} accuracy {:.4f}", name, part.accuracy);
    return text;
  }

  // One optimisation step; a loss or gradient that is not finite skips the
  // update, up to train.skip_nonfinite in a row, then stops the run with a
  // checkpoint of the step before.
  void take_step(int64_t step, double lr) {
    seed_step(seed_, step, world_.rank);
    const StepResult result = train_step_.run(step, lr, [&] {
      const auto wait_start = clock::now();
      LoadedBatch item = loader_->next();
      interval_wait_ += std::chrono::duration<double>(clock::now() - wait_start).count();
      interval_units_ += item.batch.padding.numel() - item.batch.padding.sum().item<int64_t>();
      pending_flops_ += training_flops(model_->options(), units_, item.corrupted);
      return std::move(item.corrupted);
    });
    if (result.applied) {
      nonfinite_in_a_row_ = 0;
      for (const auto& loss : result.losses) interval_.add(loss);
      interval_parts_.add(result.parts);
    } else {
      ++nonfinite_in_a_row_;
      ++state_.skipped_nonfinite;
      const std::string what = "step " + std::to_string(step + 1) + ": the loss or the gradient is not finite";
      if (nonfinite_in_a_row_ > options_.skip_nonfinite) {
        save();  // the state before this step: everything up to it is kept
        const std::string why =
            options_.skip_nonfinite == 0
                ? "stopped before updating (train.skip_nonfinite = N skips up to N such steps)"
                : std::to_string(nonfinite_in_a_row_) + " in a row, more than train.skip_nonfinite = " +
                      std::to_string(options_.skip_nonfinite);
        throw Error(what + "; " + why + ". Checkpoint of step " + std::to_string(state_.step) + " saved in " +
                    run_dir_.string() + "; lowering train.lr or raising train.warmup_steps usually helps");
      }
      progress_->message(what + ", update skipped (" + std::to_string(nonfinite_in_a_row_) + " in a row)");
    }
    state_.step = step + 1;
    state_.next_batch = loader_->next_index();
  }

  // The metrics line and the progress bar for the steps since the last one.
  void log_interval(double lr) {
    if (collectives_) {
      at::Tensor units_seen = at::scalar_tensor(interval_units_, at::kLong);
      collectives_->all_reduce_sum(units_seen);
      interval_units_ = units_seen.item<int64_t>();
    }
    settle_flops();
    const double seconds = std::chrono::duration<double>(clock::now() - interval_start_).count();
    const EvalResult r = interval_.read();
    const auto parts = interval_parts_.read();
    // An interval whose every update was skipped has no loss to report.
    const auto scored = [&](double value) { return interval_.count > 0 ? nlohmann::json(value) : nlohmann::json(); };
    const double units_per_s = static_cast<double>(interval_units_) / std::max(seconds, 1e-9);
    if (metrics_) {
      nlohmann::json record{{"step", state_.step},
                            {"split", "train"},
                            {"loss", scored(r.loss)},
                            {"masked_accuracy", scored(r.accuracy)},
                            {"lr", lr},
                            {"units_per_s", units_per_s},
                            {"data_wait", interval_wait_ / std::max(seconds, 1e-9)},
                            {"skipped_nonfinite", state_.skipped_nonfinite},
                            {"flops", state_.train_flops}};
      record_parts(parts, record);
      metrics_->write(record);
    }
    std::ostringstream status;
    status.precision(4);
    const std::string quality = quality_text(scored_units_, r.loss, r.accuracy);
    status << "loss " << r.loss << (quality.empty() ? "" : "  " + quality) << "  "
           << static_cast<int64_t>(units_per_s) << " units/s";
    progress_->update(state_.step, status.str());
    interval_ = LossSums();
    interval_parts_ = PartSums();
    interval_units_ = 0;
    interval_wait_ = 0;
    interval_start_ = clock::now();
  }

  // Adds every rank's pending FLOPs to the state. Called by all ranks at the
  // same steps (each log line and each save), so the checkpoint's count is
  // exact for the step it holds and a resume continues it.
  void settle_flops() {
    at::Tensor flops = at::scalar_tensor(pending_flops_, at::kDouble);
    if (collectives_) collectives_->all_reduce_sum(flops);
    state_.train_flops += flops.item<double>();
    pending_flops_ = 0;
  }

  void save() {
    settle_flops();
    if (world_.leader()) save_checkpoint(run_dir_, *model_, *optimizer_, state_, options_.keep_checkpoints);
    write_bad_samples();
    saved_step_ = state_.step;
  }

  TrainSummary finish(int stopped_by) {
    TrainSummary summary = world_.leader() ? summarize(run_dir_, state_.step, scored_units_) : TrainSummary{};
    summary.steps = state_.step;
    summary.leader = world_.leader();
    summary.stopped_by_signal = stopped_by;
    summary.finished = state_.step == options_.steps;
    if (summary.finished && world_.leader())
      export_weights(*model_, run_dir_ / "model.safetensors", experiment_.to_toml());
    if (summary.stopped_by_signal != 0)
      progress_->message("stopped by signal " + std::to_string(summary.stopped_by_signal) + " after step " +
                         std::to_string(state_.step) + "; checkpoint saved, run the same command to resume");
    if (collectives_) collectives_->barrier();  // the others wait until rank 0 has written everything
    return summary;
  }

  const Experiment& experiment_;
  Registry& registry_;  // reads the recorded config again before a resume
  const TrainControl& control_;
  const TrainOptions options_;
  const c10::Device device_;
  const bool bf16_;
  const World world_;
  const int threads_;
  const uint64_t seed_;
  std::unique_ptr<Collectives> collectives_;
  Pipeline pipeline_;
  const UnitSpec& units_;
  DenoisingModel model_;
  const UnitSpec scored_units_;  // what the headline loss is on (objective.h)
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  TrainStep train_step_;
  const LrSchedule schedule_;
  const std::filesystem::path run_dir_;

  std::filesystem::path checkpoint_;  // the one resumed from; empty for a fresh run
  CheckpointState state_;
  int64_t saved_step_ = -1;           // the step the newest checkpoint holds
  std::optional<MetricsLog> metrics_;  // rank 0's
  std::optional<Progress> progress_;
  std::vector<std::string> entry_labels_;
  std::vector<Corrupted> eval_batches_;
  std::unique_ptr<Loader> loader_;

  double pending_flops_ = 0;  // this rank's since the last settle_flops()
  int64_t nonfinite_in_a_row_ = 0;
  clock::time_point interval_start_;
  double interval_wait_ = 0;
  int64_t interval_units_ = 0;
  LossSums interval_;
  PartSums interval_parts_;
};

}  // namespace

TrainSummary train(const Experiment& experiment, Registry& registry, const TrainControl& control) {
  return TrainingRun(experiment, registry, control).run();
}

}  // namespace cloze
