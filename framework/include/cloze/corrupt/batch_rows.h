// Rows of a batch taken apart and put back together: a mixture corrupts the
// rows that drew each of its entries on their own, then merges the results
// back into the batch's row order.
#pragma once

#include <cstdint>
#include <vector>

#include "cloze/core/batch.h"
#include "cloze/core/corrupted.h"

namespace cloze {

// The batch's rows `rows`, in that order, with their sample ids.
Batch select_rows(const Batch& batch, const std::vector<int64_t>& rows);

// The corrupted batch's rows `rows`, in that order: every field it has.
Corrupted select_rows(const Corrupted& corrupted, const std::vector<int64_t>& rows);

// One batch of `batch_size` rows from parts of the same mode: parts[k] holds
// the rows rows[k] (together every row exactly once). Each field that any part
// has is padded to the longest part: ids with `pad_id`, values with 0,
// positions with the column's index, input_padding and target_padding with
// true, loss_mask and input_masked with false. A part without a field the others have gets the
// filler there (an input_masked of all false, a target_padding of all true).
Corrupted merge_rows(const std::vector<Corrupted>& parts, const std::vector<std::vector<int64_t>>& rows,
                     int64_t batch_size, int64_t pad_id);

}  // namespace cloze
