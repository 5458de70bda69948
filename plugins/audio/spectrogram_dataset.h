// One split of log-mel spectrograms, collated into normalised patch units.
#pragma once

#include <cstdint>
#include <vector>

#include "cloze/modality.h"
#include "spectrograms.h"

namespace cloze::audio {

class SpectrogramDataset final : public Dataset {
 public:
  // `spectrograms.values` already normalised; p must divide n_mels and frames.
  SpectrogramDataset(Spectrograms spectrograms, int64_t patch);

  int64_t size() const override { return spectrograms_.values.size(0); }

  // units [B, N, p*p] float32: patchify of the spectrograms as planes
  // [B, 1, n_mels, frames], so grid row r holds mel bins [r p, (r+1) p) (row 0
  // the lowest) and column c frames [c p, (c+1) p); padding [B, N] all false;
  // labels [B]. Reads shared tensors only, so any number of loader threads may
  // call it at once.
  Batch collate(const std::vector<int64_t>& indices) const override;

 private:
  Spectrograms spectrograms_;
  int64_t patch_;
  Grid grid_;
};

}  // namespace cloze::audio
