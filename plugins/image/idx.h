// IDX files, the format of MNIST and Fashion-MNIST
// (http://yann.lecun.com/exdb/mnist/): a big-endian header (magic number
// 0x000008DD: unsigned bytes, DD dimensions; then each dimension's size as a
// uint32) followed by the values. Read gzipped or plain.
#pragma once

#include <filesystem>

#include "images.h"

namespace cloze::image {

// True when `folder` holds train-images-idx3-ubyte or its .gz.
bool holds_idx(const std::filesystem::path& folder);

// Reads the train (train-*) and eval (t10k-*) splits of an IDX folder:
// {train,t10k}-images-idx3-ubyte and {train,t10k}-labels-idx1-ubyte, each
// plain or .gz. Images are resized and centre-cropped to options.image_size
// unless it is 0 or already their size; grey is repeated to fill 3 channels.
// Labels are named after Fashion-MNIST's classes when the folder is called
// fashion-mnist, else "0", "1", ... Throws cloze::Error naming the file and
// what is wrong with it: missing, unreadable, a wrong magic number or
// dimension, shorter or longer than its header says, or image and label
// counts that differ.
LabelledImages read_idx_folder(const std::filesystem::path& folder, const DecodeOptions& options);

}  // namespace cloze::image
