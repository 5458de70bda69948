// Test support for the corruption and loader tests: a tiny in-memory text
// dataset (random ordinary ids, special ids sprinkled in, rows of different
// lengths padded to the longest row of each batch) and its UnitSpec, plus the
// token_mask plugin built from the build tree.
#pragma once

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cloze/core/modality.h"
#include "cloze/core/params.h"
#include "cloze/core/registry.h"
#include "test_support.h"
#include "toy_tokens.h"

namespace toy {

using toy_tokens::mask_id;
using toy_tokens::pad_id;
constexpr int64_t cls_id = 2;
constexpr int64_t sep_id = 3;
constexpr int64_t first_ordinary = 4;  // ids below are special

// Ids 0-3 are special; of the ordinary ids, those divisible by 3 continue a
// word and the others start one (words of 1.5 pieces on average).
inline cloze::UnitSpec units(int64_t vocab) {
  cloze::UnitSpec spec = toy_tokens::units(vocab);
  spec.special_ids = {pad_id, mask_id, cls_id, sep_id};
  spec.begins_word.resize(static_cast<std::size_t>(vocab));
  for (int64_t id = 0; id < vocab; ++id) spec.begins_word[static_cast<std::size_t>(id)] = id % 3 != 0;
  return spec;
}

class Text : public cloze::Dataset {
 public:
  Text(int64_t samples, int64_t max_length, int64_t vocab)
      : samples_(samples), max_length_(max_length), vocab_(vocab) {}

  int64_t size() const override { return samples_; }

  // Sample i, a function of i alone: [CLS], then ordinary ids with a [SEP] at
  // about one place in twenty; its length is in [max_length / 2, max_length].
  std::vector<int64_t> sample(int64_t i) const {
    std::mt19937_64 gen(static_cast<uint64_t>(i) * 7919 + 1);
    const int64_t half = max_length_ / 2;
    const int64_t length = half + static_cast<int64_t>(gen() % static_cast<uint64_t>(max_length_ - half + 1));
    std::vector<int64_t> ids{cls_id};
    while (static_cast<int64_t>(ids.size()) < length)
      ids.push_back(gen() % 20 == 0 ? sep_id
                                    : first_ordinary + static_cast<int64_t>(gen() % static_cast<uint64_t>(vocab_ - first_ordinary)));
    return ids;
  }

  cloze::Batch collate(const std::vector<int64_t>& indices) const override {
    std::vector<std::vector<int64_t>> rows;
    int64_t longest = 0;
    for (int64_t i : indices) {
      rows.push_back(sample(i));
      longest = std::max(longest, static_cast<int64_t>(rows.back().size()));
    }
    const auto count = static_cast<int64_t>(rows.size());
    cloze::Batch batch;
    batch.units = at::full({count, longest}, pad_id, at::kLong);  // [B, N]
    batch.padding = at::ones({count, longest}, at::kBool);        // [B, N]
    auto units = batch.units.accessor<int64_t, 2>();
    auto padding = batch.padding.accessor<bool, 2>();
    for (int64_t r = 0; r < count; ++r)
      for (std::size_t n = 0; n < rows[static_cast<std::size_t>(r)].size(); ++n) {
        units[r][static_cast<int64_t>(n)] = rows[static_cast<std::size_t>(r)][n];
        padding[r][static_cast<int64_t>(n)] = false;
      }
    batch.labels = at::full({count}, -1, at::kLong);
    batch.grid.dims = {longest};
    batch.sample_ids = indices;
    return batch;
  }

 private:
  int64_t samples_, max_length_, vocab_;
};

using test_support::registry;

// token_mask with its schema's defaults, less `values`; not yet prepared.
inline std::shared_ptr<cloze::Corruption> token_mask(const std::map<std::string, cloze::Value>& values = {}) {
  cloze::Params params("corruption", registry().info(cloze::PluginKind::corruption, "token_mask").schema);
  for (const auto& [name, value] : values) params.set(name, value, "test");
  return registry().make_corruption("token_mask", params);
}

}  // namespace toy
