#include "cloze/inspect/picture.h"

#include <ATen/Functions.h>
#include <opencv2/core.hpp>
#if CLOZE_IMAGE_CODECS
#include <opencv2/imgcodecs.hpp>
#endif
#include <opencv2/imgproc.hpp>

#include <limits>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/data/patches.h"

namespace cloze {
namespace {

constexpr double kHiddenGrey = 0.5;
constexpr int kGap = 2;  // pixels of white between panels

// [N, D] units of one row -> an 8-bit image (grey or BGR) at layout.scale.
cv::Mat to_image(const at::Tensor& units, const Grid& grid, const PatchLayout& layout) {
  const at::Tensor display = layout.to_display(units).clamp(0.0, 1.0);
  const at::Tensor planes = unpatchify(display.unsqueeze(0), layout.patch, layout.channels, grid)[0];  // [C, H, W]
  const at::Tensor pixels = planes.mul(255.0).round().to(at::kByte).permute({1, 2, 0}).contiguous();  // [H, W, C]
  const int height = static_cast<int>(pixels.size(0)), width = static_cast<int>(pixels.size(1));
  cv::Mat image(height, width, layout.channels == 3 ? CV_8UC3 : CV_8UC1, pixels.data_ptr<uint8_t>());
  if (layout.channels == 3) cv::cvtColor(image, image, cv::COLOR_RGB2BGR);  // copies
  cv::Mat scaled;
  cv::resize(image, scaled, cv::Size(width * static_cast<int>(layout.scale), height * static_cast<int>(layout.scale)),
             0, 0, cv::INTER_NEAREST);
  if (layout.bottom_up) cv::flip(scaled, scaled, /*flipCode=*/0);
  return scaled;
}

// `units` [N, D] with the units where `where` [N] is true marked NaN, which
// the panel's display mapping paints flat grey: grey in display space, whatever
// the modality's normalisation.
at::Tensor hide(const at::Tensor& units, const at::Tensor& where) {
  return units.masked_fill(where.unsqueeze(-1), std::numeric_limits<double>::quiet_NaN());
}

}  // namespace

void write_patch_picture(const Batch& batch, const Corrupted& corrupted, const Corrupted* reconstructed,
                         int64_t row, const PatchLayout& layout, const std::filesystem::path& path) {
  if (batch.grid.rank() != 2 || batch.units.dim() != 3)
    throw Error("preview picture: needs [B, N, D] patch units on a 2-d grid, the batch's grid is " +
                batch.grid.to_string());
  const at::Tensor original = batch.units[row].to(at::kFloat);              // [N, D]
  const at::Tensor hidden = corrupted.loss_mask[row].to(at::kBool);         // [N]
  PatchLayout shown = layout;
  shown.to_display = [&layout](const at::Tensor& units) {
    const at::Tensor nan = units.isnan();
    return layout.to_display(units.nan_to_num(0.0)).masked_fill(nan, kHiddenGrey);
  };

  std::vector<cv::Mat> panels{to_image(original, batch.grid, shown),
                              to_image(hide(original, hidden), batch.grid, shown)};
  if (reconstructed) {
    const at::Tensor model = reconstructed->target[row].to(at::kFloat);  // [N, D], truth where not scored
    panels.push_back(to_image(hide(model, hidden.logical_not()), batch.grid, shown));
    panels.push_back(to_image(at::where(hidden.unsqueeze(-1), model, original), batch.grid, shown));
  }

  std::vector<cv::Mat> spaced;
  for (const cv::Mat& panel : panels) {
    if (!spaced.empty()) spaced.emplace_back(panel.rows, kGap, panel.type(), cv::Scalar::all(255));
    spaced.push_back(panel);
  }
  cv::Mat picture;
  cv::hconcat(spaced, picture);
#if CLOZE_IMAGE_CODECS
  bool written = false;
  try {
    written = cv::imwrite(path.string(), picture);
  } catch (const cv::Exception& e) {
    throw Error("preview picture: cannot write " + path.string() + ": " + e.what());
  }
  if (!written) throw Error("preview picture: cannot write " + path.string());
#else
  throw Error("preview picture: cannot write " + path.string() +
              ": this build of cloze has no image codecs (configure with -DCLOZE_IMAGE_CODECS=ON)");
#endif
}

}  // namespace cloze
