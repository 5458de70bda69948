#include "clip_folder.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/data/labelled_folder.h"
#include "sound_file.h"

namespace cloze::audio {

namespace fs = std::filesystem;

namespace {

// Decodes `files` in parallel into one split, appending those it cannot read,
// with the reason, to `unreadable`.
Spectrograms decode(const std::vector<LabelledFile>& files, const LogMel& log_mel, int64_t sample_rate,
                    std::vector<BadSample>& unreadable) {
  const auto count = static_cast<int64_t>(files.size());
  std::vector<at::Tensor> decoded(files.size());  // [n_mels, frames] each, undefined when unreadable
  std::vector<std::string> errors(files.size());
  at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const auto slot = static_cast<std::size_t>(i);
      Sound sound = read_mono(files[slot].path, sample_rate);
      if (!sound.error.empty()) {
        errors[slot] = sound.error;
        continue;
      }
      decoded[slot] = log_mel(sound.samples);
    }
  });
  std::vector<at::Tensor> kept;
  std::vector<int64_t> labels;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (decoded[i].defined()) {
      kept.push_back(decoded[i]);
      labels.push_back(files[i].label);
    } else {
      unreadable.push_back({files[i].path, errors[i]});
    }
  }
  const auto rows = static_cast<int64_t>(kept.size());
  return Spectrograms{
      rows ? at::stack(kept) : at::empty({0, log_mel.options().mel.n_mels, log_mel.options().frames}, at::kFloat),
      at::tensor(labels, at::kLong).reshape({rows}),
  };
}

}  // namespace

LabelledSpectrograms read_clip_folder(const fs::path& folder, const LogMel& log_mel, int64_t sample_rate,
                                      double eval_fraction, BadSamples& bad_samples) {
  const LabelledFolder listing = list_labelled_folder(folder, {".wav", ".flac", ".ogg"}, eval_fraction);
  if (listing.train.empty() && listing.eval.empty())
    throw Error(folder.string() + ": holds no .wav, .flac or .ogg recordings");
  std::vector<BadSample> unreadable;
  LabelledSpectrograms data{decode(listing.train, log_mel, sample_rate, unreadable),
                            decode(listing.eval, log_mel, sample_rate, unreadable), listing.class_names};
  bad_samples.report(folder.string(), unreadable, static_cast<int64_t>(listing.train.size() + listing.eval.size()));
  if (data.train.values.size(0) == 0)
    throw Error(folder.string() + ": no readable train clips (" + std::to_string(unreadable.size()) +
                " files could not be read)");
  if (data.eval.values.size(0) == 0 && !listing.eval.empty())
    throw Error(folder.string() + ": none of the " + std::to_string(listing.eval.size()) + " eval clips could be read");
  return data;
}

}  // namespace cloze::audio
