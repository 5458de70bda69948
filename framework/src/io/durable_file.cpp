#include "cloze/io/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include "cloze/core/error.h"

namespace cloze {
namespace {

constexpr std::string_view kTemporarySuffix = ".partial";

std::string reason(int error) { return std::strerror(error); }

// Owns a file descriptor; closing is checked explicitly where it matters.
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void write_all(int fd, const void* data, std::size_t size, const std::filesystem::path& target) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd, bytes, size);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) throw Error("cannot write " + target.string() + ": " + reason(errno));
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
}

// Makes the rename itself durable. Some file systems refuse fsync on a
// folder (EINVAL); the data is already on disk there, so that is not an error.
void sync_folder(const std::filesystem::path& folder, const std::filesystem::path& target) {
  Descriptor dir(::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return;
  if (::fsync(dir.get()) != 0 && errno != EINVAL && errno != EROFS)
    throw Error("cannot write " + target.string() + ": flushing its folder failed: " + reason(errno));
}

}  // namespace

std::filesystem::path temporary_for(const std::filesystem::path& target) {
  return target.parent_path() / (target.filename().string() + std::string(kTemporarySuffix));
}

void write_durably(const std::filesystem::path& target, const std::function<void(const ByteSink&)>& produce) {
  const std::filesystem::path temporary = temporary_for(target);
  try {
    Descriptor file(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (file.get() < 0) throw Error("cannot write " + target.string() + ": " + reason(errno));
    produce([&](const void* data, std::size_t size) { write_all(file.get(), data, size, target); });
    if (::fsync(file.get()) != 0) throw Error("cannot write " + target.string() + ": " + reason(errno));
    if (::close(file.release()) != 0) throw Error("cannot write " + target.string() + ": " + reason(errno));
    if (::rename(temporary.c_str(), target.c_str()) != 0)
      throw Error("cannot write " + target.string() + ": " + reason(errno));
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
  sync_folder(target.parent_path(), target);
}

void write_durably(const std::filesystem::path& target, std::string_view bytes) {
  write_durably(target, [&](const ByteSink& sink) { sink(bytes.data(), bytes.size()); });
}

void build_cache_entry(const std::filesystem::path& target,
                       const std::function<void(const std::filesystem::path&)>& build) {
  static std::atomic<uint64_t> calls{0};
  const std::filesystem::path temporary =
      target.string() + ".building." + std::to_string(::getpid()) + "." + std::to_string(calls++);
  std::error_code ignored;
  try {
    build(temporary);
  } catch (...) {
    std::filesystem::remove_all(temporary, ignored);
    throw;
  }
  std::error_code error;
  std::filesystem::rename(temporary, target, error);
  if (!error) return;
  std::filesystem::remove_all(temporary, ignored);
  if (!std::filesystem::exists(target, ignored))  // not another builder's entry: a real failure
    throw Error("cannot write " + target.string() + ": " + error.message());
}

int64_t remove_temporaries(const std::filesystem::path& dir) {
  int64_t removed = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > kTemporarySuffix.size() &&
        name.compare(name.size() - kTemporarySuffix.size(), kTemporarySuffix.size(), kTemporarySuffix) == 0 &&
        entry.is_regular_file()) {
      std::filesystem::remove(entry.path(), error);
      ++removed;
    }
  }
  return removed;
}

}  // namespace cloze
