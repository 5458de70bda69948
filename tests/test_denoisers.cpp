// The rest of the denoising family (objectives/sentence_permute, rotate,
// prefix_lm, token_replace), as properties over thousands of rows: permutation
// keeps the sentences and the units, rotation is a rotation of the original,
// prefix and target rebuild the row, replacement never writes a special id and
// hits its rate; each is the same under one seed, with 0, 1 and 4 loader workers.
#include <catch2/catch.hpp>

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "sequence_toy.h"
#include "toy_text.h"

namespace {

// Toy ids whose text ends a sentence: those ending in 0 read ".", those
// ending in 1 read " ?" (a word-start space); about one unit in five.
bool ends_sentence(int64_t id) { return id < seq_toy::data_vocab && (id % 10 == 0 || id % 10 == 1); }

cloze::UnitSpec units_with_pieces() {
  cloze::UnitSpec units = seq_toy::units();
  units.pieces.assign(static_cast<std::size_t>(units.vocab_size), "word");
  for (int64_t id = 0; id < seq_toy::data_vocab; ++id)
    if (ends_sentence(id)) units.pieces[static_cast<std::size_t>(id)] = id % 10 == 0 ? "." : " ?";
  return units;
}

std::shared_ptr<cloze::Corruption> sentence_permute(double rate) {
  auto corruption = seq_toy::make("sentence_permute", {{"rate", rate}});
  corruption->prepare(units_with_pieces());
  return corruption;
}

// A row cut after each sentence-final id or end-of-document id.
std::vector<std::vector<int64_t>> sentences_of(const std::vector<int64_t>& row) {
  std::vector<std::vector<int64_t>> sentences(1);
  for (std::size_t n = 0; n < row.size(); ++n) {
    sentences.back().push_back(row[n]);
    if ((ends_sentence(row[n]) || row[n] == seq_toy::eos_id) && n + 1 < row.size()) sentences.emplace_back();
  }
  return sentences;
}

// `input` cut into `original`'s sentences, each used once (the longest that
// fits at each place), or empty when it is not made of them.
std::vector<std::vector<int64_t>> as_sentences_of(const std::vector<int64_t>& input,
                                                  const std::vector<int64_t>& original) {
  auto unused = sentences_of(original);
  std::vector<std::vector<int64_t>> found;
  for (std::size_t at = 0; at < input.size();) {
    auto best = unused.end();
    for (auto it = unused.begin(); it != unused.end(); ++it)
      if (it->size() <= input.size() - at && std::equal(it->begin(), it->end(), input.begin() + static_cast<int64_t>(at)) &&
          (best == unused.end() || it->size() > best->size()))
        best = it;
    if (best == unused.end()) return {};
    at += best->size();
    found.push_back(*best);
    unused.erase(best);
  }
  return unused.empty() ? found : std::vector<std::vector<int64_t>>{};
}

// 3000 rows of up to 256 toy ids with specials sprinkled in, padded.
cloze::Batch toy_batch() {
  const toy::Text data(3000, 256, seq_toy::data_vocab);
  cloze::Batch batch = data.collate(seq_toy::iota(data.size()));
  batch.epoch = 1;
  return batch;
}

bool is_rotation(const std::vector<int64_t>& rotated, const std::vector<int64_t>& original) {
  if (rotated.size() != original.size()) return false;
  if (original.empty()) return true;
  std::vector<int64_t> twice = original;
  twice.insert(twice.end(), original.begin(), original.end());
  return std::search(twice.begin(), twice.end(), rotated.begin(), rotated.end()) != twice.end();
}

}  // namespace

TEST_CASE("sentence_permute keeps every sentence and unit, and moves ceil(rate * n) sentences at most") {
  const cloze::Batch batch = toy_batch();
  const auto originals = seq_toy::real_rows(batch);
  for (const double rate : {1.0, 0.3, 0.0}) {
    CAPTURE(rate);
    const auto rows = seq_toy::check_sequence_contract(sentence_permute(rate)->corrupt(batch, 5));
    int64_t not_sentences = 0, not_target = 0, too_many_moved = 0, sentences = 0, moved = 0;
    for (std::size_t b = 0; b < originals.size(); ++b) {
      not_target += rows.targets[b] != originals[b];
      const auto before = sentences_of(originals[b]);
      const auto after = as_sentences_of(rows.inputs[b], originals[b]);
      if (after.size() != before.size()) {
        ++not_sentences;
        continue;
      }
      int64_t row_moved = 0;
      for (std::size_t i = 0; i < before.size(); ++i) row_moved += after[i] != before[i];
      const auto n = static_cast<int64_t>(before.size());
      too_many_moved += row_moved > static_cast<int64_t>(std::ceil(rate * static_cast<double>(n)));
      sentences += n;
      moved += row_moved;
    }
    CHECK(not_sentences == 0);
    CHECK(not_target == 0);
    CHECK(too_many_moved == 0);
    REQUIRE(sentences > 30000);  // about 50 per row
    // A chosen sentence lands back in its own place with probability 1 / k for k chosen.
    const double share_moved = static_cast<double>(moved) / static_cast<double>(sentences);
    if (rate == 0.0) CHECK(moved == 0);
    if (rate > 0.0) CHECK(share_moved == Approx(rate).margin(0.05));
  }
  // Without the pieces' text it cannot find "." and says how to go on.
  CHECK_THAT(seq_toy::make("sentence_permute")->incompatibility(seq_toy::units()),
             Catch::Matchers::Contains("sentence_ends = []"));
}

TEST_CASE("rotate: the input is a rotation of the row, the target the row, rotated at rate") {
  const cloze::Batch batch = toy_batch();
  const auto originals = seq_toy::real_rows(batch);
  for (const double rate : {1.0, 0.4}) {
    CAPTURE(rate);
    const auto corruption = seq_toy::prepared("rotate", {{"rate", rate}});
    const auto rows = seq_toy::check_sequence_contract(corruption->corrupt(batch, 3));
    int64_t not_rotation = 0, not_target = 0, rotated = 0, rotatable = 0;
    for (std::size_t b = 0; b < originals.size(); ++b) {
      not_rotation += !is_rotation(rows.inputs[b], originals[b]);
      not_target += rows.targets[b] != originals[b];
      if (originals[b].size() >= 2) {
        ++rotatable;
        rotated += rows.inputs[b] != originals[b];
      }
    }
    CHECK(not_rotation == 0);
    CHECK(not_target == 0);
    REQUIRE(rotatable > 2900);
    // Binomial over ~3000 rows: 4 standard deviations are below 0.04. A rotated
    // row can equal the original only if it repeats itself, which random rows do not.
    CHECK(static_cast<double>(rotated) / static_cast<double>(rotatable) == Approx(rate).margin(0.04));
    CHECK(corruption->corrupt(batch, 3).input.equal(corruption->corrupt(batch, 3).input));
  }
}

TEST_CASE("prefix_lm: prefix and target rebuild the row, the split within its bounds") {
  const cloze::Batch batch = toy_batch();
  const auto originals = seq_toy::real_rows(batch);
  const auto corruption = seq_toy::prepared("prefix_lm");
  const auto rows = seq_toy::check_sequence_contract(corruption->corrupt(batch, 9));
  int64_t not_rebuilt = 0, out_of_bounds = 0;
  double target_share = 0;
  int64_t splittable = 0;
  for (std::size_t b = 0; b < originals.size(); ++b) {
    std::vector<int64_t> rebuilt = rows.inputs[b];
    rebuilt.insert(rebuilt.end(), rows.targets[b].begin(), rows.targets[b].end());
    not_rebuilt += rebuilt != originals[b];
    const auto length = static_cast<int64_t>(originals[b].size());
    if (length < 2) continue;
    const auto prefix = static_cast<int64_t>(rows.inputs[b].size());
    out_of_bounds += prefix < std::max<int64_t>(1, std::llround(0.5 * static_cast<double>(length))) || prefix > length - 1;
    target_share += static_cast<double>(length - prefix) / static_cast<double>(length);
    ++splittable;
  }
  CHECK(not_rebuilt == 0);
  CHECK(out_of_bounds == 0);
  // UL2's S-denoiser predicts a quarter of the row on average.
  CHECK(target_share / static_cast<double>(splittable) == Approx(0.25).margin(0.01));

  // Fixed bounds give a fixed split; a row of one unit is all target.
  const auto half = seq_toy::prepared("prefix_lm", {{"min_prefix", 0.5}, {"max_prefix", 0.5}});
  const auto fixed = seq_toy::check_sequence_contract(half->corrupt(seq_toy::batch_of({{4, 5, 6, 7}, {8}}), 1));
  CHECK(fixed.inputs[0] == std::vector<int64_t>{4, 5});
  CHECK(fixed.targets[0] == std::vector<int64_t>{6, 7});
  CHECK(fixed.inputs[1].empty());
  CHECK(fixed.targets[1] == std::vector<int64_t>{8});
  CHECK_THROWS_WITH(seq_toy::make("prefix_lm", {{"min_prefix", 0.8}, {"max_prefix", 0.6}}),
                    Catch::Matchers::Contains("corruption.max_prefix"));
}

TEST_CASE("token_replace: replaced units change to ordinary ids, never special or [MASK], at rate") {
  const cloze::Batch batch = toy_batch();
  const auto spec = seq_toy::units();
  const auto corruption = seq_toy::prepared("token_replace");
  const cloze::Corrupted out = corruption->corrupt(batch, 4);
  REQUIRE(out.mode == cloze::ReconstructionMode::in_place);
  CHECK(out.target.equal(batch.units));
  // Scored exactly where the input differs from the row.
  CHECK(out.loss_mask.equal(out.input.ne(batch.units)));

  const at::Tensor input = out.input.contiguous(), units = batch.units.contiguous();
  const at::Tensor replaced = out.loss_mask.contiguous(), padding = batch.padding.contiguous();
  const int64_t* in = input.data_ptr<int64_t>();
  const int64_t* original = units.data_ptr<int64_t>();
  const bool* chosen = replaced.data_ptr<bool>();
  const bool* pad = padding.data_ptr<bool>();
  int64_t written_special = 0, special_touched = 0, candidates = 0, changed = 0;
  for (int64_t i = 0; i < input.numel(); ++i) {
    if (pad[i]) continue;
    if (!spec.is_special(original[i])) ++candidates;
    if (!chosen[i]) continue;
    ++changed;
    written_special += spec.is_special(in[i]);
    special_touched += spec.is_special(original[i]);
  }
  CHECK(written_special == 0);
  CHECK(special_touched == 0);
  REQUIRE(candidates > 300000);
  // E[k] = rate * n per row exactly; over 3000 rows the share is within 0.002.
  CHECK(static_cast<double>(changed) / static_cast<double>(candidates) == Approx(0.15).margin(0.002));

  cloze::UnitSpec patches;
  patches.kind = cloze::UnitKind::continuous;
  CHECK_THAT(seq_toy::make("token_replace")->incompatibility(patches), Catch::Matchers::Contains("continuous"));
}

TEST_CASE("sentence_permute, rotate, prefix_lm and token_replace give the same batches with 0, 1 and 4 loader workers") {
  seq_toy::check_same_with_workers(sentence_permute(1.0));
  for (const std::string name : {"rotate", "prefix_lm", "token_replace"}) {
    CAPTURE(name);
    seq_toy::check_same_with_workers(seq_toy::prepared(name));
  }
}

TEST_CASE("token_replace with target = detect scores every real unit on whether it was replaced") {
  const cloze::Batch batch = toy_batch();
  const auto detect = seq_toy::prepared("token_replace", {{"target", std::string("detect")}});
  const auto original = seq_toy::prepared("token_replace");
  CHECK(detect->mode() == cloze::ReconstructionMode::detect);
  const cloze::Corrupted out = detect->corrupt(batch, 4);
  const cloze::Corrupted same = original->corrupt(batch, 4);
  CHECK(out.mode == cloze::ReconstructionMode::detect);
  CHECK(out.input.equal(same.input));  // the same replacements
  CHECK(out.target.equal(same.loss_mask.to(at::kLong)));
  CHECK(out.target.equal(out.input.ne(batch.units).to(at::kLong)));
  CHECK(out.loss_mask.equal(batch.padding.logical_not()));
  CHECK_THROWS_WITH(seq_toy::make("token_replace", {{"target", std::string("both")}}),
                    Catch::Contains("target = \"both\": must be \"original\" or \"detect\""));
}
