#include "spectrogram_dataset.h"

#include <ATen/Functions.h>

#include <string>
#include <utility>

#include "cloze/error.h"
#include "cloze/patches.h"

namespace cloze::audio {

SpectrogramDataset::SpectrogramDataset(Spectrograms spectrograms, int64_t patch)
    : spectrograms_(std::move(spectrograms)),
      patch_(patch),
      grid_(patch_grid(spectrograms_.values.size(1), spectrograms_.values.size(2), patch)) {}

Batch SpectrogramDataset::collate(const std::vector<int64_t>& indices) const {
  const auto rows = static_cast<int64_t>(indices.size());
  for (const int64_t index : indices)
    if (index < 0 || index >= size())
      throw Error("audio: sample " + std::to_string(index) + " is outside the split's " + std::to_string(size()) +
                  " samples");
  const at::Tensor index = at::tensor(indices, at::kLong);
  const at::Tensor planes = spectrograms_.values.index_select(0, index).unsqueeze(1);  // [B, 1, n_mels, frames]
  Batch batch;
  batch.units = patchify(planes, patch_);  // [B, N, p*p]
  batch.padding = at::zeros({rows, grid_.numel()}, at::kBool);
  batch.labels = spectrograms_.labels.index_select(0, index);
  batch.grid = grid_;
  batch.sample_ids = indices;
  return batch;
}

}  // namespace cloze::audio
