// The image modality: its parameter schema, the Modality that turns IDX files
// (decoded once into memory) or a folder of pictures (decoded batch by batch
// in the loader threads) into normalised p x p x C patches on an [S/p, S/p]
// grid, and the plugin entry point.
#include <ATen/Functions.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "channel_stats.h"
#include "cloze/core/error.h"
#include "cloze/core/plugin.h"
#include "cloze/data/patches.h"
#include "cloze/data/plane_dataset.h"
#include "cloze/data/streamed_planes.h"
#include "cloze/inspect/patch_preview.h"
#include "cloze/inspect/picture.h"
#include "folder.h"
#include "idx.h"
#include "images.h"

namespace cloze::image {

namespace {

constexpr int64_t max_image_size = 8192;
constexpr int64_t picture_side = 112;  // pixels a preview picture's panel is scaled up to, about

Schema schema() {
  Schema schema{
      {"path", ParamType::string, std::string("/usr/share/datasets/fashion-mnist"),
       "a folder of IDX files or of images"},
      ParamSpec{"format", ParamType::string, std::string("auto"),
                "\"idx\", \"folder\" or \"auto\" (idx when the folder holds train-images-idx3-ubyte[.gz])"}
          .one_of({"auto", "idx", "folder"}),
      ParamSpec{
          "image_size", ParamType::integer, int64_t{0},
          "side of the square images after resize and center crop; 0 = the data's own size (IDX only; a folder needs a "
          "size)"}
          .within(0, max_image_size),
      ParamSpec{"channels", ParamType::integer, int64_t{1}, "1 grey or 3 RGB"}.within(1, 3),
      ParamSpec{"patch_size", ParamType::integer, int64_t{4}, "patch side p; must divide image_size"}.at_least(1),
      ParamSpec{"normalize", ParamType::string, std::string("dataset"),
                "\"dataset\" (per-channel mean and std of the train split; a folder's from up to 1,024 of its "
                "pictures), \"imagenet\" (MAE's constants) or \"none\" (pixels in [0, 1])"}
          .one_of({"dataset", "imagenet", "none"}),
      {"norm_pix", ParamType::boolean, true,
       "targets are each patch normalised to zero mean, unit variance (MAE's norm_pix_loss)"},
      ParamSpec{"augment", ParamType::string, std::string("none"),
                "training pictures of a folder: \"none\" (resize and centre crop, as eval) or \"mae\" (MAE's "
                "RandomResizedCrop, scale 0.2 to 1, and horizontal flip, drawn per seed, epoch and sample)"}
          .one_of({"none", "mae"}),
  };
  for (auto& spec : labelled_split_schema("pictures")) schema.push_back(std::move(spec));
  return schema;
}

void validate(const Params& params) {
  const auto& path = params.string("path");
  params.require(std::filesystem::is_directory(path), "path", path + ": no such folder");
  const int64_t image_size = params.integer("image_size");
  params.require(params.integer("channels") == 1 || params.integer("channels") == 3, "channels",
                 "must be 1 (grey) or 3 (RGB)");
  params.require(image_size == 0 || image_size % params.integer("patch_size") == 0, "patch_size",
                 "must divide image_size " + std::to_string(image_size));
}

bool reads_idx(const Params& params) {
  return params.string("format") == "idx" ||
         (params.string("format") == "auto" && holds_idx(params.string("path")));
}

// Runs `read`, naming the config key the folder came from in its errors.
template <typename Read>
auto reading_path(const Params& params, Read read) {
  try {
    return read();
  } catch (const Error& e) {
    params.require(false, "path", e.what());
    throw;
  }
}

ChannelStats stats_for(const std::string& normalize, int64_t channels, const std::function<at::Tensor()>& train) {
  if (normalize == "dataset") return dataset_stats(train());
  if (normalize == "imagenet") return imagenet_stats(channels);
  return identity_stats(channels);
}

// (pixels / 255 - mean) / std per channel, as one multiply-add in place on
// the float units (channel innermost, patches.h).
PlaneDataset::Normalize normalizer(const ChannelStats& stats) {
  std::vector<double> scale, shift;
  for (std::size_t c = 0; c < stats.mean.size(); ++c) {
    scale.push_back(1.0 / (255.0 * stats.std[c]));
    shift.push_back(stats.mean[c] / stats.std[c]);
  }
  const at::Tensor scale_channels = at::tensor(scale, at::kDouble).to(at::kFloat);  // [C]
  const at::Tensor shift_channels = at::tensor(shift, at::kDouble).to(at::kFloat);  // [C]
  return [scale_channels, shift_channels](const at::Tensor& pixels) {
    at::Tensor units = pixels.to(at::kFloat);
    units.view({-1, scale_channels.size(0)}).mul_(scale_channels).sub_(shift_channels);
    return units;
  };
}

class ImageModality final : public Modality {
 public:
  ImageModality(const Params& params, const ModalityContext& context)
      : patch_(params.integer("patch_size")),
        channels_(params.integer("channels")),
        norm_pix_(params.boolean("norm_pix")) {
    validate(params);
    if (reads_idx(params))
      load_idx(params);
    else
      stream_folder(params, context);
  }

  UnitSpec units() const override {
    UnitSpec spec;
    spec.kind = UnitKind::continuous;
    spec.unit_dim = patch_ * patch_ * channels_;
    spec.normalize_targets = norm_pix_;
    // Pixels span [0, 1] before (x - mean) / std: 1 / std after, the widest channel's.
    spec.value_range = 1.0 / *std::min_element(stats_.std.begin(), stats_.std.end());
    return spec;
  }

  Grid grid() const override { return patch_grid(side_, side_, patch_); }

  std::shared_ptr<Dataset> dataset(Split split) const override { return split == Split::train ? train_ : eval_; }

  std::string preview(const Batch& batch, const Corrupted& corrupted, int64_t row) const override {
    return patch_preview(class_names_, batch, corrupted, row);
  }

  bool write_picture(const Batch& batch, const Corrupted& corrupted, const Corrupted* reconstructed, int64_t row,
                     const std::filesystem::path& path) const override {
    const at::Tensor mean = at::tensor(stats_.mean, at::kDouble).to(at::kFloat);  // [C]
    const at::Tensor std = at::tensor(stats_.std, at::kDouble).to(at::kFloat);    // [C]
    const int64_t channels = channels_;
    PatchLayout layout;
    layout.patch = patch_;
    layout.channels = channels_;
    layout.scale = std::max<int64_t>(1, picture_side / side_);
    // Units [..., p*p*C] hold channels innermost (patches.h): undo (x - mean) / std per channel.
    layout.to_display = [mean, std, channels](const at::Tensor& units) {
      const at::Tensor values = units.reshape({-1, channels});
      return (values * std.to(units.device()) + mean.to(units.device())).reshape(units.sizes());
    };
    write_patch_picture(batch, corrupted, reconstructed, row, layout, path);
    return true;
  }

 private:
  // IDX files, decoded once into memory.
  void load_idx(const Params& params) {
    params.require(params.string("augment") == "none", "augment",
                   "augments the pictures of a folder; IDX images are decoded once, as they are");
    const DecodeOptions options{params.integer("image_size"), params.integer("channels")};
    LabelledImages data = reading_path(params, [&] { return read_idx_folder(params.string("path"), options); });
    Images& train = data.train;
    Images& eval = data.eval;
    class_names_ = std::move(data.class_names);
    side_ = train.pixels.size(2);
    params.require(side_ % patch_ == 0, "patch_size",
                   "must divide the images' side " + std::to_string(side_) + " (their own size; image_size = 0)");
    cloze::keep_first(train.pixels, train.labels, params.integer("max_train"));
    cloze::keep_first(eval.pixels, eval.labels, params.integer("max_eval"));
    stats_ = stats_for(params.string("normalize"), channels_, [&] { return train.pixels; });
    train_ = std::make_shared<PlaneDataset>("image", train.pixels, train.labels, patch_, normalizer(stats_));
    eval_ = std::make_shared<PlaneDataset>("image", eval.pixels, eval.labels, patch_, normalizer(stats_));
  }

  // A folder of pictures, listed now and decoded batch by batch.
  void stream_folder(const Params& params, const ModalityContext& context) {
    const std::string path = params.string("path");
    side_ = params.integer("image_size");
    params.require(side_ > 0, "image_size",
                   "a folder of pictures needs a size to bring them all to (0 keeps IDX images as they are)");
    LabelledFolder listing = reading_path(params, [&] {
      return list_picture_folder(path, params.real("eval_fraction"), *context.bad_samples);
    });
    keep_first(listing.train, params.integer("max_train"));
    keep_first(listing.eval, params.integer("max_eval"));
    class_names_ = std::move(listing.class_names);
    const auto reader = reading_path(params, [&] { return picture_reader({side_, channels_}); });
    const StreamedPlanes::Options options{path, side_, side_, patch_, params.string("augment") == "mae",
                                          context.seed};
    StreamedSplits splits = stream_splits(
        std::move(listing), reader, options,
        [&](const StreamedPlanes& train) {
          stats_ = stats_for(params.string("normalize"), channels_, [&] { return train.statistics_sample(); });
          return normalizer(stats_);
        },
        context.bad_samples);
    train_ = std::move(splits.train);
    eval_ = std::move(splits.eval);
  }

  int64_t patch_;
  int64_t channels_;
  bool norm_pix_;
  int64_t side_ = 0;  // of the square images, in pixels
  ChannelStats stats_;
  std::vector<std::string> class_names_;
  std::shared_ptr<Dataset> train_;
  std::shared_ptr<Dataset> eval_;
};

}  // namespace

}  // namespace cloze::image

CLOZE_PLUGIN(registry) {
  registry.add_modality<cloze::image::ImageModality>(
      "image", "square images from IDX files (Fashion-MNIST) or a folder of PNG/JPEG, as normalised p x p x C patches",
      cloze::image::schema());
}
