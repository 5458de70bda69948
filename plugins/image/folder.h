// A folder of PNG and JPEG pictures, labelled by sub-folder, as torchvision's
// ImageFolder reads it:
//
//   FOLDER/<class>/.../*.png            split by a fixed hash of each file's path
//   FOLDER/train/<class>/.../*.png      with FOLDER/val (or eval, or test)/<class>/...
//
// Classes are the sorted names of the (train) folder's sub-folders; label i is
// the i-th. Pictures lying directly in the folder are unlabelled (-1). The
// folder may also hold WebDataset's tar shards (KEY.jpg with KEY.cls; see
// cloze/data/labelled_folder.h). The pictures are listed up front and
// decoded as batches ask for them (cloze/data/streamed_planes.h), so a
// folder may be far larger than memory.
#pragma once

#include <filesystem>

#include "cloze/data/labelled_folder.h"
#include "cloze/data/streamed_planes.h"
#include "images.h"

namespace cloze::image {

// The .png, .jpg and .jpeg files of `folder` and of its shards, and their
// splits (see labelled_folder.h); shards cut short go to `bad_samples`.
// Throws cloze::Error naming the folder when it does not exist or holds no
// pictures, and naming an eval class sub-folder that train lacks.
LabelledFolder list_picture_folder(const std::filesystem::path& folder, double eval_fraction,
                                   BadSamples& bad_samples);

// Reads a picture at options.image_size (> 0) and options.channels as
// [C, S, S] uint8 RGB: with draws, MAE's crop and flip (augment.h); without,
// the shorter side resized to S and the centre cropped (square.h). A file
// OpenCV cannot decode (empty, truncated, not an image) and a damaged PNG
// (png_check.h, caught before libpng prints to stderr) give an undefined
// tensor and the reason. Throws cloze::Error when cloze was built without
// OpenCV's imgcodecs.
StreamedPlanes::Reader picture_reader(const DecodeOptions& options);

}  // namespace cloze::image
