// A read-only memory map of a whole file: the token cache is read through it,
// so every loader thread shares the page cache instead of a private copy.
#pragma once

#include <cstddef>
#include <filesystem>

namespace cloze::text {

class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);  // throws cloze::Error naming the path
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const void* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void* data_ = nullptr;  // null for an empty file, which cannot be mapped
  std::size_t size_ = 0;
};

}  // namespace cloze::text
