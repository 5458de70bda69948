// Publishing cache entries atomically: an entry is built under a temporary name
// beside its target and renamed into place, so a reader never sees a
// half-written file or folder, and two builders racing for one key cannot
// corrupt it (the first rename wins; the other's copy is dropped).
#pragma once

#include <filesystem>
#include <string_view>

namespace cloze::text {

// A fresh name beside `target`, unique to this process and call.
std::filesystem::path temporary_path_for(const std::filesystem::path& target);

// Renames `temporary` (a file or folder) to `target`. If another builder
// published `target` first, drops `temporary` and keeps theirs.
void publish(const std::filesystem::path& temporary, const std::filesystem::path& target);

void write_file_atomically(const std::filesystem::path& target, std::string_view bytes);

}  // namespace cloze::text
