// Chains and mixtures of corruptions (cloze/chain.h, cloze/mixture.h): a
// chain's target is the original and each stage works on the one before's
// output; a mixture draws its entries at their weights and each row comes out
// as its entry alone would make it; modes that cannot work together are
// refused naming both corruptions; all of it the same with 0, 1 and 4 workers.
#include <catch2/catch.hpp>

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cloze/config/corruption_recipe.h"
#include "cloze/config/experiment.h"
#include "cloze/core/rng.h"
#include "cloze/corrupt/batch_rows.h"
#include "cloze/corrupt/chain.h"
#include "cloze/corrupt/mixture.h"
#include "cloze/data/pipeline.h"
#include "cloze/model/loss.h"
#include "sequence_toy.h"
#include "toy_text.h"

namespace {

using Values = std::map<std::string, cloze::Value>;

cloze::Chain::Stage stage(const std::string& name, const Values& values = {}) {
  return {name, seq_toy::make(name, values)};
}

std::shared_ptr<cloze::Chain> prepared_chain(std::vector<cloze::Chain::Stage> stages) {
  auto chain = std::make_shared<cloze::Chain>(std::move(stages));
  chain->prepare(seq_toy::units());
  return chain;
}

cloze::Mixture::Entry entry(const std::string& label, double weight, const std::string& token,
                            const std::string& name, const Values& values = {}) {
  return {label, name, weight, token, seq_toy::make(name, values)};
}

// The toy units with the mixture's mode tokens added, as the pipeline adds them.
cloze::UnitSpec units_for(const cloze::Corruption& corruption) {
  cloze::UnitSpec units = seq_toy::units();
  units.add_special_tokens(corruption.added_tokens());
  return units;
}

// 3000 rows of up to 256 toy ids, padded, in epoch 1.
cloze::Batch toy_batch(int64_t rows = 3000) {
  const toy::Text data(rows, 256, seq_toy::data_vocab);
  cloze::Batch batch = data.collate(seq_toy::iota(data.size()));
  batch.epoch = 1;
  return batch;
}

// `count` rows laid on a [rows, cols] grid of ordinary toy ids, no padding.
cloze::Batch grid_batch(int64_t count, int64_t rows, int64_t cols) {
  cloze::Batch batch;
  batch.units = at::randint(toy::first_ordinary, seq_toy::data_vocab, {count, rows * cols},
                            at::TensorOptions().dtype(at::kLong));
  batch.padding = at::zeros({count, rows * cols}, at::kBool);
  batch.labels = at::full({count}, -1, at::kLong);
  batch.grid.dims = {rows, cols};
  batch.sample_ids = seq_toy::iota(count);
  return batch;
}

}  // namespace

TEST_CASE("a sequence chain: rotate then text_infill, the target the original, infilling the rotated input") {
  const cloze::Batch batch = toy_batch();
  const auto originals = seq_toy::real_rows(batch);
  const auto chain = prepared_chain({stage("rotate", {{"rate", 1.0}}), stage("text_infill")});
  CHECK(chain->mode() == cloze::ReconstructionMode::sequence);
  const cloze::Corrupted out = chain->corrupt(batch, 5);
  const auto rows = seq_toy::check_sequence_contract(out);
  int64_t not_original = 0;
  for (std::size_t b = 0; b < originals.size(); ++b) not_original += rows.targets[b] != originals[b];
  CHECK(not_original == 0);

  // The second stage saw the first's input, drawing from its own seed.
  const cloze::Corrupted rotated = seq_toy::prepared("rotate", {{"rate", 1.0}})->corrupt(batch, 5);
  cloze::Batch seen = seq_toy::batch_of(seq_toy::check_sequence_contract(rotated).inputs);
  seen.epoch = batch.epoch;
  const cloze::Corrupted infilled = seq_toy::prepared("text_infill")->corrupt(seen, cloze::derived_seed(5, 1));
  CHECK(out.input.equal(infilled.input));
  CHECK(out.target.equal(rotated.target));
  CHECK(out.decoder_input.equal(rotated.decoder_input));
  CHECK_FALSE(out.input.equal(seq_toy::prepared("text_infill")->corrupt(seen, 5).input));
}

TEST_CASE("an in_place chain: token_replace then token_mask scores the union, the target the original") {
  const cloze::Batch batch = toy_batch();
  const auto chain = prepared_chain({stage("token_replace"), stage("token_mask")});
  const cloze::Corrupted out = chain->corrupt(batch, 9);
  const cloze::Corrupted replaced = seq_toy::prepared("token_replace")->corrupt(batch, 9);
  cloze::Batch seen = batch;
  seen.units = replaced.input;
  const cloze::Corrupted masked = seq_toy::prepared("token_mask")->corrupt(seen, cloze::derived_seed(9, 1));
  CHECK(out.target.equal(batch.units));
  CHECK(out.input.equal(masked.input));
  CHECK(out.loss_mask.equal(replaced.loss_mask | masked.loss_mask));
  // Nothing changed outside the scored units.
  CHECK_FALSE((out.input.ne(batch.units) & out.loss_mask.logical_not()).any().item<bool>());
  // Two independent 15% selections of the ordinary units: 1 - 0.85^2 of them,
  // within 0.01 over some 360000 units ([CLS] and [SEP] are never chosen).
  const double scored = out.loss_mask.sum().item<double>() / batch.units.ge(toy::first_ordinary).sum().item<double>();
  CHECK(scored == Approx(1 - 0.85 * 0.85).margin(0.01));
}

TEST_CASE("a fill chain: time stripes then random patches drop from what the stripes kept") {
  const cloze::Batch batch = grid_batch(200, 8, 16);
  const Values stripes{{"pattern", std::string("time")}, {"ratio", 0.25}};
  const auto chain = prepared_chain({stage("patch_mask", stripes), stage("patch_mask", {{"ratio", 0.5}})});
  const cloze::Corrupted out = chain->corrupt(batch, 3);
  const cloze::Corrupted striped = seq_toy::prepared("patch_mask", stripes)->corrupt(batch, 3);
  CHECK(out.mode == cloze::ReconstructionMode::fill);
  CHECK(out.target.equal(batch.units));
  // Every unit the stripes hid stays hidden: 4 of 16 columns, 32 units.
  CHECK(out.loss_mask.logical_or(striped.loss_mask).equal(out.loss_mask));
  CHECK(striped.loss_mask.sum(1).eq(32).all().item<bool>());
  // Of the 96 units left, round(96 * 0.5) are kept: the encoder sees 48 per row.
  REQUIRE(out.input.size(1) == 48);
  CHECK(out.loss_mask.logical_not().sum(1).eq(48).all().item<bool>());
  CHECK(out.input.equal(batch.units.gather(1, out.input_positions)));
}

TEST_CASE("chains whose modes cannot compose are refused naming both corruptions and their modes") {
  using Catch::Contains;
  CHECK_THROWS_WITH(cloze::Chain({stage("token_mask"), stage("text_infill")}),
                    Contains("corruption chain: 'token_mask' (in_place) then 'text_infill' (sequence): 'token_mask' "
                             "scores the units where they stand, and 'text_infill' rewrites the sequence"));
  CHECK_THROWS_WITH(cloze::Chain({stage("patch_mask"), stage("token_mask")}),
                    Contains("'patch_mask' (fill) then 'token_mask' (in_place): 'patch_mask' hands the encoder only "
                             "the units it keeps"));
  CHECK_THROWS_WITH(cloze::Chain({stage("rotate"), stage("patch_mask")}),
                    Contains("'rotate' (sequence) then 'patch_mask' (fill): 'rotate' rewrites the sample into a new "
                             "sequence, which has no grid positions"));
  CHECK_THROWS_WITH(cloze::Chain({stage("token_mask"), stage("token_replace", {{"target", std::string("detect")}})}),
                    Contains("'token_mask' (in_place) then 'token_replace' (detect): a detect corruption's target"));
  CHECK_NOTHROW(cloze::Chain({stage("rotate"), stage("token_mask")}));
  CHECK_THROWS_WITH(cloze::Mixture({entry("a", 1, "", "token_mask"), entry("b", 1, "", "span_infill")}),
                    Contains("entry 'a' (token_mask, in_place) and entry 'b' (span_infill, sequence) reconstruct in "
                             "different modes"));
  CHECK_THROWS_WITH(cloze::Mixture({entry("m", 1, "[M]", "token_mask")}),
                    Contains("entry 'm' (token_mask, in_place) asks for the mode token '[M]', which needs "
                             "sequence mode"));
}

TEST_CASE("a config whose chain cannot compose is refused when the corruption is built, naming the file") {
  const std::string text = R"([modality]
name = "text"
corpus = ["nowhere"]

[[corruption.chain]]
name = "token_mask"

[[corruption.chain]]
name = "span_infill"
)";
  const cloze::Experiment experiment =
      cloze::parse_experiment(text, "bad.toml", {}, toy::registry(), cloze::framework_sections());
  CHECK_THROWS_WITH(cloze::build_corruption(experiment.corruption, toy::registry(), experiment.source),
                    Catch::StartsWith("bad.toml: corruption chain: 'token_mask' (in_place) then 'span_infill' "
                                      "(sequence): "));
  // The pipeline builds the corruption before the modality reads any data.
  CHECK_THROWS_WITH(cloze::Pipeline(experiment, toy::registry()), Catch::StartsWith("bad.toml: corruption chain"));
}

TEST_CASE("a mixture draws each entry at its weight, per sample and epoch") {
  const cloze::Mixture mixture(
      {entry("a", 5, "", "rotate"), entry("b", 3, "", "rotate"), entry("c", 2, "", "rotate")});
  const int64_t samples = 30000;
  std::vector<double> share(3);
  int64_t changed = 0;
  for (int64_t sample = 0; sample < samples; ++sample) {
    const std::size_t drawn = mixture.draw(11, 0, sample);
    share[drawn] += 1.0 / samples;
    changed += drawn != mixture.draw(11, 1, sample);
  }
  // Binomial over 30000 draws: the largest standard deviation is 0.0029, so
  // 0.012 is four of them.
  CHECK(share[0] == Approx(0.5).margin(0.012));
  CHECK(share[1] == Approx(0.3).margin(0.012));
  CHECK(share[2] == Approx(0.2).margin(0.012));
  // Another epoch draws afresh: a sample keeps its entry with probability
  // 0.5^2 + 0.3^2 + 0.2^2 = 0.38.
  CHECK(static_cast<double>(changed) / samples == Approx(0.62).margin(0.012));
}

TEST_CASE("a mixture's rows are what their entries make alone, with the mode token in front") {
  auto mixture = std::make_shared<cloze::Mixture>(std::vector<cloze::Mixture::Entry>{
      entry("R", 2, "[R]", "span_infill"), entry("S", 1, "[S]", "prefix_lm"), entry("rot", 1, "", "rotate")});
  const cloze::UnitSpec units = units_for(*mixture);
  REQUIRE(units.vocab_size == seq_toy::vocab + 2);
  const int64_t r_token = seq_toy::vocab, s_token = seq_toy::vocab + 1;
  CHECK(units.pieces[static_cast<std::size_t>(r_token)] == "[R]");
  CHECK(units.is_special(s_token));
  mixture->prepare(units);
  CHECK(mixture->entry_labels() == std::vector<std::string>{"R", "S", "rot"});

  const cloze::Batch batch = toy_batch(600);
  const cloze::Corrupted out = mixture->corrupt(batch, 21);
  const auto rows = seq_toy::check_sequence_contract(out);
  REQUIRE(out.entry.defined());
  const std::vector<std::string> names{"span_infill", "prefix_lm", "rotate"};
  const std::vector<int64_t> tokens{r_token, s_token, -1};
  for (int64_t e = 0; e < 3; ++e) {
    CAPTURE(e);
    std::vector<int64_t> picked;
    for (int64_t row = 0; row < batch.size(); ++row)
      if (out.entry[row].item<int64_t>() == e) picked.push_back(row);
    REQUIRE(picked.size() > 80);
    const auto alone =
        seq_toy::check_sequence_contract(seq_toy::prepared(names[static_cast<std::size_t>(e)])->corrupt(
            cloze::select_rows(batch, picked), 21));
    int64_t different = 0;
    const int64_t token = tokens[static_cast<std::size_t>(e)];
    for (std::size_t k = 0; k < picked.size(); ++k) {
      std::vector<int64_t> expected = alone.inputs[k];
      if (token >= 0) expected.insert(expected.begin(), token);
      const auto row = static_cast<std::size_t>(picked[k]);
      different += rows.inputs[row] != expected || rows.targets[row] != alone.targets[k];
    }
    CHECK(different == 0);
  }
  // Raw length: the shortest any entry asks for; T5's span infilling asks for more.
  CHECK(mixture->raw_length(64) == 64);
  CHECK(seq_toy::prepared("span_infill")->raw_length(64) > 64);
  // The longest input: an entry's own, one longer where its token goes in front.
  CHECK(mixture->max_lengths(64).input ==
        std::max({seq_toy::prepared("span_infill")->max_lengths(64).input + 1,
                  seq_toy::prepared("prefix_lm")->max_lengths(64).input + 1,
                  seq_toy::prepared("rotate")->max_lengths(64).input}));
}

TEST_CASE("a mixture's loss per entry adds up to the batch's loss") {
  auto mixture = std::make_shared<cloze::Mixture>(std::vector<cloze::Mixture::Entry>{
      entry("R", 1, "[R]", "span_infill"), entry("S", 1, "[S]", "prefix_lm")});
  const cloze::UnitSpec units = units_for(*mixture);
  mixture->prepare(units);
  const cloze::Corrupted out = mixture->corrupt(toy_batch(64), 2);
  const int64_t scored = out.loss_mask.sum().item<int64_t>();
  const at::Tensor predictions = at::randn({scored, units.vocab_size});
  const cloze::MaskedLoss whole = cloze::masked_loss(predictions, out, units);
  const auto per_entry = cloze::masked_loss_per_entry(predictions, out, units, 2);
  REQUIRE(per_entry.size() == 2);
  CHECK(per_entry[0].count > 0);
  CHECK(per_entry[1].count > 0);
  CHECK(per_entry[0].count + per_entry[1].count == whole.count);
  const double summed = per_entry[0].loss.item<double>() * static_cast<double>(per_entry[0].count) +
                        per_entry[1].loss.item<double>() * static_cast<double>(per_entry[1].count);
  CHECK(summed == Approx(whole.loss.item<double>() * static_cast<double>(whole.count)).epsilon(1e-5));
  CHECK((per_entry[0].correct + per_entry[1].correct).item<int64_t>() == whole.correct.item<int64_t>());
}

TEST_CASE("chains and mixtures give the same batches with 0, 1 and 4 loader workers") {
  seq_toy::check_same_with_workers(prepared_chain({stage("rotate"), stage("text_infill")}));
  auto mixture = std::make_shared<cloze::Mixture>(std::vector<cloze::Mixture::Entry>{
      entry("R", 1, "[R]", "span_infill"), entry("X", 1, "[X]", "span_infill", {{"noise_density", 0.5}}),
      entry("S", 1, "[S]", "prefix_lm")});
  mixture->prepare(units_for(*mixture));
  seq_toy::check_same_with_workers(mixture);
}
