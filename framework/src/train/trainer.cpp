#include "cloze/train/trainer.h"

#include <ATen/core/Tensor.h>
#include <ATen/ops/scalar_tensor.h>
#include <torch/utils.h>

#include <chrono>
#include <fstream>
#include <optional>
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
#include "cloze/train/checkpoint.h"
#include "cloze/train/decoding_score.h"
#include "cloze/train/device.h"
#include "cloze/train/metrics.h"
#include "cloze/train/schedule.h"
#include "cloze/train/stop_signal.h"
#include "cloze/train/train_step.h"

namespace cloze {

namespace {

struct EvalResult {
  double loss = 0, accuracy = 0;
  int64_t count = 0;
  std::vector<EvalResult> entries;  // a mixture's, by Corrupted::entry
};

// Sequence mode: greedy decoding of the first held-out batch, so the curve
// also shows what generation gets right, not only teacher forcing. One batch
// keeps it cheap: generate() reruns the decoder for every token.
void add_decoding_score(DenoisingModel& model, const Corrupted& batch, nlohmann::json& record) {
  if (batch.mode != ReconstructionMode::sequence) return;
  torch::NoGradGuard no_grad;
  const DecodingScore score = score_greedy_decoding(model, batch);
  model->train();
  record["decoded_accuracy"] = score.token_accuracy;
  record["exact_match"] = score.exact_match;
}

// Running sums kept on the device, read back only when logged, so a CUDA step
// never waits on the host.
struct LossSums {
  at::Tensor weighted_loss, correct;
  int64_t count = 0;
  void add(const MaskedLoss& m) {
    const at::Tensor loss = m.loss.detach().to(at::kDouble) * static_cast<double>(m.count);
    weighted_loss = weighted_loss.defined() ? weighted_loss + loss : loss;
    correct = correct.defined() ? correct + m.correct : m.correct;
    count += m.count;
  }
  EvalResult read() const {
    if (count == 0) return {};
    return {weighted_loss.item<double>() / static_cast<double>(count),
            correct.item<double>() / static_cast<double>(count), count, {}};
  }
};

// Over every batch, and for a mixture over each of its `entries` too.
EvalResult evaluate(DenoisingModel& model, const std::vector<Corrupted>& batches, const UnitSpec& units, bool bf16,
                    int64_t entries) {
  torch::NoGradGuard no_grad;
  model->eval();
  LossSums sums;
  std::vector<LossSums> entry_sums(static_cast<std::size_t>(entries));
  for (const auto& batch : batches) {
    AutocastGuard autocast(batch.input.device(), bf16);
    const at::Tensor predictions = model->forward(batch);
    sums.add(masked_loss(predictions, batch, units));
    if (entries == 0) continue;
    const std::vector<MaskedLoss> per_entry = masked_loss_per_entry(predictions, batch, units, entries);
    for (std::size_t e = 0; e < per_entry.size(); ++e) entry_sums[e].add(per_entry[e]);
  }
  model->train();
  EvalResult result = sums.read();
  for (const auto& entry : entry_sums) result.entries.push_back(entry.read());
  return result;
}

std::vector<nlohmann::json> read_metrics(const std::filesystem::path& path) {
  std::vector<nlohmann::json> records;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_object()) records.push_back(std::move(record));
  }
  return records;
}

// Drops metrics lines after the checkpoint's step (and a line a kill cut
// short), so a resumed run does not repeat them.
void truncate_metrics(const std::filesystem::path& path, int64_t step) {
  std::ostringstream kept;
  for (const auto& record : read_metrics(path))
    if (record.value("step", int64_t{0}) <= step) kept << record.dump() << '\n';
  write_durably(path, kept.str());
}

TrainSummary summarize(const std::filesystem::path& run_dir, int64_t steps, const UnitSpec& units) {
  TrainSummary summary;
  summary.run_dir = run_dir;
  summary.steps = steps;
  bool first = true;
  for (const auto& record : read_metrics(run_dir / "metrics.jsonl")) {
    if (record.value("split", "") != "eval") continue;
    if (first) {
      summary.first_eval_loss = record.value("loss", 0.0);
      summary.first_eval_accuracy = record.value("masked_accuracy", 0.0);
      first = false;
    }
    summary.last_eval_loss = record.value("loss", 0.0);
    summary.last_eval_accuracy = record.value("masked_accuracy", 0.0);
  }
  summary.first_eval_quality = units.quality_text(summary.first_eval_loss, summary.first_eval_accuracy);
  summary.last_eval_quality = units.quality_text(summary.last_eval_loss, summary.last_eval_accuracy);
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

}  // namespace

TrainSummary train(const Experiment& experiment, const Registry& registry, const TrainControl& control) {
  const Params& run = experiment.section("run");
  const auto options = TrainOptions::from(experiment.section("train"), experiment.section("eval"));
  const c10::Device device = resolve_device(run.string("device"));
  const bool bf16 = run.boolean("bf16");
  const World world = World::from_environment();
  const int threads = set_threads(run.integer("threads"), world.local_size);
  keep_freed_host_memory();
  const auto seed = static_cast<uint64_t>(run.integer("seed"));
  torch::manual_seed(seed);

  std::unique_ptr<Collectives> collectives;
  if (world.distributed()) {
    experiment.section("train").require(options.batch_size % world.size == 0, "batch_size",
                                         "must split evenly over WORLD_SIZE = " + std::to_string(world.size) +
                                             " ranks: each takes batch_size / WORLD_SIZE samples of every batch");
    collectives = std::make_unique<Collectives>(world, device);
  }
  Pipeline pipeline(experiment, registry);
  const UnitSpec& units = pipeline.units();
  DenoisingModel model = build_model(experiment, pipeline);
  model->to(device);
  auto optimizer = make_optimizer(model, options);
  TrainStep train_step(model, *optimizer, units, options, device, bf16, collectives.get());
  const LrSchedule schedule{options.lr, options.warmup_steps, options.steps, options.decay, options.min_lr_ratio};

  // Rank 0 writes the run folder; the others only read checkpoints from it.
  const std::filesystem::path run_dir = run.string("dir");
  if (world.leader()) {
    std::filesystem::create_directories(run_dir);
    remove_temporaries(run_dir);  // what a killed save left behind
    // Resuming continues the run that config.toml records: under another
    // model, data, objective or optimisation it would mix two runs in one
    // folder and overwrite the record. A run may be extended (train.steps),
    // and what only paces it, places it or keeps its records may change.
    if (control.resume.empty() && !latest_checkpoint(run_dir).empty())
      require_recorded_config(run_dir / "config.toml", experiment,
                              {"run.threads", "run.device", "train.steps", "train.checkpoint_every",
                               "train.keep_checkpoints", "train.log_every", "eval.every", "eval.batches",
                               "loader.workers", "loader.prefetch"},
                              "Resume it with the configuration it records, or train into another run.dir "
                              "(with --resume " + latest_checkpoint(run_dir).string() + " to start from its weights)");
    write_durably(run_dir / "config.toml", experiment.to_toml());
  }

  CheckpointState state;
  const std::filesystem::path checkpoint = control.resume.empty() ? latest_checkpoint(run_dir) : control.resume;
  if (!control.resume.empty() && !std::filesystem::is_regular_file(control.resume))
    throw Error("--resume " + control.resume.string() + ": no such checkpoint file");
  if (!checkpoint.empty()) state = load_checkpoint(checkpoint, *model, *optimizer);
  if (collectives) {
    check_same_start(*collectives, state);
    std::vector<at::Tensor> parameters = model->parameters();
    torch::NoGradGuard no_grad;
    collectives->broadcast_from_leader(parameters);  // the same start even if initialisation differed
  }
  std::optional<MetricsLog> metrics;
  if (world.leader()) {
    if (checkpoint.empty())
      std::filesystem::remove(run_dir / "metrics.jsonl");
    else
      truncate_metrics(run_dir / "metrics.jsonl", state.step);
    metrics.emplace(run_dir / "metrics.jsonl");
  }
  Progress progress(options.steps, state.step, /*quiet=*/!world.leader());
  progress.message("cloze: " + experiment.modality + " + " + experiment.corruption.name() + ", " +
                   std::to_string(model->parameters().size()) + " tensors, " + std::to_string(threads) +
                   " threads on " + device.str() +
                   (world.distributed() ? " in each of " + std::to_string(world.size) + " ranks" : "") +
                   ", run folder " + run_dir.string() +
                   (state.step > 0 ? ", resuming at step " + std::to_string(state.step) : ""));
  if (const auto& skipped = pipeline.bad_samples().skipped(); !skipped.empty() && world.leader()) {
    write_durably(run_dir / "bad_samples.jsonl", to_jsonl(skipped));
    progress.message("left out " + std::to_string(skipped.size()) + " samples that cannot be read (first: " +
                     skipped.front().path.string() + "), listed in " + (run_dir / "bad_samples.jsonl").string());
  }

  // The same held-out batches at every eval, so the curve measures the model.
  // Rank 0 evaluates alone, on all of them.
  std::vector<Corrupted> eval_batches;
  if (world.leader()) {
    // A small held-out split is still evaluated, in smaller batches.
    auto eval_loader = pipeline.loader(Split::eval, std::min(options.batch_size, pipeline.samples(Split::eval)));
    const int64_t count = std::min(options.eval_batches, eval_loader->batches_per_epoch());
    for (int64_t i = 0; i < count; ++i) eval_batches.push_back(to_device(eval_loader->next().corrupted, device));
  }

  const std::vector<std::string> entry_labels = pipeline.corruption()->entry_labels();
  auto run_eval = [&](int64_t step) {
    if (!world.leader()) return;
    const EvalResult r = evaluate(model, eval_batches, units, bf16, static_cast<int64_t>(entry_labels.size()));
    nlohmann::json record{{"step", step}, {"split", "eval"}, {"loss", r.loss}, {"masked_accuracy", r.accuracy}};
    std::string per_entry;
    for (std::size_t e = 0; e < r.entries.size(); ++e) {
      if (r.entries[e].count == 0) continue;  // no held-out row drew it
      record["entries"][entry_labels[e]] = {{"loss", r.entries[e].loss},
                                            {"masked_accuracy", r.entries[e].accuracy},
                                            {"units", r.entries[e].count}};
      per_entry +=
          (per_entry.empty() ? "; per entry " : ", ") + entry_labels[e] + " " + std::to_string(r.entries[e].loss);
    }
    add_decoding_score(model, eval_batches.front(), record);
    metrics->write(record);
    const std::string quality = units.quality_text(r.loss, r.accuracy);
    progress.message("eval step " + std::to_string(step) + ": masked loss " + std::to_string(r.loss) +
                     (quality.empty() ? "" : ", " + quality) +
                     (record.contains("decoded_accuracy")
                          ? ", greedy decoding " + std::to_string(record["decoded_accuracy"].get<double>())
                          : "") +
                     per_entry);
  };
  if (checkpoint.empty()) run_eval(0);

  auto loader = pipeline.loader(Split::train, options.batch_size, state.next_batch, {world.rank, world.size},
                                /*pin_memory=*/device.is_cuda());
  int64_t saved_step = checkpoint.empty() ? -1 : state.step;  // the step the newest checkpoint holds
  double pending_flops = 0;  // this rank's since the last settle_flops()
  // Adds every rank's pending FLOPs to the state. Called by all ranks at the
  // same steps (each log line and each save), so the checkpoint's count is
  // exact for the step it holds and a resume continues it.
  const auto settle_flops = [&] {
    at::Tensor flops = at::scalar_tensor(pending_flops, at::kDouble);
    if (collectives) collectives->all_reduce_sum(flops);
    state.train_flops += flops.item<double>();
    pending_flops = 0;
  };
  const auto save = [&] {
    settle_flops();
    if (world.leader()) save_checkpoint(run_dir, *model, *optimizer, state, options.keep_checkpoints);
    saved_step = state.step;
  };
  const StopOnSignal stop_signal;
  // A signal may reach the ranks at different steps; they stop together.
  const auto stop_requested = [&] {
    return collectives ? static_cast<int>(collectives->max(stop_signal.received())) : stop_signal.received();
  };
  const int64_t last_step = control.stop_at >= 0 ? std::min(control.stop_at, options.steps) : options.steps;
  int64_t nonfinite_in_a_row = 0;
  using clock = std::chrono::steady_clock;
  auto interval_start = clock::now();
  double interval_wait = 0;
  int64_t interval_units = 0;
  LossSums interval;
  int stopped_by = 0;

  for (int64_t step = state.step; step < last_step && (stopped_by = stop_requested()) == 0; ++step) {
    const double lr = schedule.at(step);
    seed_step(seed, step, world.rank);
    const StepResult result = train_step.run(lr, [&] {
      const auto wait_start = clock::now();
      LoadedBatch item = loader->next();
      interval_wait += std::chrono::duration<double>(clock::now() - wait_start).count();
      interval_units += item.batch.padding.numel() - item.batch.padding.sum().item<int64_t>();
      pending_flops += training_flops(model->options(), units, item.corrupted);
      return std::move(item.corrupted);
    });
    if (!result.applied) {
      ++nonfinite_in_a_row;
      ++state.skipped_nonfinite;
      const std::string what = "step " + std::to_string(step + 1) + ": the loss or the gradient is not finite";
      if (nonfinite_in_a_row > options.skip_nonfinite) {
        save();  // the state before this step: everything up to it is kept
        const std::string why =
            options.skip_nonfinite == 0
                ? "stopped before updating (train.skip_nonfinite = N skips up to N such steps)"
                : std::to_string(nonfinite_in_a_row) + " in a row, more than train.skip_nonfinite = " +
                      std::to_string(options.skip_nonfinite);
        throw Error(what + "; " + why + ". Checkpoint of step " + std::to_string(state.step) + " saved in " +
                    run_dir.string() + "; lowering train.lr or raising train.warmup_steps usually helps");
      }
      progress.message(what + ", update skipped (" + std::to_string(nonfinite_in_a_row) + " in a row)");
    } else {
      nonfinite_in_a_row = 0;
      for (const auto& loss : result.losses) interval.add(loss);
    }
    state.step = step + 1;
    state.next_batch = loader->next_index();

    if (state.step % options.log_every == 0 || state.step == options.steps) {
      if (collectives) {
        at::Tensor units_seen = at::scalar_tensor(interval_units, at::kLong);
        collectives->all_reduce_sum(units_seen);
        interval_units = units_seen.item<int64_t>();
      }
      settle_flops();
      const double seconds = std::chrono::duration<double>(clock::now() - interval_start).count();
      const EvalResult r = interval.read();
      // An interval whose every update was skipped has no loss to report.
      const auto scored = [&](double value) { return interval.count > 0 ? nlohmann::json(value) : nlohmann::json(); };
      const double units_per_s = static_cast<double>(interval_units) / std::max(seconds, 1e-9);
      if (metrics)
        metrics->write({{"step", state.step},
                        {"split", "train"},
                        {"loss", scored(r.loss)},
                        {"masked_accuracy", scored(r.accuracy)},
                        {"lr", lr},
                        {"units_per_s", units_per_s},
                        {"data_wait", interval_wait / std::max(seconds, 1e-9)},
                        {"skipped_nonfinite", state.skipped_nonfinite},
                        {"flops", state.train_flops}});
      std::ostringstream status;
      status.precision(4);
      const std::string quality = units.quality_text(r.loss, r.accuracy);
      status << "loss " << r.loss << (quality.empty() ? "" : "  " + quality) << "  "
             << static_cast<int64_t>(units_per_s) << " units/s";
      progress.update(state.step, status.str());
      interval = LossSums();
      interval_units = 0;
      interval_wait = 0;
      interval_start = clock::now();
    }
    if (state.step % options.eval_every == 0 || state.step == options.steps) run_eval(state.step);
    if (options.checkpoint_every > 0 && state.step % options.checkpoint_every == 0 && state.step != last_step)
      save();
  }
  progress.finish();
  if (saved_step != state.step) save();

  TrainSummary summary = world.leader() ? summarize(run_dir, state.step, units) : TrainSummary{};
  summary.steps = state.step;
  summary.leader = world.leader();
  summary.stopped_by_signal = stopped_by;
  summary.finished = state.step == options.steps;
  if (summary.finished && world.leader())
    export_weights(*model, run_dir / "model.safetensors", experiment.to_toml());
  if (summary.stopped_by_signal != 0)
    progress.message("stopped by signal " + std::to_string(summary.stopped_by_signal) + " after step " +
                     std::to_string(state.step) + "; checkpoint saved, run the same command to resume");
  if (collectives) collectives->barrier();  // the others wait until rank 0 has written everything
  return summary;
}

}  // namespace cloze
