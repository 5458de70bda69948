// Files that exist whole or not at all, and stay whole after a crash.
//
// A file is written under a temporary name in its own folder, flushed to the
// disk (fsync), renamed over the target and the folder flushed too: a reader,
// or a run resumed after a kill or a power cut, sees the old file or the
// complete new one, never a torn one. A write that fails (full disk,
// read-only folder) removes its temporary and leaves the target as it was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

namespace cloze {

// Appends bytes to the file being written; throws cloze::Error on failure.
using ByteSink = std::function<void(const void* data, std::size_t size)>;

// Writes `target` with the bytes `produce` hands to its sink. Throws
// cloze::Error naming `target` and the system's reason when anything fails.
void write_durably(const std::filesystem::path& target, const std::function<void(const ByteSink&)>& produce);
void write_durably(const std::filesystem::path& target, std::string_view bytes);

// The temporary name write_durably uses for `target`.
std::filesystem::path temporary_for(const std::filesystem::path& target);

// A cache entry that several processes may build at once (a tokenizer
// model, a token cache folder): `build` makes it, a file or a folder, at the
// path it is handed, a name beside `target` unique to this process and call;
// the entry is then renamed into place. A reader never sees a partial entry;
// of two builders racing for one folder the first rename wins and the other's
// copy is dropped. A build that throws leaves nothing behind. Throws
// cloze::Error naming `target` when the entry cannot be put in place.
void build_cache_entry(const std::filesystem::path& target,
                       const std::function<void(const std::filesystem::path&)>& build);

// Deletes the temporaries that writers killed mid-write left in `dir`;
// returns how many there were.
int64_t remove_temporaries(const std::filesystem::path& dir);

}  // namespace cloze
