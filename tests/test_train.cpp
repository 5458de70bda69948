// End to end: a tiny text masked-LM experiment trains through the shared loop,
// writes its run folder, and learns (a tiny model overfits a tiny corpus).
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "cloze/config/experiment.h"
#include "cloze/core/units.h"
#include "cloze/train/metrics.h"
#include "cloze/core/registry.h"
#include "cloze/data/pipeline.h"
#include "cloze/inspect/dump.h"
#include "cloze/io/safetensors.h"
#include "cloze/train/trainer.h"

namespace {

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::path(CLOZE_TEST_DATA_DIR) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A corpus with a few short, very regular documents, so a tiny model can
// memorise which byte fills each blank.
std::filesystem::path tiny_corpus(const std::filesystem::path& dir) {
  const auto path = dir / "corpus.txt";
  std::ofstream out(path);
  const char* lines[] = {"the cat sat on the mat", "a dog ran in the fog", "red sun over blue sea",
                         "one two three four five"};
  for (int repeat = 0; repeat < 40; ++repeat)
    for (const char* line : lines) out << line << "\n%\n";
  return path;
}

std::string tiny_experiment(const std::filesystem::path& dir, int64_t steps) {
  return "[run]\nseed = 3\nthreads = 1\ndir = \"" + (dir / "run").string() + "\"\ncache_dir = \"" +
         (dir / "cache").string() +
         "\"\n"
         "[modality]\nname = \"text\"\ntokenizer = \"byte\"\nsentinels = 0\nseparator = \"%\"\nseq_len = 32\n"
         "eval_fraction = 0.25\ncorpus = [\"" +
         tiny_corpus(dir).string() +
         "\"]\n"
         "[corruption]\nname = \"token_mask\"\n"
         "[model]\ndim = 64\nlayers = 2\nheads = 2\ndropout = 0.0\n"
         "[train]\nbatch_size = 16\nlr = 1e-3\nwarmup_steps = 10\nlog_every = 10\nsteps = " +
         std::to_string(steps) +
         "\n"
         "[eval]\nevery = 100\nbatches = 4\n";
}

std::vector<nlohmann::json> metrics_of(const std::filesystem::path& run_dir) {
  std::vector<nlohmann::json> records;
  std::ifstream in(run_dir / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) records.push_back(nlohmann::json::parse(line));
  return records;
}

}  // namespace

TEST_CASE("a tiny masked LM overfits a tiny corpus and writes its run folder", "[train]") {
  const auto dir = fresh_dir("train_tiny");
  cloze::Registry registry;
  registry.load_default_plugins();
  const auto experiment =
      cloze::parse_experiment(tiny_experiment(dir, 400), "tiny.toml", {}, registry, cloze::framework_sections());
  const auto summary = cloze::train(experiment, registry);

  CHECK(summary.steps == 400);
  // From about ln(vocab) at initialisation to far below it.
  CHECK(summary.first_eval_loss > 4.0);
  CHECK(summary.last_eval_loss < summary.first_eval_loss - 2.5);
  CHECK(summary.last_eval_accuracy > summary.first_eval_accuracy + 0.25);

  const auto run_dir = dir / "run";
  const auto records = metrics_of(run_dir);
  int64_t train_lines = 0;
  for (const auto& record : records) {
    if (record["split"] != "train") continue;
    ++train_lines;
    CHECK(record["units_per_s"].get<double>() > 0);
    CHECK(record["data_wait"].get<double>() >= 0);
    CHECK(record["lr"].get<double>() > 0);
  }
  CHECK(train_lines == 40);
  CHECK(std::filesystem::exists(run_dir / "checkpoint-400.pt"));
  CHECK(std::filesystem::exists(run_dir / "config.toml"));

  const auto weights = cloze::load_safetensors(run_dir / "model.safetensors");
  CHECK(weights.tensors.size() > 10);
  CHECK(weights.metadata.at("config") == experiment.to_toml());
  for (const auto& [name, tensor] : weights.tensors) CHECK(tensor.isfinite().all().item<bool>());
}

TEST_CASE("the command line reports ids by accuracy and values by PSNR where it has a peak", "[train]") {
  cloze::UnitSpec ids;
  ids.kind = cloze::UnitKind::discrete;
  CHECK(cloze::quality_text(ids, 2.5, 0.23291) == "masked accuracy 0.2329");
  CHECK_FALSE(ids.psnr_db(0.04));
  cloze::UnitSpec values;
  values.kind = cloze::UnitKind::continuous;
  values.value_range = 2.0;  // pixels normalised to [-1, 1]
  REQUIRE(values.psnr_db(0.04));
  CHECK(*values.psnr_db(0.04) == Approx(20.0));  // 10 log10(4 / 0.04)
  CHECK(cloze::quality_text(values, 0.04, 0.0) == "PSNR 20.00 dB");
  CHECK_FALSE(values.psnr_db(0.0));
  values.normalize_targets = true;  // MAE's per-patch targets: no fixed peak, the loss says it all
  CHECK(cloze::quality_text(values, 0.04, 0.0).empty());
  values.normalize_targets = false;
  values.value_range = 0;  // unknown
  CHECK(cloze::quality_text(values, 0.04, 0.0).empty());
}

TEST_CASE("training an existing run folder resumes from its newest checkpoint", "[train]") {
  const auto dir = fresh_dir("train_resume");
  cloze::Registry registry;
  registry.load_default_plugins();
  const auto sections = cloze::framework_sections();
  cloze::train(cloze::parse_experiment(tiny_experiment(dir, 20), "tiny.toml", {}, registry, sections), registry);
  const auto resumed =
      cloze::train(cloze::parse_experiment(tiny_experiment(dir, 40), "tiny.toml", {}, registry, sections), registry);
  CHECK(resumed.steps == 40);

  // Every train step is logged once: 10, 20 from the first run, 30, 40 after.
  std::vector<int64_t> train_steps;
  for (const auto& record : metrics_of(dir / "run"))
    if (record["split"] == "train") train_steps.push_back(record["step"].get<int64_t>());
  CHECK(train_steps == std::vector<int64_t>{10, 20, 30, 40});
}

TEST_CASE("corrupted batches dump as <batch>.<field> tensors and read back equal", "[train]") {
  const auto dir = fresh_dir("dump");
  cloze::Registry registry;
  registry.load_default_plugins();
  const auto experiment =
      cloze::parse_experiment(tiny_experiment(dir, 1), "tiny.toml", {}, registry, cloze::framework_sections());
  const cloze::Pipeline pipeline(experiment, registry);
  const auto tensors = cloze::dump_corrupted_batches(pipeline, 2, 4);

  std::vector<std::string> names;
  for (const auto& item : tensors) names.push_back(item.first);
  CHECK(names == std::vector<std::string>{"0.input", "0.input_padding", "0.input_positions", "0.loss_mask",
                                          "0.padding", "0.target", "0.units", "1.input", "1.input_padding",
                                          "1.input_positions", "1.loss_mask", "1.padding", "1.target", "1.units"});
  CHECK(tensors.at("0.units").sizes() == at::IntArrayRef({4, 32}));
  // token_mask changes units only where the loss counts.
  const auto changed = tensors.at("0.input").ne(tensors.at("0.units"));
  CHECK(changed.logical_and(tensors.at("0.loss_mask").logical_not()).sum().item<int64_t>() == 0);
  CHECK(tensors.at("0.loss_mask").sum().item<int64_t>() > 0);

  const auto file = dir / "batches.safetensors";
  cloze::save_safetensors(file, tensors, {{"config", experiment.to_toml()}});
  const auto loaded = cloze::load_safetensors(file);
  REQUIRE(loaded.tensors.size() == tensors.size());
  for (const auto& [name, tensor] : tensors) CHECK(loaded.tensors.at(name).equal(tensor));
}

TEST_CASE("a sequence objective dumps its decoder input and trains through the same loop", "[train]") {
  const auto dir = fresh_dir("sequence");
  cloze::Registry registry;
  registry.load_default_plugins();
  const auto experiment = cloze::parse_experiment(
      tiny_experiment(dir, 30), "tiny.toml",
      {"corruption.name=span_infill", "modality.sentinels=16", "model.decoder_layers=1", "eval.every=30"}, registry,
      cloze::framework_sections());
  const cloze::Pipeline pipeline(experiment, registry);
  const auto tensors = cloze::dump_corrupted_batches(pipeline, 1, 4);
  REQUIRE(tensors.count("0.decoder_input") == 1);
  // T5's lengths: inputs come out at seq_len exactly, from longer raw chunks.
  CHECK(tensors.at("0.input").size(1) == 32);
  CHECK(tensors.at("0.units").size(1) > 32);
  CHECK(tensors.at("0.decoder_input").sizes() == tensors.at("0.target").sizes());

  const auto summary = cloze::train(experiment, registry);
  CHECK(summary.steps == 30);
  CHECK(summary.last_eval_loss < summary.first_eval_loss - 1.0);
}
