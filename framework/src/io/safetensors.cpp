// Reading and writing safetensors files: an 8-byte little-endian header
// length, a JSON header padded with spaces to a multiple of 8 bytes, then the
// tensors' bytes, laid out in header order with no gaps.
#include "cloze/io/safetensors.h"

#include <ATen/Functions.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "cloze/core/error.h"

namespace cloze {

namespace {

// The header length and the tensors' bytes are little-endian on disk and are
// copied to and from memory as they are.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "cloze's safetensors code assumes a little-endian host");

// The reference implementation refuses larger headers; so does cloze, before
// allocating for one that a corrupt length field claims.
constexpr uint64_t max_header_bytes = uint64_t{100} << 20;

struct DtypeName {
  at::ScalarType type;
  const char* name;
};

constexpr DtypeName dtype_names[] = {
    {at::kFloat, "F32"}, {at::kHalf, "F16"}, {at::kBFloat16, "BF16"}, {at::kDouble, "F64"}, {at::kLong, "I64"},
    {at::kInt, "I32"},   {at::kShort, "I16"}, {at::kChar, "I8"},       {at::kByte, "U8"},    {at::kBool, "BOOL"},
};

const char* name_of(at::ScalarType type) {
  for (const auto& entry : dtype_names)
    if (entry.type == type) return entry.name;
  return nullptr;
}

std::optional<at::ScalarType> dtype_named(const std::string& name) {
  for (const auto& entry : dtype_names)
    if (name == entry.name) return entry.type;
  return std::nullopt;
}

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw Error(path.string() + ": " + what);
}

void write_all(int fd, const void* data, std::size_t size, const std::filesystem::path& path) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd, bytes, size);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) fail(path, std::string("write failed: ") + std::strerror(errno));
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
}

// The header of `tensors`, with each tensor's data_offsets in map order.
std::string header_of(const std::filesystem::path& path, const std::vector<std::pair<std::string, at::Tensor>>& data,
                      const Metadata& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : data) {
    const uint64_t bytes = tensor.nbytes();
    header[name] = {{"dtype", name_of(tensor.scalar_type())},
                    {"shape", tensor.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    fail(path, std::string("cannot write the header: ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // so that 8 + N is a multiple of 8
  return text;
}

}  // namespace

void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors, const Metadata& metadata) {
  std::vector<std::pair<std::string, at::Tensor>> data;
  data.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") fail(path, "a tensor may not be named __metadata__");
    if (!tensor.defined()) fail(path, "tensor '" + name + "' is undefined");
    if (!name_of(tensor.scalar_type()))
      fail(path, "tensor '" + name + "' is " + std::string(c10::toString(tensor.scalar_type())) +
                     ", which safetensors cannot store");
    data.emplace_back(name, tensor.detach().to(at::kCPU).contiguous());
  }
  const std::string header = header_of(path, data, metadata);

  // A unique name in the same folder, so the rename is atomic and two savers
  // in one process never share a temporary.
  static std::atomic<uint64_t> counter{0};
  const std::filesystem::path temp = path.parent_path() / ("." + path.filename().string() + ".tmp-" +
                                                           std::to_string(::getpid()) + "-" +
                                                           std::to_string(counter++));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) fail(path, "cannot create " + temp.string() + ": " + std::strerror(errno));
  try {
    const uint64_t header_size = header.size();
    write_all(fd, &header_size, sizeof header_size, path);
    write_all(fd, header.data(), header.size(), path);
    for (const auto& entry : data) write_all(fd, entry.second.data_ptr(), entry.second.nbytes(), path);
    if (::fsync(fd) != 0) fail(path, std::string("fsync failed: ") + std::strerror(errno));
    if (::close(fd) != 0) {
      ::unlink(temp.c_str());
      fail(path, std::string("close failed: ") + std::strerror(errno));
    }
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  std::error_code error;
  std::filesystem::rename(temp, path, error);
  if (error) {
    ::unlink(temp.c_str());
    fail(path, "cannot rename " + temp.string() + " over it: " + error.message());
  }
  // Make the rename itself durable; a folder that cannot be opened only loses that.
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : ".";
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

namespace {

struct Entry {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

uint64_t unsigned_at(const std::filesystem::path& path, const std::string& what, const nlohmann::json& value) {
  if (!value.is_number_unsigned()) fail(path, what + " must be a non-negative integer, not " + value.dump());
  return value.get<uint64_t>();
}

Entry entry_of(const std::filesystem::path& path, const std::string& name, const nlohmann::json& info,
               uint64_t buffer_size) {
  const std::string where = "tensor '" + name + "'";
  if (!info.is_object()) fail(path, where + " is described by " + info.dump() + ", not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!info.contains(key)) fail(path, where + " has no \"" + key + "\"");

  const nlohmann::json& dtype = info["dtype"];
  const auto type = dtype.is_string() ? dtype_named(dtype.get<std::string>()) : std::nullopt;
  if (!type) fail(path, where + " has unknown dtype " + dtype.dump());

  const nlohmann::json& shape = info["shape"];
  if (!shape.is_array()) fail(path, where + ": shape " + shape.dump() + " is not an array");
  Entry entry{name, *type, {}, 0, 0};
  uint64_t bytes = c10::elementSize(*type);
  for (const auto& extent : shape) {
    const uint64_t n = unsigned_at(path, where + ": each extent of the shape", extent);
    if (n > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(bytes, n, &bytes))
      fail(path, where + ": shape " + shape.dump() + " is too large");
    entry.shape.push_back(static_cast<int64_t>(n));
  }

  const nlohmann::json& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    fail(path, where + ": data_offsets " + offsets.dump() + " is not [begin, end]");
  entry.begin = unsigned_at(path, where + ": data_offsets", offsets[0]);
  entry.end = unsigned_at(path, where + ": data_offsets", offsets[1]);
  if (entry.begin > entry.end || entry.end > buffer_size)
    fail(path, where + ": data_offsets " + offsets.dump() + " are out of range of the " + std::to_string(buffer_size) +
                   "-byte data buffer");
  if (entry.end - entry.begin != bytes)
    fail(path, where + ": data_offsets " + offsets.dump() + " span " + std::to_string(entry.end - entry.begin) +
                   " bytes, but shape " + shape.dump() + " of " + dtype.get<std::string>() + " needs " +
                   std::to_string(bytes));
  return entry;
}

}  // namespace

SafetensorsFile load_safetensors(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::error_code error;
  const uint64_t file_size = std::filesystem::file_size(path, error);
  if (error) fail(path, "cannot read its size: " + error.message());
  if (file_size < 8) fail(path, "is " + std::to_string(file_size) + " bytes, too short for a safetensors file");

  uint64_t header_size = 0;
  in.read(reinterpret_cast<char*>(&header_size), sizeof header_size);
  if (header_size > file_size - 8)
    fail(path, "header length " + std::to_string(header_size) + " runs past the end of the file (" +
                   std::to_string(file_size) + " bytes); is it truncated?");
  if (header_size > max_header_bytes)
    fail(path, "header length " + std::to_string(header_size) + " is over the limit of " +
                   std::to_string(max_header_bytes) + " bytes");
  std::string text(header_size, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(header_size))) fail(path, "cannot read the header");
  if (text.empty() || text[0] != '{') fail(path, "header does not start with '{'");

  // nlohmann keeps the last of duplicate keys silently; the format forbids them.
  std::set<std::string> names;
  std::string duplicate;
  const auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key && !names.insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, on_event);
  } catch (const nlohmann::json::exception& e) {
    fail(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(path, "header is not a JSON object");
  if (!duplicate.empty()) fail(path, "header names '" + duplicate + "' twice");

  const uint64_t buffer_size = file_size - 8 - header_size;
  SafetensorsFile result;
  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name != "__metadata__") {
      entries.push_back(entry_of(path, name, info, buffer_size));
      continue;
    }
    if (!info.is_object()) fail(path, "__metadata__ is not an object");
    for (const auto& [key, value] : info.items()) {
      if (!value.is_string()) fail(path, "__metadata__ value of '" + key + "' is " + value.dump() + ", not a string");
      result.metadata[key] = value.get<std::string>();
    }
  }

  // The tensors must tile the buffer exactly: no overlaps, no holes.
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t expected = 0;
  for (const auto& entry : entries) {
    if (entry.begin != expected)
      fail(path, "tensor '" + entry.name + "' starts at byte " + std::to_string(entry.begin) +
                     " of the data buffer, " + (entry.begin < expected ? "overlapping" : "leaving a gap after") +
                     " the tensor before it (which ends at " + std::to_string(expected) + ")");
    expected = entry.end;
  }
  if (expected != buffer_size)
    fail(path, "data buffer is " + std::to_string(buffer_size) + " bytes, but the tensors cover only " +
                   std::to_string(expected));

  // In offset order the reads run straight through the file.
  for (const auto& entry : entries) {
    at::Tensor tensor = at::empty(entry.shape, at::TensorOptions().dtype(entry.dtype));
    const auto bytes = static_cast<std::streamsize>(entry.end - entry.begin);
    if (bytes > 0 && !in.read(static_cast<char*>(tensor.data_ptr()), bytes))
      fail(path, "cannot read the data of tensor '" + entry.name + "'");
    result.tensors.emplace(entry.name, std::move(tensor));
  }
  return result;
}

}  // namespace cloze
