// One split of planes held in memory (decoded pictures, spectrograms) as a
// Dataset of patch units: the modalities that decode everything up front
// differ only in what their planes hold and how values are normalised.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cloze/core/modality.h"

namespace cloze {

class PlaneDataset final : public Dataset {
 public:
  // Maps units [B, N, p*p*C] cut from the stored planes (their dtype, the
  // channel innermost) to normalised float32 values. Patches are cut first,
  // on the stored bytes, so a batch allocates its float units once: at ViT
  // sizes each float copy is tens of MB, past glibc's mmap threshold, and
  // every fresh one is paid for in page faults.
  using Normalize = std::function<at::Tensor(const at::Tensor&)>;

  // `planes`: [S, C, H, W], any dtype (uint8 pixels, float spectrograms);
  // `labels`: [S] int64, -1 where unlabelled; p must divide H and W. `who`
  // names the modality in errors.
  PlaneDataset(std::string who, at::Tensor planes, at::Tensor labels, int64_t patch, Normalize normalize);

  int64_t size() const override { return planes_.size(0); }

  // units [B, N, p*p*C] float32: normalize(patchify(planes[indices])), see
  // patches.h for the layout; padding [B, N] all false; labels [B]. Reads
  // shared tensors only, so any number of loader threads may call it at once.
  Batch collate(const std::vector<int64_t>& indices) const override;

 private:
  std::string who_;
  at::Tensor planes_, labels_;
  int64_t patch_;
  Grid grid_;
  Normalize normalize_;
};

// The batch of `planes` [B, C, H, W] at `indices`: units
// normalize(patchify(planes)) [B, N, p*p*C] on `grid`, no padding, `labels` [B].
Batch plane_batch(const at::Tensor& planes, at::Tensor labels, const std::vector<int64_t>& indices, int64_t patch,
                  const Grid& grid, const PlaneDataset::Normalize& normalize);

// Cuts a split to its first `limit` samples (all when 0), copying them so the
// rest is freed: the max_train / max_eval of modalities that decode up front.
void keep_first(at::Tensor& planes, at::Tensor& labels, int64_t limit);

// The parameters every modality that decodes a labelled folder up front
// shares: eval_fraction (of a folder without train/ and val/ sub-folders),
// max_train and max_eval (for keep_first). `samples` names what the folder
// holds, for the docs: "pictures", "clips".
Schema labelled_split_schema(const std::string& samples);

}  // namespace cloze
