#include "square.h"

#include <ATen/Functions.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace cloze::image {

cv::Mat to_square(const cv::Mat& picture, int side) {
  const double factor = static_cast<double>(side) / std::min(picture.rows, picture.cols);
  // At least `side`, so rounding never leaves the crop short.
  const int rows = std::max(side, static_cast<int>(std::lround(picture.rows * factor)));
  const int cols = std::max(side, static_cast<int>(std::lround(picture.cols * factor)));
  cv::Mat resized = picture;
  if (rows != picture.rows || cols != picture.cols)
    cv::resize(picture, resized, cv::Size(cols, rows), 0, 0, factor < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return resized(cv::Rect((cols - side) / 2, (rows - side) / 2, side, side));
}

at::Tensor to_planes(const cv::Mat& picture) {
  at::Tensor pixels = at::empty({picture.rows, picture.cols, picture.channels()}, at::kByte);  // [H, W, C]
  cv::Mat rgb(picture.rows, picture.cols, picture.type(), pixels.data_ptr<uint8_t>());
  if (picture.channels() == 3)
    cv::cvtColor(picture, rgb, cv::COLOR_BGR2RGB);
  else
    picture.copyTo(rgb);
  return pixels.permute({2, 0, 1});
}

}  // namespace cloze::image
