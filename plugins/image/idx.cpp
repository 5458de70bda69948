#include "idx.h"

#include <ATen/Functions.h>
#include <opencv2/core.hpp>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cloze/core/error.h"
#include "square.h"

namespace cloze::image {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t images_magic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t labels_magic = 0x00000801;  // unsigned bytes, 1 dimension

const std::vector<std::string> fashion_mnist_classes = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

std::string hex(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

// The whole file, decompressed when it is gzipped (gzread passes plain files
// through unchanged).
std::vector<uint8_t> read_file(const fs::path& path) {
  errno = 0;
  const std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) throw Error(path.string() + ": cannot open: " + std::strerror(errno ? errno : ENOMEM));
  gzbuffer(file.get(), 1 << 20);
  std::vector<uint8_t> bytes;
  constexpr unsigned chunk = 1 << 22;
  for (;;) {
    const std::size_t used = bytes.size();
    bytes.resize(used + chunk);
    const int got = gzread(file.get(), bytes.data() + used, chunk);
    if (got < 0) {
      int code = 0;
      throw Error(path.string() + ": cannot read: " + gzerror(file.get(), &code));
    }
    bytes.resize(used + static_cast<std::size_t>(got));
    if (got == 0) break;
  }
  int code = Z_OK;
  const char* message = gzerror(file.get(), &code);
  if (code != Z_OK) throw Error(path.string() + ": cannot read: " + message);  // e.g. a truncated .gz
  return bytes;
}

uint32_t big_endian_u32(const uint8_t* at) {
  return uint32_t{at[0]} << 24 | uint32_t{at[1]} << 16 | uint32_t{at[2]} << 8 | uint32_t{at[3]};
}

// An IDX array of unsigned bytes: its dimensions and a pointer to its values.
struct IdxArray {
  std::vector<uint8_t> bytes;
  std::vector<int64_t> dims;
  std::size_t values_offset = 0;

  const uint8_t* values() const { return bytes.data() + values_offset; }
};

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string text;
  for (const int64_t d : dims) text += (text.empty() ? "" : " x ") + std::to_string(d);
  return text;
}

IdxArray read_idx(const fs::path& path, uint32_t magic, const std::string& what) {
  IdxArray array;
  array.bytes = read_file(path);
  const std::size_t size = array.bytes.size();
  const std::size_t rank = magic & 0xff;
  const std::size_t header = 4 + 4 * rank;
  if (size < 4) throw Error(path.string() + ": holds " + std::to_string(size) + " bytes, too short for an IDX header");
  const uint32_t found = big_endian_u32(array.bytes.data());
  if (found != magic)
    throw Error(path.string() + ": magic number " + hex(found) + ", expected " + hex(magic) + " (IDX unsigned-byte " +
                what + ")");
  if (size < header)
    throw Error(path.string() + ": truncated: holds " + std::to_string(size) + " bytes, the header of " +
                std::to_string(rank) + " dimensions needs " + std::to_string(header));
  std::size_t count = 1;
  bool overflow = false;
  for (std::size_t i = 0; i < rank; ++i) {
    const uint32_t dim = big_endian_u32(array.bytes.data() + 4 + 4 * i);
    array.dims.push_back(dim);
    overflow |= __builtin_mul_overflow(count, std::size_t{dim}, &count);
  }
  if (std::find(array.dims.begin() + 1, array.dims.end(), 0) != array.dims.end())
    throw Error(path.string() + ": the header's dimensions " + dims_text(array.dims) + " include an empty one");
  // Checked before the size comparison below: a product that wrapped around
  // (2^16 x 2^24 x 2^24 = 2^64 = 0) would pass it and the images be read far
  // past the file's bytes (found while writing tests/fuzz/fuzz_idx).
  if (overflow)
    throw Error(path.string() + ": the header's dimensions " + dims_text(array.dims) + " hold more than " +
                std::to_string(SIZE_MAX) + " values");
  array.values_offset = header;
  const std::size_t values = size - header;
  if (values < count)
    throw Error(path.string() + ": truncated: holds " + std::to_string(values) + " bytes of " + what +
                ", its header's " + dims_text(array.dims) + " needs " + std::to_string(count));
  if (values > count)
    throw Error(path.string() + ": holds " + std::to_string(values - count) + " bytes after the " +
                dims_text(array.dims) + " " + what + " its header announces");
  return array;
}

// `name` or `name.gz`, whichever the folder holds (the plain one first).
fs::path find_file(const fs::path& folder, const std::string& name) {
  for (const fs::path& candidate : {folder / name, folder / (name + ".gz")})
    if (fs::is_regular_file(candidate)) return candidate;
  throw Error(folder.string() + ": holds neither " + name + " nor " + name + ".gz (an IDX folder needs " +
              "{train,t10k}-images-idx3-ubyte and {train,t10k}-labels-idx1-ubyte)");
}

// [S, H, W] unsigned bytes -> [S, C, side, side] uint8.
at::Tensor to_pixels(const IdxArray& images, const DecodeOptions& options) {
  const int64_t count = images.dims[0], rows = images.dims[1], cols = images.dims[2];
  const int64_t side = options.image_size == 0 ? rows : options.image_size;
  at::Tensor grey = at::empty({count, 1, side, side}, at::kByte);
  if (side == rows && side == cols) {
    std::memcpy(grey.data_ptr<uint8_t>(), images.values(), static_cast<std::size_t>(count * rows * cols));
  } else {
    for (int64_t i = 0; i < count; ++i) {
      const cv::Mat picture(static_cast<int>(rows), static_cast<int>(cols), CV_8UC1,
                            const_cast<uint8_t*>(images.values() + i * rows * cols));
      grey[i].copy_(to_planes(to_square(picture, static_cast<int>(side))));
    }
  }
  return options.channels == 1 ? grey : grey.expand({count, options.channels, side, side}).contiguous();
}

Images read_split(const fs::path& folder, const std::string& prefix, const DecodeOptions& options) {
  const fs::path images_path = find_file(folder, prefix + "-images-idx3-ubyte");
  const fs::path labels_path = find_file(folder, prefix + "-labels-idx1-ubyte");
  const IdxArray images = read_idx(images_path, images_magic, "images");
  const IdxArray labels = read_idx(labels_path, labels_magic, "labels");
  if (images.dims[0] != labels.dims[0])
    throw Error(images_path.string() + " holds " + std::to_string(images.dims[0]) + " images but " +
                labels_path.string() + " " + std::to_string(labels.dims[0]) + " labels");
  if (images.dims[0] == 0) throw Error(images_path.string() + ": holds no images");
  if (options.image_size == 0 && images.dims[1] != images.dims[2])
    throw Error(images_path.string() + ": its images are " + dims_text({images.dims[1], images.dims[2]}) +
                ", not square; set image_size to crop them square");
  const at::Tensor label_bytes =
      at::from_blob(const_cast<uint8_t*>(labels.values()), {labels.dims[0]}, at::kByte);
  return Images{to_pixels(images, options), label_bytes.to(at::kLong)};
}

std::vector<std::string> class_names_of(const fs::path& folder, const Images& train, const Images& eval) {
  const int64_t classes = std::max(train.labels.max().item<int64_t>(), eval.labels.max().item<int64_t>()) + 1;
  const fs::path name = (folder / "").parent_path().filename();  // "fashion-mnist" for ".../fashion-mnist/"
  if (name == "fashion-mnist" && classes <= static_cast<int64_t>(fashion_mnist_classes.size()))
    return fashion_mnist_classes;
  std::vector<std::string> names;
  for (int64_t i = 0; i < classes; ++i) names.push_back(std::to_string(i));
  return names;
}

}  // namespace

bool holds_idx(const fs::path& folder) {
  const std::string name = "train-images-idx3-ubyte";
  return fs::is_regular_file(folder / name) || fs::is_regular_file(folder / (name + ".gz"));
}

LabelledImages read_idx_folder(const fs::path& folder, const DecodeOptions& options) {
  LabelledImages data;
  data.train = read_split(folder, "train", options);
  data.eval = read_split(folder, "t10k", options);
  data.class_names = class_names_of(folder, data.train, data.eval);
  return data;
}

}  // namespace cloze::image
