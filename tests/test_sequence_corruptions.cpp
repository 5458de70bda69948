// The sequence-mode corruptions (objectives/span_infill, text_infill,
// token_deletion): T5's counts and lengths against its published formulas and
// numbers, reconstruction of the original from input and target, the output
// contract of sequence mode, determinism per (seed, epoch, sample), and the
// sentences and errors they give for what they cannot do.
#include <catch2/catch.hpp>

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/params.h"
#include "sequence_toy.h"
#include "toy_text.h"

namespace {

using seq_toy::bos_id;
using seq_toy::eos_id;
using seq_toy::first_sentinel;

bool is_sentinel(int64_t id) { return id >= first_sentinel && id < first_sentinel + seq_toy::sentinels; }

// T5's random_spans_noise_mask counts for a row of `length` >= 2: float32
// arithmetic, round half to even.
struct T5Counts {
  int64_t noise, spans;
};
T5Counts t5_counts(int64_t length, float density, float mean) {
  int64_t noise = static_cast<int64_t>(std::nearbyint(static_cast<float>(length) * density));
  noise = std::min(std::max<int64_t>(noise, 1), length - 1);
  const int64_t spans = std::max<int64_t>(1, static_cast<int64_t>(std::nearbyint(static_cast<float>(noise) / mean)));
  return {noise, spans};
}

// One span_infill row taken apart: the sentinels of input and target, and the
// original rebuilt by putting target segment i back at input sentinel i.
struct Infilled {
  bool well_formed = true;  // eos last and only there, sentinels 0, 1, 2, ... in both
  int64_t spans = 0;
  int64_t noise = 0;
  std::vector<int64_t> rebuilt;
};

Infilled take_apart(const std::vector<int64_t>& input, const std::vector<int64_t>& target) {
  Infilled out;
  const auto ends_once = [](const std::vector<int64_t>& ids) {
    return !ids.empty() && ids.back() == eos_id && std::count(ids.begin(), ids.end(), eos_id) == 1;
  };
  out.well_formed = ends_once(input) && ends_once(target) && !target.empty() && is_sentinel(target.front());
  std::vector<std::vector<int64_t>> segments;
  for (std::size_t i = 0; i + 1 < target.size(); ++i) {
    if (is_sentinel(target[i])) {
      if (target[i] != first_sentinel + static_cast<int64_t>(segments.size())) out.well_formed = false;
      segments.emplace_back();
    } else if (segments.empty()) {
      out.well_formed = false;
    } else {
      segments.back().push_back(target[i]);
      ++out.noise;
    }
  }
  int64_t input_sentinels = 0;
  for (std::size_t i = 0; i + 1 < input.size(); ++i) {
    if (!is_sentinel(input[i])) {
      out.rebuilt.push_back(input[i]);
      continue;
    }
    if (input[i] != first_sentinel + input_sentinels || input_sentinels >= static_cast<int64_t>(segments.size())) {
      out.well_formed = false;
      continue;
    }
    const auto& segment = segments[static_cast<std::size_t>(input_sentinels++)];
    out.rebuilt.insert(out.rebuilt.end(), segment.begin(), segment.end());
  }
  if (input_sentinels != static_cast<int64_t>(segments.size())) out.well_formed = false;
  out.spans = input_sentinels;
  return out;
}

// One row of tests/fixtures/t5_span_lengths.csv (tools/fixtures/t5_span_lengths.py):
// what T5's random_spans_helper returned for these arguments.
struct T5Lengths {
  int64_t inputs_length = 0;
  double noise_density = 0, mean_noise_span_length = 0;
  int64_t tokens_length = 0, targets_length = 0;
};

std::vector<T5Lengths> t5_span_lengths() {
  const std::string path = CLOZE_FIXTURE_DIR "/t5_span_lengths.csv";
  std::ifstream file(path);
  REQUIRE(file.good());
  std::vector<T5Lengths> rows;
  std::string line;
  bool header = true;
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (std::exchange(header, false)) {
      REQUIRE(line == "inputs_length,noise_density,mean_noise_span_length,tokens_length,targets_length");
      continue;
    }
    std::istringstream fields(line);
    std::string field[5];
    for (auto& f : field) std::getline(fields, f, ',');
    rows.push_back({std::stoll(field[0]), std::stod(field[1]), std::stod(field[2]), std::stoll(field[3]),
                    std::stoll(field[4])});
  }
  return rows;
}

}  // namespace

TEST_CASE("span_infill hides T5's counts of noise in T5's number of spans, and the spans rebuild the row") {
  const toy::Text data(3000, 256, seq_toy::data_vocab);
  cloze::Batch batch = data.collate(seq_toy::iota(data.size()));
  batch.epoch = 2;
  const auto corruption = seq_toy::prepared("span_infill");
  const auto rows = seq_toy::check_sequence_contract(corruption->corrupt(batch, 11));
  const auto originals = seq_toy::real_rows(batch);

  int64_t malformed = 0, bad_counts = 0, not_rebuilt = 0, starts_with_noise = 0, spans = 0;
  for (std::size_t b = 0; b < originals.size(); ++b) {
    const Infilled row = take_apart(rows.inputs[b], rows.targets[b]);
    const T5Counts expected = t5_counts(static_cast<int64_t>(originals[b].size()), 0.15f, 3.0f);
    malformed += !row.well_formed;
    bad_counts += row.noise != expected.noise || row.spans != expected.spans;
    not_rebuilt += row.rebuilt != originals[b];
    // Interleaving starts with a non-noise span: the input starts with a unit.
    starts_with_noise += is_sentinel(rows.inputs[b].front());
    spans += row.spans;
  }
  CHECK(malformed == 0);
  CHECK(bad_counts == 0);
  CHECK(not_rebuilt == 0);
  CHECK(starts_with_noise == 0);
  REQUIRE(spans > 25000);
}

TEST_CASE("span_infill's raw and target lengths are those T5's random_spans_helper computed") {
  // The fixture: 7 input lengths x 4 densities x 4 mean span lengths, from T5's
  // own code (tools/fixtures/t5_span_lengths.py). raw_length is the helper's
  // tokens_length wherever the helper counts at least one span; where it rounds
  // the spans of a noisy row to 0, the mask still makes one, whose sentinel
  // would make the helper's rows one unit too long, so raw_length is one
  // shorter there, and the input fits (checked below). Its targets_length counts the sentinels and the
  // eos as span_infill's target does, so wherever the helper's arithmetic is
  // random_spans_noise_mask's the two agree exactly. In two cases it is not, and
  // span_infill follows the mask, which is what makes its rows:
  //  - the helper rounds the noise tokens, and the spans, down to 0 where the
  //    mask makes each at least 1: each adds a unit (a noise token, a sentinel)
  //    to the target (8 at 0.05: 1 by T5's helper, 3 by the mask);
  //  - its density-0.5 "minor hack" takes a token off tokens_length and one off
  //    targets_length, but the mask's target for one token fewer is a noise
  //    token and a sentinel shorter (512 at 0.5, mean 1: 512, the mask 511).
  const auto rows = t5_span_lengths();
  REQUIRE(rows.size() == 112);
  int64_t exact = 0;
  for (const T5Lengths& t5 : rows) {
    CAPTURE(t5.inputs_length, t5.noise_density, t5.mean_noise_span_length, t5.tokens_length, t5.targets_length);
    const auto corruption = seq_toy::prepared(
        "span_infill", {{"noise_density", t5.noise_density}, {"mean_noise_span_length", t5.mean_noise_span_length}});
    // The helper's counts at tokens_length (Python doubles, round half to even).
    const auto noise = static_cast<int64_t>(std::nearbyint(static_cast<double>(t5.tokens_length) * t5.noise_density));
    const auto spans = static_cast<int64_t>(std::nearbyint(static_cast<double>(noise) / t5.mean_noise_span_length));
    const int64_t raw = corruption->raw_length(t5.inputs_length);
    CHECK(raw == t5.tokens_length - (noise > 0 && spans == 0 ? 1 : 0));
    // The toy tokenizer's 100 sentinels cover every row up to 128 units (at most 64 spans).
    if (t5.inputs_length <= 128) {
      const cloze::Corrupted longest = corruption->corrupt(seq_toy::batch_of(seq_toy::plain_rows(4, raw, 1)), 5);
      CHECK(longest.input.size(1) <= t5.inputs_length);
    }
    const bool hacked = t5.targets_length != noise + spans + 1;
    if (hacked) CHECK(t5.noise_density == 0.5);
    const int64_t clamped = (noise == 0) + (spans == 0);
    CHECK(corruption->max_lengths(t5.tokens_length).target == t5.targets_length - (hacked ? 1 : 0) + clamped);
    exact += !hacked && clamped == 0;
  }
  // The grid's 20 other rows: 4 with no noise by the helper, 9 with no span,
  // 7 at density 0.5 and mean 1.
  CHECK(exact == 92);
}

TEST_CASE("span_infill's raw length fills the input exactly, as T5's compute_input_and_target_lengths") {
  const auto corruption = seq_toy::prepared("span_infill");
  // At the defaults; the lengths themselves are checked against T5's numbers above.
  for (int64_t length : {16, 64, 100, 128, 256, 512, 1000}) {
    CAPTURE(length);
    const int64_t raw = corruption->raw_length(length);
    const cloze::Corrupted exact = corruption->corrupt(seq_toy::batch_of(seq_toy::plain_rows(40, raw, 1)), 3);
    const auto rows = seq_toy::check_sequence_contract(exact);
    CHECK(exact.input.size(1) == length);
    CHECK_FALSE(exact.input_padding.any().item<bool>());
    CHECK(exact.target.size(1) <= corruption->max_lengths(raw).target);
    // The longest such row: one unit more overflows the input.
    const cloze::Corrupted over = corruption->corrupt(seq_toy::batch_of(seq_toy::plain_rows(4, raw + 1, 2)), 3);
    CHECK(over.input.size(1) > length);
  }
}

TEST_CASE("span_infill's max_lengths bound every row up to the raw length") {
  const auto corruption = seq_toy::prepared("span_infill", {{"noise_density", 0.5}, {"mean_noise_span_length", 1.0}});
  int64_t over = 0;
  for (int64_t length = 0; length <= 40; ++length) {
    const auto rows = seq_toy::plain_rows(8, length, static_cast<uint64_t>(length));
    const cloze::Corrupted out = corruption->corrupt(seq_toy::batch_of(rows), 9);
    const auto most = corruption->max_lengths(length);
    over += out.input.size(1) > most.input || out.target.size(1) > most.target;
    if (length >= 2) {
      // density 0.5, mean 1: every other unit is its own span.
      const Infilled row = take_apart(seq_toy::row_of(out.input, 0, out.input.size(1)),
                                      seq_toy::row_of(out.target, 0, out.target.size(1)));
      CHECK(row.rebuilt == rows[0]);
    }
  }
  CHECK(over == 0);
}

TEST_CASE("span_infill handles rows of zero and one unit as T5 does") {
  const auto corruption = seq_toy::prepared("span_infill");
  const cloze::Corrupted out = corruption->corrupt(seq_toy::batch_of({{}, {7}}), 1);
  const auto rows = seq_toy::check_sequence_contract(out);
  CHECK(rows.inputs[0] == std::vector<int64_t>{eos_id});
  CHECK(rows.targets[0] == std::vector<int64_t>{eos_id});
  // T5 masks a length-2 row and keeps the first unit: no noise.
  CHECK(rows.inputs[1] == std::vector<int64_t>{7, eos_id});
  CHECK(rows.targets[1] == std::vector<int64_t>{first_sentinel, eos_id});
}

TEST_CASE("text_infill replaces Poisson spans by one [MASK] each and keeps the rest in order") {
  const toy::Text data(3000, 256, seq_toy::data_vocab);
  cloze::Batch batch = data.collate(seq_toy::iota(data.size()));
  const auto corruption = seq_toy::prepared("text_infill");
  const auto rows = seq_toy::check_sequence_contract(corruption->corrupt(batch, 21));
  const auto originals = seq_toy::real_rows(batch);
  const auto spec = seq_toy::units();

  int64_t not_target = 0, not_subsequence = 0, specials_lost = 0, over_budget = 0, too_long = 0;
  int64_t candidates = 0, removed = 0, masks = 0;
  for (std::size_t b = 0; b < originals.size(); ++b) {
    const auto& original = originals[b];
    const auto& input = rows.inputs[b];
    not_target += rows.targets[b] != original;
    std::vector<int64_t> kept;
    for (int64_t id : input)
      if (id != toy::mask_id) kept.push_back(id);
    not_subsequence += !seq_toy::is_subsequence(kept, original);
    const auto specials = [&](const std::vector<int64_t>& ids) {
      return std::count_if(ids.begin(), ids.end(), [&](int64_t id) { return spec.is_special(id) && id != toy::mask_id; });
    };
    specials_lost += specials(kept) != specials(original);
    const int64_t n = static_cast<int64_t>(original.size()) - specials(original);
    const int64_t row_removed = static_cast<int64_t>(original.size() - kept.size());
    const auto budget = static_cast<int64_t>(std::ceil(0.3 * static_cast<double>(n)));
    over_budget += row_removed > budget;
    const int64_t row_masks = static_cast<int64_t>(input.size() - kept.size());
    too_long += static_cast<int64_t>(input.size()) > corruption->max_lengths(static_cast<int64_t>(original.size())).input;
    candidates += n;
    removed += row_removed;
    masks += row_masks;
  }
  CHECK(not_target == 0);
  CHECK(not_subsequence == 0);
  CHECK(specials_lost == 0);
  CHECK(over_budget == 0);
  CHECK(too_long == 0);
  // ceil(0.3 n) units are budgeted; overlapping spans and spans cut at a
  // special (one unit in twenty here) or the row's end remove fewer.
  const double share = static_cast<double>(removed) / static_cast<double>(candidates);
  CAPTURE(share);
  CHECK(share > 0.23);
  CHECK(share <= 0.3 + 1.0 / 64);
  // One [MASK] per span: spans have mean 3 (a share e^-3 of them empty), so
  // there are about rate * n / 3 [MASK]s, somewhat more for trimmed last spans.
  const double per_mask = static_cast<double>(removed) / static_cast<double>(masks);
  CAPTURE(per_mask);
  CHECK(per_mask > 2.5);
  CHECK(per_mask < 3.2);
}

TEST_CASE("text_infill on rows without specials loses only overlaps") {
  const auto rows = seq_toy::plain_rows(500, 500, 7);
  const auto out = seq_toy::check_sequence_contract(seq_toy::prepared("text_infill")->corrupt(seq_toy::batch_of(rows), 3));
  int64_t removed = 0, masks = 0;
  for (const auto& input : out.inputs) {
    const auto row_masks = std::count(input.begin(), input.end(), toy::mask_id);
    masks += row_masks;
    removed += 500 - (static_cast<int64_t>(input.size()) - row_masks);
  }
  const double share = static_cast<double>(removed) / (500.0 * 500.0);
  const double per_mask = static_cast<double>(removed) / static_cast<double>(masks);
  CAPTURE(share, per_mask);
  // Spans placed independently cover 1 - e^-0.3 = 0.26 of the row; distinct
  // starts cover a little more. Without overlaps it would be 0.3.
  CHECK(share > 0.25);
  CHECK(share < 0.29);
  // Each [MASK] stands for a span of mean 3 less overlaps, empty spans (e^-3
  // of them) and trimmed last spans; merged spans share one [MASK].
  CHECK(per_mask > 2.9);
  CHECK(per_mask < 3.5);
}

TEST_CASE("text_infill with random = 1 puts ordinary ids where the [MASK]s would be") {
  const toy::Text data(200, 128, seq_toy::data_vocab);
  const cloze::Batch batch = data.collate(seq_toy::iota(data.size()));
  const auto masked = seq_toy::check_sequence_contract(seq_toy::prepared("text_infill")->corrupt(batch, 4));
  const auto randomized =
      seq_toy::check_sequence_contract(seq_toy::prepared("text_infill", {{"random", 1.0}})->corrupt(batch, 4));
  int64_t masks = 0, changed_elsewhere = 0, length_differs = 0;
  for (std::size_t b = 0; b < masked.inputs.size(); ++b) {
    masks += std::count(randomized.inputs[b].begin(), randomized.inputs[b].end(), toy::mask_id);
    length_differs += masked.inputs[b].size() != randomized.inputs[b].size();
    for (std::size_t i = 0; i < std::min(masked.inputs[b].size(), randomized.inputs[b].size()); ++i)
      changed_elsewhere += masked.inputs[b][i] != toy::mask_id && randomized.inputs[b][i] != masked.inputs[b][i];
  }
  CHECK(masks == 0);
  // The same spans: only what stands in for them changes.
  CHECK(changed_elsewhere == 0);
  CHECK(length_differs == 0);
}

TEST_CASE("token_deletion deletes the probabilistically rounded count and keeps the rest in order") {
  const toy::Text data(3000, 256, seq_toy::data_vocab);
  cloze::Batch batch = data.collate(seq_toy::iota(data.size()));
  const auto corruption = seq_toy::prepared("token_deletion");
  const auto rows = seq_toy::check_sequence_contract(corruption->corrupt(batch, 5));
  const auto originals = seq_toy::real_rows(batch);
  const auto spec = seq_toy::units();

  int64_t not_target = 0, not_subsequence = 0, bad_counts = 0, specials_lost = 0, deleted = 0;
  double expected = 0;
  for (std::size_t b = 0; b < originals.size(); ++b) {
    const auto& original = originals[b];
    const auto& input = rows.inputs[b];
    not_target += rows.targets[b] != original;
    not_subsequence += !seq_toy::is_subsequence(input, original);
    const auto specials = [&](const std::vector<int64_t>& ids) {
      return std::count_if(ids.begin(), ids.end(), [&](int64_t id) { return spec.is_special(id); });
    };
    specials_lost += specials(input) != specials(original);
    const double exact = 0.15 * static_cast<double>(static_cast<int64_t>(original.size()) - specials(original));
    const auto row_deleted = static_cast<int64_t>(original.size() - input.size());
    const auto low = static_cast<int64_t>(std::floor(exact));
    bad_counts += !(row_deleted == low || (row_deleted == low + 1 && exact != static_cast<double>(low)));
    deleted += row_deleted;
    expected += exact;
  }
  CHECK(not_target == 0);
  CHECK(not_subsequence == 0);
  CHECK(specials_lost == 0);
  CHECK(bad_counts == 0);
  // Unbiased rounding: within 5 standard deviations (0.5 sqrt(rows)) of sum(rate n).
  CHECK(std::abs(static_cast<double>(deleted) - expected) < 2.5 * std::sqrt(3000.0));
}

TEST_CASE("token_deletion in fill mode deletes the same units, at known positions") {
  const toy::Text data(200, 64, seq_toy::data_vocab);
  cloze::Batch batch = data.collate(seq_toy::iota(data.size()));
  const auto sequence = seq_toy::check_sequence_contract(seq_toy::prepared("token_deletion")->corrupt(batch, 5));
  const auto fill_corruption = seq_toy::prepared("token_deletion", {{"mode", std::string("fill")}});
  REQUIRE(fill_corruption->mode() == cloze::ReconstructionMode::fill);
  const cloze::Corrupted fill = fill_corruption->corrupt(batch, 5);
  CHECK(fill.target.equal(batch.units));
  CHECK(fill.target_padding.equal(batch.padding));
  CHECK_FALSE(fill.loss_mask.logical_and(batch.padding).any().item<bool>());

  int64_t differing = 0;
  for (int64_t row = 0; row < batch.size(); ++row) {
    // The kept units, read at their positions, are the sequence-mode input.
    const int64_t kept = fill.input_padding[row].logical_not().sum().item<int64_t>();
    const at::Tensor ids = fill.input[row].narrow(0, 0, kept).contiguous();
    const at::Tensor positions = fill.input_positions[row].narrow(0, 0, kept);
    CHECK(ids.equal(batch.units[row].index_select(0, positions)));
    differing += std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + kept) !=
                 sequence.inputs[static_cast<std::size_t>(row)];
    // Scored exactly at the deleted units.
    CHECK(fill.loss_mask[row].sum().item<int64_t>() ==
          static_cast<int64_t>(sequence.targets[static_cast<std::size_t>(row)].size()) - kept);
  }
  CHECK(differing == 0);
  CHECK(seq_toy::make("token_deletion", {{"mode", std::string("fill")}})->incompatibility(cloze::UnitSpec{}).empty());
  CHECK_THROWS_WITH(seq_toy::make("token_deletion", {{"mode", std::string("gap")}}),
                    Catch::Contains("corruption.mode = \"gap\": must be \"sequence\" or \"fill\""));
}

TEST_CASE("sequence corruptions corrupt a sample the same way in any batch") {
  const toy::Text data(2000, 128, seq_toy::data_vocab);
  for (const std::string name : {"span_infill", "text_infill", "token_deletion"}) {
    CAPTURE(name);
    const auto corruption = seq_toy::prepared(name);
    cloze::Batch small = data.collate({5, 17, 42});
    cloze::Batch large = data.collate({99, 42, 3, 7, 1000, 1500});
    small.epoch = large.epoch = 2;
    const auto row_of_42 = [&](const cloze::Batch& batch, std::size_t row, uint64_t seed) {
      const auto rows = seq_toy::check_sequence_contract(corruption->corrupt(batch, seed));
      return std::make_pair(rows.inputs[row], rows.targets[row]);
    };
    const auto first = row_of_42(small, 2, 7);
    CHECK(row_of_42(large, 1, 7) == first);
    CHECK(row_of_42(large, 1, 8).first != first.first);
    large.epoch = 3;
    CHECK(row_of_42(large, 1, 7).first != first.first);
  }
}

TEST_CASE("sequence corruptions name what the units lack") {
  cloze::UnitSpec patches;
  patches.kind = cloze::UnitKind::continuous;
  patches.unit_dim = 768;
  for (const std::string name : {"span_infill", "text_infill", "token_deletion"}) {
    CAPTURE(name);
    const auto corruption = seq_toy::make(name);
    CHECK(corruption->incompatibility(seq_toy::units()).empty());
    CHECK_THAT(corruption->incompatibility(patches), Catch::Contains("continuous") && Catch::Contains(name));
    cloze::UnitSpec no_bos = seq_toy::units();
    no_bos.bos_id = -1;
    CHECK_THAT(corruption->incompatibility(no_bos), Catch::Contains("no bos id"));
    CHECK_THROWS_WITH(seq_toy::make(name)->prepare(no_bos), Catch::Contains("no bos id"));
    CHECK_THROWS_WITH(seq_toy::make(name)->corrupt(seq_toy::batch_of({{5, 6}}), 1),
                      Catch::Contains("before prepare"));
  }
  cloze::UnitSpec no_sentinels = seq_toy::units();
  no_sentinels.sentinel_ids.clear();
  CHECK_THAT(seq_toy::make("span_infill")->incompatibility(no_sentinels), Catch::Contains("no sentinel ids"));
  cloze::UnitSpec no_eos = seq_toy::units();
  no_eos.eos_id = -1;
  CHECK_THAT(seq_toy::make("span_infill")->incompatibility(no_eos), Catch::Contains("no eos id"));
  CHECK(seq_toy::make("token_deletion")->incompatibility(no_eos).empty());
  cloze::UnitSpec no_mask = seq_toy::units();
  no_mask.mask_id = -1;
  CHECK_THAT(seq_toy::make("text_infill")->incompatibility(no_mask), Catch::Contains("no [MASK] id"));
  CHECK(seq_toy::make("text_infill", {{"random", 1.0}})->incompatibility(no_mask).empty());

  // A row needing more spans than there are sentinels is refused when corrupted.
  cloze::UnitSpec few = seq_toy::units();
  few.sentinel_ids.resize(3);
  auto corruption = seq_toy::make("span_infill");
  corruption->prepare(few);
  CHECK_NOTHROW(corruption->corrupt(seq_toy::batch_of(seq_toy::plain_rows(2, 40, 1)), 1));  // 2 spans
  CHECK_THROWS_WITH(corruption->corrupt(seq_toy::batch_of(seq_toy::plain_rows(2, 200, 1)), 1),
                    Catch::Contains("10 noise spans") && Catch::Contains("only 3 sentinel ids"));
  // Ids outside the vocabulary are refused naming the sample.
  CHECK_THROWS_WITH(seq_toy::prepared("token_deletion")->corrupt(seq_toy::batch_of({{5, seq_toy::vocab}}), 1),
                    Catch::Contains("outside the vocabulary"));
}

TEST_CASE("sequence corruptions refuse bad parameters naming the key") {
  CHECK_THROWS_WITH(seq_toy::make("span_infill", {{"noise_density", 1.0}}), Catch::Contains("corruption.noise_density"));
  CHECK_THROWS_WITH(seq_toy::make("span_infill", {{"mean_noise_span_length", 0.5}}),
                    Catch::Contains("corruption.mean_noise_span_length"));
  CHECK_THROWS_WITH(seq_toy::make("text_infill", {{"poisson_lambda", 0.0}}), Catch::Contains("corruption.poisson_lambda"));
  CHECK_THROWS_WITH(seq_toy::make("text_infill", {{"rate", 1.5}}), Catch::Contains("corruption.rate = 1.5"));
  CHECK_THROWS_WITH(seq_toy::make("text_infill", {{"random", -0.1}}), Catch::Contains("corruption.random"));
  CHECK_THROWS_WITH(seq_toy::make("token_deletion", {{"rate", -0.1}}), Catch::Contains("corruption.rate"));
}
