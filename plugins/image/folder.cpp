#include "folder.h"

#include <ATen/Functions.h>
#if CLOZE_IMAGE_CODECS
#include <opencv2/imgcodecs.hpp>
#endif

#include <cstdint>
#include <string>
#include <vector>

#include "augment.h"
#include "cloze/core/error.h"
#include "png_check.h"
#include "square.h"

namespace cloze::image {

namespace fs = std::filesystem;

LabelledFolder list_picture_folder(const fs::path& folder, double eval_fraction, BadSamples& bad_samples) {
  return list_sample_folder(folder, {".png", ".jpg", ".jpeg"}, "pictures", eval_fraction, bad_samples);
}

#if CLOZE_IMAGE_CODECS

namespace {

// `file` (a picture file or a shard's member) decoded as 8-bit grey or BGR,
// or an empty picture and why.
cv::Mat decode(const LabelledFile& file, int flags, std::string& error) {
  std::vector<uint8_t> bytes;
  if (!read_bytes(file, bytes, error)) return {};
  if (error = png_damage(bytes.data(), bytes.size()); !error.empty()) return {};
  cv::Mat picture;
  try {
    picture = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, bytes.data()), flags);
  } catch (const cv::Exception& e) {
    error = e.what();
    return {};
  }
  if (picture.empty()) error = "OpenCV cannot decode it";
  return picture;
}

}  // namespace

StreamedPlanes::Reader picture_reader(const DecodeOptions& options) {
  const int side = static_cast<int>(options.image_size);
  const int flags = options.channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;  // both 8-bit
  return [side, flags](const LabelledFile& file, SampleRng* draws, std::string& error) {
    const cv::Mat picture = decode(file, flags, error);
    if (picture.empty()) return at::Tensor();
    return to_planes(draws ? mae_augment(picture, side, *draws) : to_square(picture, side));
  };
}

#else

StreamedPlanes::Reader picture_reader(const DecodeOptions&) {
  throw Error("this build of cloze reads IDX files only; PNG and JPEG need OpenCV's imgcodecs "
              "(configure with -DCLOZE_IMAGE_CODECS=ON)");
}

#endif

}  // namespace cloze::image
