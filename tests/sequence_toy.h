// Test support for the sequence corruptions (span_infill, text_infill,
// token_deletion) and span_mask: the toy text vocabulary widened with
// sentinel, bos and eos ids that the toy data never contains, batches of
// given rows, any corruption from the build tree's plugins, and the checks of
// the sequence-mode output contract every sequence corruption must meet.
#pragma once

#include <catch2/catch.hpp>

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/params.h"
#include "cloze/data/loader.h"
#include "toy_text.h"

namespace seq_toy {

constexpr int64_t data_vocab = 1000;  // the toy data's ids are below this
constexpr int64_t first_sentinel = data_vocab;
constexpr int64_t sentinels = 100;
constexpr int64_t bos_id = first_sentinel + sentinels;
constexpr int64_t eos_id = bos_id + 1;
constexpr int64_t vocab = eos_id + 1;

// toy::units plus bos, eos and sentinels, all special.
inline cloze::UnitSpec units() {
  cloze::UnitSpec spec = toy::units(vocab);
  spec.bos_id = bos_id;
  spec.eos_id = eos_id;
  for (int64_t i = 0; i < sentinels; ++i) spec.sentinel_ids.push_back(first_sentinel + i);
  spec.special_ids.insert(spec.special_ids.end(), spec.sentinel_ids.begin(), spec.sentinel_ids.end());
  spec.special_ids.push_back(bos_id);
  spec.special_ids.push_back(eos_id);
  return spec;
}

inline std::shared_ptr<cloze::Corruption> make(const std::string& name,
                                               const std::map<std::string, cloze::Value>& values = {}) {
  cloze::Params params("corruption", toy::registry().info(cloze::PluginKind::corruption, name).schema);
  for (const auto& [key, value] : values) params.set(key, value, "test");
  return toy::registry().make_corruption(name, params);
}

inline std::shared_ptr<cloze::Corruption> prepared(const std::string& name,
                                                   const std::map<std::string, cloze::Value>& values = {}) {
  auto corruption = make(name, values);
  corruption->prepare(units());
  return corruption;
}

inline std::vector<int64_t> iota(int64_t count) {
  std::vector<int64_t> out(static_cast<std::size_t>(count));
  std::iota(out.begin(), out.end(), int64_t{0});
  return out;
}

// A batch of the given rows, padded with toy::pad_id to the longest; row b is sample b.
inline cloze::Batch batch_of(const std::vector<std::vector<int64_t>>& rows) {
  std::size_t longest = 0;
  for (const auto& row : rows) longest = std::max(longest, row.size());
  const auto count = static_cast<int64_t>(rows.size());
  const auto width = static_cast<int64_t>(longest);
  cloze::Batch batch;
  batch.units = at::full({count, width}, toy::pad_id, at::kLong);
  batch.padding = at::ones({count, width}, at::kBool);
  for (int64_t b = 0; b < count; ++b)
    for (std::size_t n = 0; n < rows[static_cast<std::size_t>(b)].size(); ++n) {
      batch.units.data_ptr<int64_t>()[b * width + static_cast<int64_t>(n)] = rows[static_cast<std::size_t>(b)][n];
      batch.padding.data_ptr<bool>()[b * width + static_cast<int64_t>(n)] = false;
    }
  batch.labels = at::full({count}, -1, at::kLong);
  batch.grid.dims = {width};
  batch.sample_ids = iota(count);
  return batch;
}

// `count` rows of `length` ordinary ids, no specials.
inline std::vector<std::vector<int64_t>> plain_rows(int64_t count, int64_t length, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<std::vector<int64_t>> rows(static_cast<std::size_t>(count));
  for (auto& row : rows)
    for (int64_t n = 0; n < length; ++n)
      row.push_back(toy::first_ordinary +
                    static_cast<int64_t>(gen() % static_cast<uint64_t>(data_vocab - toy::first_ordinary)));
  return rows;
}

// Row b of a [B, N] tensor up to `length`.
inline std::vector<int64_t> row_of(const at::Tensor& ids, int64_t b, int64_t length) {
  const at::Tensor row = ids[b].slice(0, 0, length).contiguous();
  return {row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + length};
}

// The real units of each batch row.
inline std::vector<std::vector<int64_t>> real_rows(const cloze::Batch& batch) {
  std::vector<std::vector<int64_t>> rows;
  for (int64_t b = 0; b < batch.size(); ++b) {
    const int64_t length = batch.padding[b].logical_not().sum().item<int64_t>();
    rows.push_back(row_of(batch.units, b, length));
  }
  return rows;
}

struct SequenceRows {
  std::vector<std::vector<int64_t>> inputs, targets;
};

// Checks the sequence-mode contract and returns each row's real input and target.
inline SequenceRows check_sequence_contract(const cloze::Corrupted& out) {
  REQUIRE(out.mode == cloze::ReconstructionMode::sequence);
  REQUIRE(out.input.dim() == 2);
  REQUIRE(out.input.scalar_type() == at::kLong);
  REQUIRE(out.target.scalar_type() == at::kLong);
  const int64_t rows = out.input.size(0), n_in = out.input.size(1), n_t = out.target.size(1);
  REQUIRE(out.input_padding.sizes() == out.input.sizes());
  REQUIRE(out.input_positions.sizes() == out.input.sizes());
  REQUIRE(out.loss_mask.sizes() == out.target.sizes());
  REQUIRE(out.decoder_input.sizes() == out.target.sizes());
  CHECK(out.input_positions.equal(at::arange(n_in, at::kLong).expand({rows, n_in})));

  SequenceRows real;
  int64_t longest_in = 0, longest_t = 0, bad_rows = 0;
  for (int64_t b = 0; b < rows; ++b) {
    const int64_t in_length = out.input_padding[b].logical_not().sum().item<int64_t>();
    const int64_t t_length = out.loss_mask[b].sum().item<int64_t>();
    longest_in = std::max(longest_in, in_length);
    longest_t = std::max(longest_t, t_length);
    // Real units first, then padding filled with pad_id.
    const bool input_ok = !out.input_padding[b].slice(0, 0, in_length).any().item<bool>() &&
                          out.input[b].slice(0, in_length).eq(toy::pad_id).all().item<bool>();
    const bool target_ok = out.loss_mask[b].slice(0, 0, t_length).all().item<bool>() &&
                           out.target[b].slice(0, t_length).eq(toy::pad_id).all().item<bool>();
    // decoder_input = [bos, target[0 .. t-2]], then pad.
    std::vector<int64_t> shifted{bos_id};
    const auto target = row_of(out.target, b, t_length);
    shifted.insert(shifted.end(), target.begin(), target.end() - (t_length > 0 ? 1 : 0));
    const bool decoder_ok = row_of(out.decoder_input, b, t_length) == shifted &&
                            out.decoder_input[b].slice(0, t_length).eq(toy::pad_id).all().item<bool>();
    if (!(input_ok && target_ok && decoder_ok)) ++bad_rows;
    real.inputs.push_back(row_of(out.input, b, in_length));
    real.targets.push_back(target);
  }
  CHECK(bad_rows == 0);
  // Padded to the batch's longest input and target, no wider.
  CHECK(longest_in == n_in);
  CHECK(longest_t == n_t);
  return real;
}

inline bool is_subsequence(const std::vector<int64_t>& part, const std::vector<int64_t>& whole) {
  std::size_t i = 0;
  for (int64_t id : whole)
    if (i < part.size() && part[i] == id) ++i;
  return i == part.size();
}

// The same batches from a loader on the caller's thread, one with a single
// worker thread and one with 4: the corruption's choices are keyed by seed and
// sample, never by which thread drew them or in what order.
inline void check_same_with_workers(const std::shared_ptr<const cloze::Corruption>& corruption) {
  auto data = std::make_shared<toy::Text>(200, 64, seq_toy::data_vocab);
  const auto loader_with = [&](int workers) {
    cloze::LoaderOptions options;
    options.batch_size = 16;
    options.workers = workers;
    options.prefetch = 6;
    return std::make_unique<cloze::Loader>(data, corruption, 5, options);
  };
  const auto inline_loader = loader_with(0);
  const auto one_worker = loader_with(1);
  const auto four_workers = loader_with(4);
  for (int i = 0; i < 20; ++i) {  // two epochs
    const cloze::LoadedBatch a = inline_loader->next();
    for (const auto& threaded : {one_worker.get(), four_workers.get()}) {
      const cloze::LoadedBatch b = threaded->next();
      CHECK(a.corrupted.input.equal(b.corrupted.input));
      CHECK(a.corrupted.target.equal(b.corrupted.target));
      CHECK(a.corrupted.loss_mask.equal(b.corrupted.loss_mask));
      REQUIRE(a.corrupted.entry.defined() == b.corrupted.entry.defined());
      if (a.corrupted.entry.defined()) CHECK(a.corrupted.entry.equal(b.corrupted.entry));
    }
  }
}

}  // namespace seq_toy
