// WebDataset's shards: tar files whose members, grouped by key, are samples
// (shard-000000.tar holding KEY.jpg and KEY.cls, ...), the usual layout of
// large image and audio datasets. A shard is indexed once, its headers read
// in order with libarchive (the data between them skipped by seeking); a
// member is then a byte range of the shard, read like a file, so samples can
// be read in any order and a run's data order stays a pure function of
// (seed, epoch) as for folders (cloze/data/loader.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace cloze {

struct TarMember {
  std::string name;            // as stored, '/'-separated
  int64_t offset = 0, size = 0;  // of its data in the shard
  std::string text;            // the content of a .cls member (WebDataset's class index), else empty
};

struct TarIndex {
  std::vector<TarMember> members;  // in the shard's order
  std::string damage;              // why the shard ends early (truncated, corrupt); empty when whole
};

// The regular-file members of `shard`. A shard cut short or corrupt keeps the
// members before the damage, and says what it is; a file that is no tar
// archive has no members and says so. Throws cloze::Error naming the file
// when it cannot be opened.
TarIndex index_tar(const std::filesystem::path& shard);

// WebDataset's split of a member name into key and extension: the key runs
// to the first '.' of the last path component ("a/b/x.seg.png" -> "a/b/x",
// "seg.png").
std::pair<std::string, std::string> split_key(const std::string& name);

}  // namespace cloze
