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

void copy_to_planes(const cv::Mat& picture, at::Tensor planes) {
  cv::Mat packed;  // continuous [H, W, C], RGB
  if (picture.channels() == 3)
    cv::cvtColor(picture, packed, cv::COLOR_BGR2RGB);
  else
    packed = picture.isContinuous() ? picture : picture.clone();
  const at::Tensor view = at::from_blob(packed.data, {packed.rows, packed.cols, packed.channels()}, at::kByte);
  planes.copy_(view.permute({2, 0, 1}));
}

}  // namespace cloze::image
