// Temporary names and the rename that publishes a cache entry.
#include "atomic_write.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <system_error>

#include "cloze/error.h"

namespace cloze::text {

std::filesystem::path temporary_path_for(const std::filesystem::path& target) {
  static std::atomic<uint64_t> counter{0};
  return target.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

void publish(const std::filesystem::path& temporary, const std::filesystem::path& target) {
  std::error_code error;
  std::filesystem::rename(temporary, target, error);
  if (!error) return;
  std::error_code ignored;
  std::filesystem::remove_all(temporary, ignored);
  if (!std::filesystem::exists(target, ignored))
    throw Error("text: cannot write " + target.string() + ": " + error.message());
}

void write_file_atomically(const std::filesystem::path& target, std::string_view bytes) {
  const auto temporary = temporary_path_for(target);
  {
    std::ofstream out(temporary, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) throw Error("text: cannot write " + temporary.string());
  }
  publish(temporary, target);
}

}  // namespace cloze::text
