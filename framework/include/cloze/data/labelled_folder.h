// A folder of labelled recordings or pictures, as torchvision's ImageFolder
// lays it out, for every modality that reads files (image, audio):
//
//   FOLDER/<class>/.../*.ext            split by a fixed hash of each file's path
//   FOLDER/train/<class>/.../*.ext      with FOLDER/val (or eval, or test)/<class>/...
//
// Classes are the sorted names of the (train) folder's sub-folders; label i is
// the i-th. Files lying directly in the folder are unlabelled (-1).
//
// With shards allowed, a .tar file among them is WebDataset's shard
// (tar_shards.h): each of its samples whose data member has one of the
// extensions is listed as a file, labelled by its KEY.cls member (a class
// index) if it has one, else as the shard's place in the folder says.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cloze/data/bad_samples.h"
#include "cloze/data/tar_shards.h"

namespace cloze {

struct LabelledFile {
  std::filesystem::path path;
  std::string relative;  // to the folder, '/'-separated: the split hash's key and the name in reports
  int64_t label = -1;
  // A shard's member: its name and its bytes [offset, offset + size) of `path`.
  std::string member;
  int64_t offset = 0, size = 0;

  std::filesystem::path where() const { return member.empty() ? path : path / member; }  // for reports
};

// `member` of the tar shard `shard` (a file of the listing) as a file of its
// own: the shard's label, its relative path extended by the member's name.
LabelledFile shard_member(const LabelledFile& shard, const TarMember& member);

struct LabelledFolder {
  std::vector<LabelledFile> train, eval;  // each sorted by relative path
  std::vector<std::string> class_names;   // label i is class_names[i]
  std::vector<BadSample> damaged_shards;  // cut short or corrupt: their members before the damage are listed
  int64_t shards = 0;
};

// Lists the files whose extension, lower-cased, is one of `extensions`
// (".png", ...). With no split sub-folders, `eval_fraction` of the files (on
// average; at least one of each split when there are two or more files and
// it is > 0) go to eval by a hash of their relative path, the same on every
// run and machine. With `shards`, .tar files are read as shards; those cut
// short are listed in damaged_shards. Throws cloze::Error naming the folder
// when it does not exist, naming an eval class sub-folder that train lacks,
// and naming a shard whose .cls is not a class index or that mixes with
// class sub-folders.
LabelledFolder list_labelled_folder(const std::filesystem::path& folder, const std::vector<std::string>& extensions,
                                    double eval_fraction, bool shards = false);

// What a streaming modality lists (pictures, recordings): list_labelled_folder
// with shards, the damaged shards reported to `bad_samples` (which throws or
// records them as loader.on_bad_sample says). Throws cloze::Error naming the
// folder when it holds none of `extensions`, calling them `samples`.
LabelledFolder list_sample_folder(const std::filesystem::path& folder, const std::vector<std::string>& extensions,
                                  const std::string& samples, double eval_fraction, BadSamples& bad_samples);

// The bytes of `file` (the whole file, or a shard's member), or false and why
// there are none.
bool read_bytes(const LabelledFile& file, std::vector<uint8_t>& bytes, std::string& error);

}  // namespace cloze
