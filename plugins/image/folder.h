// A folder of PNG and JPEG pictures, labelled by sub-folder, as torchvision's
// ImageFolder reads it:
//
//   FOLDER/<class>/.../*.png            split by a fixed hash of each file's path
//   FOLDER/train/<class>/.../*.png      with FOLDER/val (or eval, or test)/<class>/...
//
// Classes are the sorted names of the (train) folder's sub-folders; label i is
// the i-th. Pictures lying directly in the folder are unlabelled (-1).
#pragma once

#include <filesystem>

#include "cloze/data/bad_samples.h"
#include "images.h"

namespace cloze::image {

// Decodes every picture once into memory, at options.image_size (> 0) and
// options.channels. The files OpenCV cannot decode (empty, truncated, not an
// image) and damaged PNGs (png_check.h) go to `bad_samples`, with the reason,
// which throws or leaves them out as loader.on_bad_sample says. With no split
// sub-folders, `eval_fraction` of the files (on average, at least one of
// each split when there are two or more files and it is > 0) go to eval by a
// hash of their relative path, the same on every run and machine. Throws
// cloze::Error naming the folder when it does not exist, holds no pictures,
// or none of a split's pictures can be decoded, and naming an eval class
// sub-folder that train lacks.
LabelledImages read_image_folder(const std::filesystem::path& folder, const DecodeOptions& options,
                                 double eval_fraction, BadSamples& bad_samples);

}  // namespace cloze::image
