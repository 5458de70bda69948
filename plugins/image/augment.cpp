#include "augment.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace cloze::image {

namespace {

// Python's round(): halves go to the even neighbour (the default rounding mode).
int round_half_even(double value) { return static_cast<int>(std::nearbyint(value)); }

double uniform_between(double low, double high, SampleRng& rng) { return low + (high - low) * rng.uniform(); }

}  // namespace

cv::Rect random_resized_crop_box(int rows, int cols, const CropScale& scale, SampleRng& rng) {
  const double area = static_cast<double>(rows) * cols;
  const double log_min = std::log(scale.min_ratio), log_max = std::log(scale.max_ratio);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * uniform_between(scale.min_area, scale.max_area, rng);
    const double aspect = std::exp(uniform_between(log_min, log_max, rng));
    const int width = round_half_even(std::sqrt(target * aspect));
    const int height = round_half_even(std::sqrt(target / aspect));
    if (width > 0 && width <= cols && height > 0 && height <= rows) {
      const auto top = static_cast<int>(rng.below(static_cast<uint64_t>(rows - height + 1)));
      const auto left = static_cast<int>(rng.below(static_cast<uint64_t>(cols - width + 1)));
      return {left, top, width, height};
    }
  }
  const double ratio = static_cast<double>(cols) / rows;
  int width = cols, height = rows;
  if (ratio < scale.min_ratio)
    height = round_half_even(width / scale.min_ratio);
  else if (ratio > scale.max_ratio)
    width = round_half_even(height * scale.max_ratio);
  return {(cols - width) / 2, (rows - height) / 2, width, height};
}

cv::Mat mae_augment(const cv::Mat& picture, int side, SampleRng& rng) {
  const cv::Rect box = random_resized_crop_box(picture.rows, picture.cols, CropScale{}, rng);
  const bool shrinking = box.width * box.height > side * side;
  cv::Mat out;
  cv::resize(picture(box), out, cv::Size(side, side), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_CUBIC);
  if (rng.uniform() < 0.5) cv::flip(out, out, /*flipCode=*/1);
  return out;
}

}  // namespace cloze::image
