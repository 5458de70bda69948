#include "folder.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#if CLOZE_IMAGE_CODECS
#include <opencv2/imgcodecs.hpp>
#endif

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/data/labelled_folder.h"
#include "png_check.h"
#include "square.h"

namespace cloze::image {

namespace fs = std::filesystem;

#if CLOZE_IMAGE_CODECS

namespace {

// The bytes of `file`, or why there are none.
bool read_file(const fs::path& file, std::vector<uint8_t>& bytes, std::string& error) {
  std::ifstream in(file, std::ios::binary);
  if (in) bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in && !bytes.empty()) return true;
  error = in ? "the file is empty" : "the file cannot be opened";
  return false;
}

// Decodes `files` (in parallel: imdecode is thread-safe) into one split,
// appending those it cannot decode to `unreadable`. A damaged PNG is caught
// before OpenCV sees it (png_check.h), so libpng prints nothing to stderr.
Images decode(const std::vector<LabelledFile>& files, const DecodeOptions& options,
              std::vector<BadSample>& unreadable) {
  const auto count = static_cast<int64_t>(files.size());
  const int64_t side = options.image_size, channels = options.channels;
  at::Tensor pixels = at::empty({count, channels, side, side}, at::kByte);
  std::vector<uint8_t> readable(files.size(), 0);
  std::vector<std::string> errors(files.size(), "OpenCV cannot decode it");
  const int flags = channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;  // both 8-bit
  at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> bytes;
    for (int64_t i = begin; i < end; ++i) {
      std::string& error = errors[static_cast<std::size_t>(i)];
      if (!read_file(files[static_cast<std::size_t>(i)].path, bytes, error)) continue;
      const std::string damage = png_damage(bytes.data(), bytes.size());
      if (!damage.empty()) {
        error = damage;
        continue;
      }
      cv::Mat picture;
      try {
        picture = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, bytes.data()), flags);
      } catch (const cv::Exception& e) {
        error = e.what();
        continue;
      }
      if (picture.empty()) continue;
      copy_to_planes(to_square(picture, static_cast<int>(side)), pixels[i]);
      readable[static_cast<std::size_t>(i)] = 1;
    }
  });
  std::vector<int64_t> kept, labels;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (readable[i]) {
      kept.push_back(static_cast<int64_t>(i));
      labels.push_back(files[i].label);
    } else {
      unreadable.push_back({files[i].path, errors[i]});
    }
  }
  const auto rows = static_cast<int64_t>(kept.size());
  const at::Tensor kept_index = at::from_blob(kept.data(), {rows}, at::kLong);
  return Images{rows == count ? pixels : pixels.index_select(0, kept_index),
                at::from_blob(labels.data(), {rows}, at::kLong).clone()};
}

}  // namespace

LabelledImages read_image_folder(const fs::path& folder, const DecodeOptions& options, double eval_fraction,
                                 BadSamples& bad_samples) {
  const LabelledFolder listing = list_labelled_folder(folder, {".png", ".jpg", ".jpeg"}, eval_fraction);
  if (listing.train.empty() && listing.eval.empty())
    throw Error(folder.string() + ": holds no .png, .jpg or .jpeg pictures");
  std::vector<BadSample> unreadable;
  LabelledImages data{decode(listing.train, options, unreadable), decode(listing.eval, options, unreadable),
                      listing.class_names};
  bad_samples.report(folder.string(), unreadable, static_cast<int64_t>(listing.train.size() + listing.eval.size()));
  if (data.train.pixels.size(0) == 0)
    throw Error(folder.string() + ": no readable train pictures (" + std::to_string(unreadable.size()) +
                " files could not be decoded)");
  if (data.eval.pixels.size(0) == 0 && !listing.eval.empty())
    throw Error(folder.string() + ": none of the " + std::to_string(listing.eval.size()) +
                " eval pictures could be decoded");
  return data;
}

#else

LabelledImages read_image_folder(const fs::path& folder, const DecodeOptions&, double, BadSamples&) {
  throw Error("image folder " + folder.string() +
              ": this build of cloze reads IDX files only; PNG and JPEG need OpenCV's imgcodecs "
              "(configure with -DCLOZE_IMAGE_CODECS=ON)");
}

#endif

}  // namespace cloze::image
