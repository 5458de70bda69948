// Which documents are held out for evaluation. The choice is a hash of each
// document's index with a fixed salt: it never changes between runs or
// machines, and does not depend on the run's seed.
#pragma once

#include <cstdint>
#include <vector>

#include "cloze/core/modality.h"

namespace cloze::text {

// The split of each of `document_count` documents: eval with probability
// `eval_fraction`. With eval_fraction > 0 each split gets at least one
// document (the last moves to eval, or the first to train); that needs two.
std::vector<Split> assign_splits(int64_t document_count, double eval_fraction);

// Indices of the documents in `split`, in corpus order.
std::vector<int64_t> documents_in(const std::vector<Split>& splits, Split split);

}  // namespace cloze::text
