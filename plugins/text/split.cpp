// The hash-based train/eval split of documents.
#include "split.h"

#include <algorithm>

#include "hash.h"

namespace cloze::text {

namespace {

constexpr uint64_t split_salt = 0x636c6f7a65746578ull;  // "clozetex"

// Uniform in [0, 1), a function of the document index alone.
double position_of(int64_t document) {
  return static_cast<double>(mix64(static_cast<uint64_t>(document) ^ split_salt) >> 11) * 0x1.0p-53;
}

}  // namespace

std::vector<Split> assign_splits(int64_t document_count, double eval_fraction) {
  std::vector<Split> splits(static_cast<std::size_t>(document_count));
  for (int64_t i = 0; i < document_count; ++i)
    splits[static_cast<std::size_t>(i)] = position_of(i) < eval_fraction ? Split::eval : Split::train;
  if (eval_fraction > 0 && document_count >= 2) {
    if (std::count(splits.begin(), splits.end(), Split::eval) == 0) splits.back() = Split::eval;
    if (std::count(splits.begin(), splits.end(), Split::train) == 0) splits.front() = Split::train;
  }
  return splits;
}

std::vector<int64_t> documents_in(const std::vector<Split>& splits, Split split) {
  std::vector<int64_t> documents;
  for (std::size_t i = 0; i < splits.size(); ++i)
    if (splits[i] == split) documents.push_back(static_cast<int64_t>(i));
  return documents;
}

}  // namespace cloze::text
