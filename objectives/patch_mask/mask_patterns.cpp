#include "mask_patterns.h"

#include "cloze/corrupt/sampling.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace patch_mask {
namespace {

// BEiT's _mask: one round of up to 10 attempts to place a block that hides
// between 1 and `remaining` cells not hidden yet. Returns how many it hid,
// 0 when no attempt fitted.
int64_t add_block(int64_t rows, int64_t cols, const std::vector<uint8_t>& padding, double min_area,
                  int64_t remaining, double log_aspect, cloze::SampleRng& rng, std::vector<uint8_t>& hidden) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    // Python's random.uniform(a, b) is a + (b - a) u also when b < a: once
    // fewer than min_block cells remain, the area comes from [remaining, min_area].
    const double area = min_area + (static_cast<double>(remaining) - min_area) * rng.uniform();
    const double aspect = std::exp(log_aspect + (-log_aspect - log_aspect) * rng.uniform());
    // Python's round() takes halves to even, as nearbyint does in the default rounding mode.
    const double block_height = std::nearbyint(std::sqrt(area * aspect));
    const double block_width = std::nearbyint(std::sqrt(area / aspect));
    // BEiT's strict check: no block spans an axis. Made on the doubles, before
    // the casts: a large min_block or a tiny aspect gives sides far beyond
    // int64, whose conversion is undefined (found by tests/fuzz/fuzz_patch_mask).
    if (!(block_height < static_cast<double>(rows) && block_width < static_cast<double>(cols))) continue;
    const auto height = static_cast<int64_t>(block_height);
    const auto width = static_cast<int64_t>(block_width);
    const auto top = static_cast<int64_t>(rng.below(static_cast<uint64_t>(rows - height + 1)));
    const auto left = static_cast<int64_t>(rng.below(static_cast<uint64_t>(cols - width + 1)));

    int64_t fresh = 0;  // cells this block would newly hide
    for (int64_t r = top; r < top + height; ++r)
      for (int64_t c = left; c < left + width; ++c) fresh += !hidden[r * cols + c] && !padding[r * cols + c];
    if (fresh == 0 || fresh > remaining) continue;
    for (int64_t r = top; r < top + height; ++r)
      for (int64_t c = left; c < left + width; ++c)
        if (!padding[r * cols + c]) hidden[r * cols + c] = 1;
    return fresh;
  }
  return 0;
}

// The last resort when not even the smallest block fits: one kept cell next
// to (a 4-neighbour of) a hidden one, so what is hidden stays in clusters;
// any kept cell when none touches a hidden one. Returns how many it hid.
int64_t hide_next_to_hidden(int64_t rows, int64_t cols, const std::vector<uint8_t>& padding, cloze::SampleRng& rng,
                            std::vector<uint8_t>& hidden) {
  const auto hidden_at = [&](int64_t r, int64_t c) {
    return r >= 0 && r < rows && c >= 0 && c < cols && hidden[r * cols + c];
  };
  std::vector<int64_t> candidates;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      if (!hidden[r * cols + c] && !padding[r * cols + c] &&
          (hidden_at(r - 1, c) || hidden_at(r + 1, c) || hidden_at(r, c - 1) || hidden_at(r, c + 1)))
        candidates.push_back(r * cols + c);
  if (candidates.empty())
    for (int64_t cell = 0; cell < rows * cols; ++cell)
      if (!hidden[cell] && !padding[cell]) candidates.push_back(cell);
  if (candidates.empty()) return 0;
  hidden[candidates[rng.below(candidates.size())]] = 1;
  return 1;
}

// The lines (rows or columns) of one axis that stripe_mask hides: MAE's
// random masking with lines as the cells. `line_padding` [lines].
void hide_lines(const std::vector<uint8_t>& line_padding, double ratio, cloze::SampleRng& rng,
                std::vector<uint8_t>& line_hidden) {
  if (ratio <= 0.0) {
    line_hidden.assign(line_padding.size(), 0);
    return;
  }
  int64_t lines = 0;
  for (uint8_t is_padding : line_padding) lines += !is_padding;
  std::vector<int64_t> line_scratch;
  random_mask(line_padding, keep_count(lines, ratio), rng, line_hidden, line_scratch);
}

}  // namespace

int64_t keep_count(int64_t cells, double ratio) {
  return std::llround(static_cast<double>(cells) * (1.0 - ratio));
}

void random_mask(const std::vector<uint8_t>& padding, int64_t keep, cloze::SampleRng& rng,
                 std::vector<uint8_t>& hidden, std::vector<int64_t>& cells) {
  hidden.resize(padding.size());
  cells.clear();  // every non-padding cell
  for (std::size_t cell = 0; cell < padding.size(); ++cell)
    if (!padding[cell]) cells.push_back(static_cast<int64_t>(cell));
  const auto real = static_cast<int64_t>(cells.size());
  keep = std::clamp<int64_t>(keep, 0, real);
  // Draw whichever of the kept and the hidden sets is smaller: one draw per
  // chosen cell instead of a noise value per cell and a sort.
  const bool choose_kept = keep <= real - keep;
  cloze::choose_without_replacement(cells, choose_kept ? keep : real - keep, rng);
  for (std::size_t cell = 0; cell < padding.size(); ++cell) hidden[cell] = choose_kept && !padding[cell];
  const std::size_t chosen = static_cast<std::size_t>(choose_kept ? keep : real - keep);
  for (std::size_t i = 0; i < chosen; ++i) hidden[static_cast<std::size_t>(cells[i])] = !choose_kept;
}

void block_mask(int64_t rows, int64_t cols, const std::vector<uint8_t>& padding, int64_t target,
                const BlockShape& shape, cloze::SampleRng& rng, std::vector<uint8_t>& hidden) {
  hidden.assign(static_cast<std::size_t>(rows * cols), 0);
  const double log_aspect = std::log(shape.aspect);  // aspect ratios are exp(U[log a, -log a])
  double min_area = static_cast<double>(shape.min_block);
  int64_t count = 0;
  while (count < target) {
    int64_t added = add_block(rows, cols, padding, min_area, target - count, log_aspect, rng, hidden);
    if (added == 0 && min_area > 1.0) {
      // BEiT stops here, short of its target. Fill mode stacks rows without
      // padding, so every row must hide the same count: go on with the
      // smallest blocks.
      min_area = 1.0;
      continue;
    }
    if (added == 0) added = hide_next_to_hidden(rows, cols, padding, rng, hidden);
    if (added == 0) break;  // no kept cell left: only when target exceeds the non-padding cells
    count += added;
  }
}

void stripe_mask(int64_t rows, int64_t cols, const std::vector<uint8_t>& padding, const LineRatios& ratios,
                 cloze::SampleRng& rng, std::vector<uint8_t>& hidden) {
  std::vector<uint8_t> row_padding(static_cast<std::size_t>(rows), 1), col_padding(static_cast<std::size_t>(cols), 1);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      if (!padding[r * cols + c]) row_padding[r] = col_padding[c] = 0;
  // Columns (time) first, then rows (frequency): Audio-MAE's order of draws.
  std::vector<uint8_t> row_hidden, col_hidden;
  hide_lines(col_padding, ratios.cols, rng, col_hidden);
  hide_lines(row_padding, ratios.rows, rng, row_hidden);
  hidden.assign(static_cast<std::size_t>(rows * cols), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      hidden[r * cols + c] = !padding[r * cols + c] && (row_hidden[r] || col_hidden[c]);
}

}  // namespace patch_mask
