// Reading and writing the safetensors format, per its specification: an 8-byte
// little-endian header length N, a JSON header of N bytes (padded with spaces to
// a multiple of 8) mapping each tensor name to {dtype, shape, data_offsets}
// plus an optional "__metadata__" string map, then one contiguous byte buffer.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>

namespace cloze {

using TensorMap = std::map<std::string, at::Tensor>;
using Metadata = std::map<std::string, std::string>;

// Writes CPU copies of the tensors (any device, made contiguous) atomically:
// to a temporary file in the same folder, then renamed over `path`.
void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors, const Metadata& metadata = {});

struct SafetensorsFile {
  TensorMap tensors;  // CPU tensors owning their memory
  Metadata metadata;
};

// Throws cloze::Error naming the file on any malformed header, offset or dtype.
SafetensorsFile load_safetensors(const std::filesystem::path& path);

}  // namespace cloze
