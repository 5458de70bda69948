// What the folder reader produces: the log-mel spectrograms of both splits,
// held in memory, and the names of the labels.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace cloze::audio {

// One split, decoded once at construction.
struct Spectrograms {
  at::Tensor values;  // [S, n_mels, frames] float32, contiguous; log-mel, later normalised in place
  at::Tensor labels;  // [S] int64, -1 where unlabelled
};

struct LabelledSpectrograms {
  Spectrograms train;
  Spectrograms eval;
  std::vector<std::string> class_names;  // label i is class_names[i]
};

}  // namespace cloze::audio
