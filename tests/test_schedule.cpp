// Schedules for corruption parameters (cloze/core/schedule.h): the values a
// schedule gives, the config that writes one and the errors that name its key,
// the corruption seeing each step's value (alone, as a chain's stage and as a
// mixture's entry), and a scheduled run that resumes exactly.
#include <catch2/catch.hpp>

#include <ATen/Functions.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cloze/config/corruption_recipe.h"
#include "cloze/config/experiment.h"
#include "cloze/core/error.h"
#include "cloze/core/schedule.h"
#include "cloze/data/pipeline.h"
#include "cloze/train/trainer.h"
#include "test_support.h"
#include "toy_tokens.h"

using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

cloze::Experiment parse(const std::string& corruption, const std::vector<std::string>& overrides = {}) {
  const std::string text = "[modality]\nname = \"synthetic\"\n\n[corruption]\n" + corruption;
  return cloze::parse_experiment(text, "mlm.toml", overrides, test_support::registry(), cloze::framework_sections());
}

// Ids below 20, none special but pad (0) and [MASK] (1).
cloze::UnitSpec ids() { return toy_tokens::units(20); }

cloze::Batch rows(int64_t count, double training_fraction) {
  cloze::Batch batch;
  batch.units = at::arange(2, 12, at::kLong).repeat({count, 1});
  batch.padding = at::zeros({count, 10}, at::kBool);
  batch.grid.dims = {10};
  for (int64_t row = 0; row < count; ++row) batch.sample_ids.push_back(row);
  batch.training_fraction = training_fraction;
  return batch;
}

// The share of units the corruption chose at `fraction` of training.
double chosen_share(const cloze::Corruption& corruption, double fraction) {
  const cloze::Corrupted corrupted = corruption.corrupt(rows(200, fraction), 5);
  return corrupted.loss_mask.to(at::kDouble).mean().item<double>();
}

std::shared_ptr<cloze::Corruption> built(const cloze::Experiment& experiment) {
  auto corruption = cloze::build_corruption(experiment.corruption, test_support::registry(), "mlm.toml");
  corruption->prepare(ids());
  return corruption;
}

}  // namespace

TEST_CASE("a schedule holds each point's value until the next, or moves linearly to it") {
  cloze::ParamSchedule mmbert{{{0.0, 0.3}, {0.6, 0.15}, {0.9, 0.05}}};
  CHECK(mmbert.at(0.0) == 0.3);
  CHECK(mmbert.at(0.59) == 0.3);
  CHECK(mmbert.at(0.6) == 0.15);
  CHECK(mmbert.at(0.89) == 0.15);
  CHECK(mmbert.at(0.9) == 0.05);
  CHECK(mmbert.at(1.0) == 0.05);
  cloze::ParamSchedule linear{{{0.0, 0.4}, {0.5, 0.2}}, cloze::Interpolation::linear};
  CHECK(linear.at(0.25) == Approx(0.3).epsilon(1e-12));
  CHECK(linear.at(0.5) == 0.2);
  CHECK(linear.at(0.9) == 0.2);
  CHECK(mmbert.to_toml() == "{ schedule = [[0.0, 0.3], [0.6, 0.15], [0.9, 0.05]] }");
  CHECK(linear.to_toml() == "{ schedule = [[0.0, 0.4], [0.5, 0.2]], interpolate = \"linear\" }");

  CHECK(cloze::ParamSchedule{{{0.1, 0.3}}}.violation() ==
        "a schedule starts at fraction 0.0, not 0.1: it gives the value training starts with");
  CHECK(cloze::ParamSchedule{{{0.0, 0.3}, {0.6, 0.1}, {0.3, 0.2}}}.violation() == "fractions must rise: 0.6 then 0.3");
  CHECK(cloze::ParamSchedule{{{0.0, 0.3}, {1.5, 0.1}}}.violation() ==
        "fraction 1.5 is past the end of training (1.0)");
  CHECK(cloze::ParamSchedule{}.violation() == "a schedule needs at least one [fraction, value] point");
}

TEST_CASE("a corruption parameter takes a schedule in the file or an override, and writes it back") {
  const auto experiment =
      parse("name = \"token_mask\"\nrate = { schedule = [[0.0, 0.3], [0.6, 0.15], [0.9, 0.05]] }\n");
  const cloze::Params& params = experiment.corruption.params();
  REQUIRE(params.schedules().count("rate") == 1);
  CHECK(params.real("rate") == 0.3);  // the value training starts with
  CHECK(params.at_fraction(0.7).real("rate") == 0.15);
  CHECK(params.at_fraction(0.7).schedules().empty());
  CHECK(params.origin("rate") == "mlm.toml:6");
  CHECK(experiment.corruption.set_parameters() == "rate={ schedule = [[0.0, 0.3], [0.6, 0.15], [0.9, 0.05]] }");

  // The resolved config reads back to the same experiment.
  const std::string resolved = experiment.to_toml();
  CHECK_THAT(resolved, Contains("rate = { schedule = [[0.0, 0.3], [0.6, 0.15], [0.9, 0.05]] }"));
  const auto again =
      cloze::parse_experiment(resolved, "config.toml", {}, test_support::registry(), cloze::framework_sections());
  CHECK(again.corruption == experiment.corruption);

  const auto overridden =
      parse("name = \"token_mask\"\n",
            {"corruption.rate={ schedule = [[0, 0.4], [1, 0.1]], interpolate = \"linear\" }"});
  CHECK(overridden.corruption.params().at_fraction(0.5).real("rate") == Approx(0.25).epsilon(1e-12));
  // An integer parameter steps through whole numbers.
  const auto spans =
      parse("name = \"span_mask\"\nmax_span = { schedule = [[0.0, 2], [1.0, 5]], interpolate = \"linear\" }\n");
  CHECK(spans.corruption.params().at_fraction(0.5).integer("max_span") == 4);  // 3.5 rounds away from zero
}

TEST_CASE("a wrong schedule is refused naming the file, line and key") {
  CHECK_THROWS_WITH(parse("name = \"token_mask\"\nrate = { schedule = [[0.0, 0.3], [0.6, 0.15], [0.3, 0.05]] }\n"),
                    Equals("mlm.toml:6: corruption.rate: fractions must rise: 0.6 then 0.3"));
  CHECK_THROWS_WITH(parse("name = \"token_mask\"\nrate = { schedule = [[0.0, 0.3], [0.5, 1.5]] }\n"),
                    Equals("mlm.toml:6: corruption.rate: the value at fraction 0.5, 1.5, must be in [0, 1]"));
  CHECK_THROWS_WITH(parse("name = \"token_mask\"\nrate = { schedule = [[0.0, 0.3]], interpolate = \"cubic\" }\n"),
                    Equals("mlm.toml:6: corruption.rate: interpolate must be \"constant\" or \"linear\""));
  CHECK_THROWS_WITH(parse("name = \"token_mask\"\nrate = { schedul = [[0.0, 0.3]] }\n"),
                    Contains("mlm.toml:6: corruption.rate: unknown key 'schedul' in a schedule"));
  CHECK_THROWS_WITH(parse("name = \"token_mask\"\nrate = { schedule = [[0.0, 0.3, 0.1]] }\n"),
                    Equals("mlm.toml:6: corruption.rate: each point of a schedule is a [fraction, value] pair of "
                           "numbers"));
  CHECK_THROWS_WITH(parse("name = \"token_mask\"\nwhole_word = { schedule = [[0.0, 1]] }\n"),
                    Equals("mlm.toml:6: corruption.whole_word: only numbers can follow a schedule; whole_word is a "
                           "boolean"));
  CHECK_THROWS_WITH(parse("name = \"span_mask\"\nmax_span = { schedule = [[0.0, 2.5]] }\n"),
                    Equals("mlm.toml:6: corruption.max_span: the value at fraction 0.0, 2.5, is not a whole number"));
  CHECK_THROWS_WITH(parse("name = \"token_mask\"\n", {"train.lr={ schedule = [[0.0, 1e-3]] }"}),
                    Equals("override 'train.lr={ schedule = [[0.0, 1e-3]] }': train.lr: only a corruption's "
                           "parameters can follow a schedule; [train] takes one float"));
}

TEST_CASE("the corruption sees the value of the step each batch is used at") {
  const auto corruption = built(parse("name = \"token_mask\"\nrate = { schedule = [[0.0, 0.0], [0.5, 1.0]] }\n"));
  CHECK(corruption->name() == "token_mask");
  CHECK(chosen_share(*corruption, 0.0) == 0.0);
  CHECK(chosen_share(*corruption, 0.49) == 0.0);
  CHECK(chosen_share(*corruption, 0.5) == 1.0);
  CHECK(chosen_share(*corruption, 1.0) == 1.0);

  // Linear: each step its own value; the expected share is the rate itself.
  const auto linear =
      built(parse("name = \"token_mask\"\nrate = { schedule = [[0.0, 0.0], [1.0, 0.8]], interpolate = \"linear\" }\n"));
  for (const double fraction : {0.1, 0.25, 0.5, 0.75})
    CHECK(chosen_share(*linear, fraction) == Approx(0.8 * fraction).margin(0.02));

  // The loader puts batch k at optimizer step k / batches_per_step of steps.
  const cloze::TrainingClock clock{10, 2};
  CHECK(clock.fraction(0) == 0.0);
  CHECK(clock.fraction(9) == 0.4);
  CHECK(clock.fraction(10) == 0.5);
  CHECK(cloze::TrainingClock{0, 1, 1.0}.fraction(7) == 1.0);
}

TEST_CASE("a chain's stage and a mixture's entry each follow their own schedule") {
  const auto chain = built(parse(
      "[[corruption.chain]]\nname = \"token_mask\"\nrate = 0.0\n"
      "[[corruption.chain]]\nname = \"token_mask\"\nrate = { schedule = [[0.0, 0.0], [0.5, 1.0]] }\n"));
  CHECK(chosen_share(*chain, 0.2) == 0.0);
  CHECK(chosen_share(*chain, 0.7) == 1.0);

  // Two entries, one scheduled: at 0.7 only the rows of the scheduled one are chosen.
  const auto mixture = built(parse(
      "[[corruption.mixture]]\nname = \"token_mask\"\nlabel = \"still\"\nrate = 0.0\n"
      "[[corruption.mixture]]\nname = \"token_mask\"\nlabel = \"moving\"\n"
      "rate = { schedule = [[0.0, 0.0], [0.5, 1.0]] }\n"));
  CHECK(chosen_share(*mixture, 0.2) == 0.0);
  const cloze::Corrupted late = mixture->corrupt(rows(200, 0.7), 5);
  const at::Tensor moving = late.entry == 1;
  CHECK(late.loss_mask.any(1).equal(moving));
  CHECK(moving.sum().item<int64_t>() > 50);
}

TEST_CASE("a scheduled corruption keeps every input inside the lengths the model is built for") {
  // span_infill packs raw rows once: the shortest raw length on the schedule
  // keeps every input inside seq_len, and the position tables take the longest.
  const auto experiment =
      parse("name = \"span_infill\"\nnoise_density = { schedule = [[0.0, 0.15], [0.5, 0.5]] }\n");
  const auto corruption = cloze::build_corruption(experiment.corruption, test_support::registry(), "mlm.toml");
  auto fixed_at = [&](double fraction) {
    const cloze::Params fixed = experiment.corruption.params().at_fraction(fraction);
    return test_support::registry().make_corruption("span_infill", fixed);
  };
  CHECK(corruption->raw_length(64) == std::min(fixed_at(0)->raw_length(64), fixed_at(0.5)->raw_length(64)));
  CHECK(corruption->max_lengths(80).target ==
        std::max(fixed_at(0)->max_lengths(80).target, fixed_at(0.5)->max_lengths(80).target));
}

TEST_CASE("a schedule that would change the reconstruction mode is refused, naming the key") {
  // A fake whose mode follows its `level`: in place at 0, fill above.
  class Switching final : public cloze::Corruption {
   public:
    explicit Switching(const cloze::Params& params) : level_(params.integer("level")) {}
    cloze::ReconstructionMode mode() const override {
      return level_ == 0 ? cloze::ReconstructionMode::in_place : cloze::ReconstructionMode::fill;
    }
    std::string incompatibility(const cloze::UnitSpec&) const override { return ""; }

   private:
    cloze::Corrupted do_corrupt(const cloze::Batch&, uint64_t) const override { return {}; }
    int64_t level_;
  };
  cloze::Registry registry;
  const cloze::Schema schema{{"level", cloze::ParamType::integer, int64_t{0}, "which mode"}};
  registry.add_corruption<Switching>("switching", "test", schema);
  cloze::Params params("corruption", schema);
  params.set_schedule("level", cloze::ParamSchedule{{{0.0, 0.0}, {0.5, 1.0}}}, "mlm.toml:7");
  cloze::CorruptionRecipe recipe;
  recipe.stages.push_back({"switching", params});
  CHECK_THROWS_WITH(cloze::build_corruption(recipe, registry, "mlm.toml"),
                    Equals("mlm.toml:7: corruption.level: this schedule changes switching's reconstruction mode "
                           "during training, which the model is built for once"));
}

TEST_CASE("a scheduled run follows its schedule and resumes exactly", "[train]") {
  const test_support::TempDir dir("schedule_resume");
  {
    std::ofstream corpus(dir.path / "corpus.txt");
    for (int repeat = 0; repeat < 40; ++repeat) corpus << "the cat sat on the mat\n%\na dog ran in the fog\n%\n";
  }
  auto experiment = [&](const std::string& run, const std::string& rate) {
    const std::string text =
        "[run]\nseed = 3\nthreads = 1\ndir = \"" + (dir.path / run).string() + "\"\ncache_dir = \"" +
        (dir.path / "cache").string() +
        "\"\n[modality]\nname = \"text\"\ntokenizer = \"byte\"\nsentinels = 0\nseparator = \"%\"\nseq_len = 24\n"
        "eval_fraction = 0.25\ncorpus = [\"" +
        (dir.path / "corpus.txt").string() + "\"]\n[corruption]\nname = \"token_mask\"\nrate = " + rate +
        "\n[model]\ndim = 32\nlayers = 1\nheads = 2\n[train]\nbatch_size = 8\nsteps = 20\nwarmup_steps = 2\n"
        "log_every = 5\naccumulate = 2\n[eval]\nevery = 20\nbatches = 1\n";
    return cloze::parse_experiment(text, "tiny.toml", {}, test_support::registry(), cloze::framework_sections());
  };
  // The losses a run logged, train and eval, in order.
  auto logged_losses = [&](const std::string& run, const std::string& split) {
    std::vector<double> losses;
    std::ifstream in(dir.path / run / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      const auto record = nlohmann::json::parse(line);
      if (record["split"] == split) losses.push_back(record["loss"].get<double>());
    }
    return losses;
  };
  const std::string schedule = "{ schedule = [[0.0, 0.15], [0.5, 0.6]] }";
  cloze::train(experiment("scheduled", schedule), test_support::registry());
  cloze::train(experiment("constant", "0.15"), test_support::registry());
  cloze::TrainControl stop_at_12;
  stop_at_12.stop_at = 12;
  cloze::train(experiment("resumed", schedule), test_support::registry(), stop_at_12);
  cloze::train(experiment("resumed", schedule), test_support::registry());

  const auto scheduled = logged_losses("scheduled", "train"), constant = logged_losses("constant", "train");
  REQUIRE(scheduled.size() == 4);  // the mean loss of steps 1-5, 6-10, 11-15, 16-20
  // The first half of training is the constant run's; the second is not.
  CHECK(scheduled[0] == constant[0]);
  CHECK(scheduled[1] == constant[1]);
  CHECK(scheduled[2] != constant[2]);
  CHECK(scheduled[3] != constant[3]);
  // Stopped at step 12 and resumed, the run ends where the uninterrupted one
  // does: steps 16-20 and the final eval, to the last bit. (Its steps 11-15
  // line averages only the steps after the resume.)
  const auto resumed = logged_losses("resumed", "train");
  REQUIRE(resumed.size() == 4);
  CHECK(resumed[3] == scheduled[3]);
  CHECK(logged_losses("resumed", "eval").back() == logged_losses("scheduled", "eval").back());
}
