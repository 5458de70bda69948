// The audio modality: its parameter schema, the Modality that turns a folder
// of recordings into normalised p x p patches of log-mel spectrograms on an
// [n_mels/p, frames/p] grid, each recording read and cropped batch by batch
// in the loader threads, and the plugin entry point.
#include <ATen/Functions.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "clip_folder.h"
#include "cloze/core/error.h"
#include "cloze/core/plugin.h"
#include "cloze/data/patches.h"
#include "cloze/data/plane_dataset.h"
#include "cloze/data/streamed_planes.h"
#include "cloze/inspect/patch_preview.h"
#include "cloze/inspect/picture.h"
#include "log_mel.h"
#include "spectrogram_stats.h"

namespace cloze::audio {

namespace {

constexpr int64_t max_sample_rate = 384000;
constexpr int64_t max_n_fft = 65536;
constexpr int64_t picture_height = 200;  // pixels a preview picture's panel is scaled up to, about

Schema schema() {
  Schema schema{
      {"path", ParamType::string, std::string("data/spoken-digits"),
       "a folder of recordings (.wav, .flac, .ogg), one sub-folder per label"},
      ParamSpec{"sample_rate", ParamType::integer, int64_t{16000}, "Hz; recordings at another rate are resampled to it"}
          .within(1, max_sample_rate),
      ParamSpec{"n_fft", ParamType::integer, int64_t{400},
                "STFT window and FFT length in samples (400 = 25 ms at 16 kHz)"}
          .within(2, max_n_fft),
      ParamSpec{"hop", ParamType::integer, int64_t{160}, "STFT hop in samples (160 = 10 ms at 16 kHz); at most n_fft"}
          .at_least(1),
      ParamSpec{"n_mels", ParamType::integer, int64_t{64}, "mel bins (HTK mel scale)"}.at_least(1),
      ParamSpec{"fmin", ParamType::real, 0.0, "lowest filter edge in Hz"}.at_least(0),
      ParamSpec{"fmax", ParamType::real, 0.0, "highest filter edge in Hz; 0 = sample_rate / 2"}.at_least(0),
      ParamSpec{"frames", ParamType::integer, int64_t{96},
                "spectrogram frames per sample: a longer clip is cropped to them (eval: the centre; training: see "
                "crop), a shorter one padded with silence at the end"}
          .at_least(1),
      ParamSpec{"crop", ParamType::string, std::string("random"),
                "training crops of a longer clip: \"random\" (start uniform over the clip, drawn per seed, epoch and "
                "sample) or \"centre\" (as eval); only a crop's samples are read from the file"}
          .one_of({"random", "centre"}),
      ParamSpec{"patch_size", ParamType::integer, int64_t{8}, "patch side p; must divide n_mels and frames"}.at_least(
          1),
      {"norm_pix", ParamType::boolean, false,
       "targets are each patch normalised to zero mean, unit variance (MAE's norm_pix_loss)"},
  };
  for (auto& spec : labelled_split_schema("clips")) schema.push_back(std::move(spec));
  return schema;
}

double top_frequency(const Params& params) {
  const double fmax = params.real("fmax");
  return fmax == 0 ? static_cast<double>(params.integer("sample_rate")) / 2 : fmax;
}

void validate(const Params& params) {
  const auto& path = params.string("path");
  params.require(std::filesystem::is_directory(path), "path", path + ": no such folder");
  const int64_t sample_rate = params.integer("sample_rate"), n_fft = params.integer("n_fft");
  params.require(params.integer("hop") <= n_fft, "hop",
                 "must be at most n_fft = " + std::to_string(n_fft));
  params.require(params.integer("n_mels") <= n_fft / 2 + 1, "n_mels",
                 "must be at most n_fft / 2 + 1 = " + std::to_string(n_fft / 2 + 1));
  const double nyquist = static_cast<double>(sample_rate) / 2;
  params.require(params.real("fmin") < nyquist, "fmin", "must be below sample_rate / 2 = " + to_toml(nyquist));
  params.require(
      params.real("fmax") == 0 || (params.real("fmax") > params.real("fmin") && params.real("fmax") <= nyquist), "fmax",
      "must be 0 (sample_rate / 2) or in (fmin, sample_rate / 2]");
  const int64_t patch = params.integer("patch_size");
  params.require(params.integer("n_mels") % patch == 0, "patch_size",
                 "must divide n_mels " + std::to_string(params.integer("n_mels")));
  params.require(params.integer("frames") % patch == 0, "patch_size",
                 "must divide frames " + std::to_string(params.integer("frames")));
}

SpectrogramOptions spectrogram_options(const Params& params) {
  SpectrogramOptions options;
  options.mel.sample_rate = params.integer("sample_rate");
  options.mel.n_fft = params.integer("n_fft");
  options.mel.n_mels = params.integer("n_mels");
  options.mel.fmin = params.real("fmin");
  options.mel.fmax = top_frequency(params);
  options.hop = params.integer("hop");
  return options;
}

// A mel filter narrower than the FFT's bin spacing catches no bin and would
// give a constant row: refused, as torchaudio warns of it.
void require_no_empty_filter(const Params& params, const at::Tensor& filterbank) {
  const at::Tensor empty = (filterbank.sum(1) == 0).nonzero();
  if (empty.numel() == 0) return;
  params.require(false, "n_mels",
                 "mel filter " + std::to_string(empty[0][0].item<int64_t>()) +
                     " falls between two FFT bins and catches none; use fewer mels, a larger n_fft or a higher fmin");
}

LabelledFolder list(const Params& params, BadSamples& bad_samples) {
  try {
    return list_clip_folder(params.string("path"), params.real("eval_fraction"), bad_samples);
  } catch (const Error& e) {
    params.require(false, "path", e.what());  // names the config key the folder came from
    throw;
  }
}

// (x - mean) / std with the train split's level, into one new tensor.
PlaneDataset::Normalize normalizer(const LevelStats& stats) {
  return [stats](const at::Tensor& values) { return at::sub(values, stats.mean).div_(stats.std); };
}

class AudioModality final : public Modality {
 public:
  AudioModality(const Params& params, const ModalityContext& context)
      : patch_(params.integer("patch_size")),
        n_mels_(params.integer("n_mels")),
        frames_(params.integer("frames")),
        norm_pix_(params.boolean("norm_pix")) {
    validate(params);
    const auto log_mel = std::make_shared<const LogMel>(spectrogram_options(params));
    require_no_empty_filter(params, log_mel->filterbank());
    LabelledFolder listing = list(params, *context.bad_samples);
    keep_first(listing.train, params.integer("max_train"));
    keep_first(listing.eval, params.integer("max_eval"));
    class_names_ = std::move(listing.class_names);
    // Planes [1, n_mels, frames]: grid row r holds mel bins [r p, (r + 1) p),
    // row 0 the lowest.
    const StreamedPlanes::Reader reader = clip_reader(log_mel, frames_);
    const StreamedPlanes::Options options{params.string("path"), n_mels_, frames_, patch_,
                                          params.string("crop") == "random", context.seed};
    // The level, the picture's range and the PSNR's value range, all from
    // the centre crops of up to 1,024 train clips.
    StreamedSplits splits = stream_splits(
        std::move(listing), reader, options,
        [&](const StreamedPlanes& train) {
          const at::Tensor sample = train.statistics_sample();
          stats_ = level_stats(sample);
          const at::Tensor normalised = normalizer(stats_)(sample);
          display_ = display_range(normalised);
          value_range_ = (normalised.max() - normalised.min()).item<double>();
          return normalizer(stats_);
        },
        context.bad_samples);
    train_ = std::move(splits.train);
    eval_ = std::move(splits.eval);
  }

  UnitSpec units() const override {
    UnitSpec spec;
    spec.kind = UnitKind::continuous;
    spec.unit_dim = patch_ * patch_;
    spec.normalize_targets = norm_pix_;
    spec.value_range = value_range_;
    return spec;
  }

  Grid grid() const override { return patch_grid(n_mels_, frames_, patch_); }

  std::shared_ptr<Dataset> dataset(Split split) const override { return split == Split::train ? train_ : eval_; }

  std::string preview(const Batch& batch, const Corrupted& corrupted, int64_t row) const override {
    return patch_preview(class_names_, batch, corrupted, row);
  }

  // Low mel bins are drawn at the bottom, as spectrograms are read.
  bool write_picture(const Batch& batch, const Corrupted& corrupted, const Corrupted* reconstructed, int64_t row,
                     const std::filesystem::path& path) const override {
    const double low = display_.low, span = display_.high - display_.low;
    PatchLayout layout;
    layout.patch = patch_;
    layout.channels = 1;
    layout.scale = std::max<int64_t>(1, picture_height / n_mels_);
    layout.bottom_up = true;  // low frequencies below, as spectrograms are read
    // Normalised values -> [0, 1]: the train split's 1st percentile black, its 99th white.
    layout.to_display = [low, span](const at::Tensor& units) { return ((units - low) / span).clamp(0, 1); };
    write_patch_picture(batch, corrupted, reconstructed, row, layout, path);
    return true;
  }

 private:
  int64_t patch_;
  int64_t n_mels_;
  int64_t frames_;
  bool norm_pix_;
  LevelStats stats_;
  DisplayRange display_;  // in normalised units
  double value_range_ = 0;  // max - min of the normalised statistics sample
  std::vector<std::string> class_names_;
  std::shared_ptr<Dataset> train_;
  std::shared_ptr<Dataset> eval_;
};

}  // namespace

}  // namespace cloze::audio

CLOZE_PLUGIN(registry) {
  registry.add_modality<cloze::audio::AudioModality>(
      "audio",
      "a folder of WAV/FLAC/OGG recordings as log-mel spectrograms cut into normalised p x p patches (Audio-MAE)",
      cloze::audio::schema());
}
