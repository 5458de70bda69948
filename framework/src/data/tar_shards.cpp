#include "cloze/data/tar_shards.h"

#include <archive.h>
#include <archive_entry.h>

#include <fstream>
#include <memory>

#include "cloze/core/error.h"

namespace cloze {

namespace {

// A .cls member holds a class index as text: a few bytes.
constexpr int64_t max_class_text = 64;

}  // namespace

TarIndex index_tar(const std::filesystem::path& shard) {
  const std::unique_ptr<archive, decltype(&archive_read_free)> reader(archive_read_new(), &archive_read_free);
  archive_read_support_format_tar(reader.get());
  if (!std::ifstream(shard)) throw Error(shard.string() + ": cannot be opened");
  TarIndex index;
  if (archive_read_open_filename(reader.get(), shard.c_str(), 64 << 10) != ARCHIVE_OK) {  // not a tar at all
    index.damage = archive_error_string(reader.get());
    return index;
  }
  archive_entry* entry = nullptr;
  for (;;) {
    const int status = archive_read_next_header(reader.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    if (status < ARCHIVE_WARN) {  // a header cut short or corrupt: the rest of the shard is lost
      index.damage = archive_error_string(reader.get());
      break;
    }
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    TarMember member;
    member.name = archive_entry_pathname(entry);
    member.size = archive_entry_size(entry);
    // After the header, libarchive has consumed exactly the blocks before
    // the member's data: its offset in the (uncompressed) shard.
    member.offset = archive_filter_bytes(reader.get(), 0);
    if (split_key(member.name).second == "cls" && member.size <= max_class_text) {
      member.text.resize(static_cast<std::size_t>(member.size));
      if (archive_read_data(reader.get(), member.text.data(), member.text.size()) != member.size) {
        index.damage = std::string("member ") + member.name + " is cut short";
        break;
      }
    } else if (archive_read_data_skip(reader.get()) != ARCHIVE_OK) {
      index.damage = archive_error_string(reader.get());
      break;
    }
    index.members.push_back(std::move(member));
  }
  return index;
}

std::pair<std::string, std::string> split_key(const std::string& name) {
  const std::size_t last_slash = name.rfind('/');
  const std::size_t dot = name.find('.', last_slash == std::string::npos ? 0 : last_slash + 1);
  if (dot == std::string::npos) return {name, ""};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

}  // namespace cloze
