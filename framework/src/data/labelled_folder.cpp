#include "cloze/data/labelled_folder.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "cloze/core/error.h"
#include "cloze/data/tar_shards.h"

namespace cloze {

namespace fs = std::filesystem;

namespace {

std::string lower_case(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string lower_extension(const fs::path& path) { return lower_case(path.extension().string()); }

std::vector<std::string> sub_folders(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

bool listed(const std::vector<std::string>& extensions, const std::string& extension) {
  return std::find(extensions.begin(), extensions.end(), extension) != extensions.end();
}

// WebDataset's class index of a .cls member: a non-negative integer, as text.
int64_t class_index(const LabelledFile& shard, const TarMember& member) {
  std::size_t end = 0;
  int64_t value = -1;
  try {
    value = std::stoll(member.text, &end);
  } catch (const std::exception&) {
  }
  while (end < member.text.size() && std::isspace(static_cast<unsigned char>(member.text[end]))) ++end;
  if (value < 0 || end != member.text.size())
    throw Error((shard.path / member.name).string() + ": holds \"" + member.text +
                "\", not a class index (a non-negative integer)");
  return value;
}

// A shard's samples whose data member has one of `extensions` (the first
// such member of each key), labelled by their .cls member when they have
// one, else as the shard itself is.
void list_shard(const LabelledFile& shard, const std::vector<std::string>& extensions, LabelledFolder& listing,
                std::vector<LabelledFile>& files) {
  const TarIndex index = index_tar(shard.path);
  ++listing.shards;
  if (!index.damage.empty()) listing.damaged_shards.push_back({shard.path, index.damage});
  std::map<std::string, int64_t> labels;  // key -> class index
  for (const TarMember& member : index.members)
    if (const auto [key, extension] = split_key(member.name); extension == "cls")
      labels[key] = class_index(shard, member);
  std::set<std::string> listed_keys;
  for (const TarMember& member : index.members) {
    const auto [key, extension] = split_key(member.name);
    if (!listed(extensions, "." + lower_case(extension)) || !listed_keys.insert(key).second) continue;
    LabelledFile file = shard_member(shard, member);
    if (const auto label = labels.find(key); label != labels.end()) {
      if (!listing.class_names.empty())
        throw Error(shard.path.string() + ": its samples have .cls labels, and it lies in a folder of class "
                    "sub-folders; use one or the other");
      file.label = label->second;
    }
    files.push_back(std::move(file));
  }
}

// Every matching file under `split_root`, sorted by path, labelled by the
// class sub-folder it lies in; with `shards`, the samples of .tar shards too.
std::vector<LabelledFile> list_files(const fs::path& root, const fs::path& split_root,
                                     const std::vector<std::string>& extensions, bool shards,
                                     LabelledFolder& listing) {
  const std::vector<std::string>& class_names = listing.class_names;
  std::vector<LabelledFile> files;
  for (const auto& entry : fs::recursive_directory_iterator(split_root, fs::directory_options::follow_directory_symlink)) {
    if (!entry.is_regular_file()) continue;
    const std::string extension = lower_extension(entry.path());
    const bool shard = shards && extension == ".tar";
    if (!shard && !listed(extensions, extension)) continue;
    const fs::path inside_split = entry.path().lexically_relative(split_root);
    int64_t label = -1;
    if (std::next(inside_split.begin()) != inside_split.end()) {  // inside a class sub-folder
      const std::string class_name = inside_split.begin()->string();
      const auto found = std::find(class_names.begin(), class_names.end(), class_name);
      if (found == class_names.end())
        throw Error((split_root / class_name).string() + ": a class sub-folder that " + (root / "train").string() +
                    " lacks");
      label = found - class_names.begin();
    }
    LabelledFile file;
    file.path = entry.path();
    file.relative = entry.path().lexically_relative(root).generic_string();
    file.label = label;
    if (shard)
      list_shard(file, extensions, listing, files);
    else
      files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(),
            [](const LabelledFile& a, const LabelledFile& b) { return a.relative < b.relative; });
  return files;
}

// FNV-1a then SplitMix64's finalizer: uniform in [0, 1), fixed by definition
// (unlike std::hash), so a file stays in its split on every machine.
double hash_position(const std::string& key) {
  uint64_t x = 14695981039346656037ull;
  for (const unsigned char c : key) x = (x ^ c) * 1099511628211ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

void split_by_hash(const std::vector<LabelledFile>& files, double eval_fraction, LabelledFolder& listing) {
  std::vector<double> positions;
  for (const LabelledFile& file : files) positions.push_back(hash_position(file.relative));
  std::vector<bool> to_eval(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) to_eval[i] = positions[i] < eval_fraction;
  if (eval_fraction > 0 && files.size() >= 2) {  // each split gets at least one: the extreme positions move
    const auto count = std::count(to_eval.begin(), to_eval.end(), true);
    if (count == 0) to_eval[std::min_element(positions.begin(), positions.end()) - positions.begin()] = true;
    if (count == static_cast<std::ptrdiff_t>(files.size()))
      to_eval[std::max_element(positions.begin(), positions.end()) - positions.begin()] = false;
  }
  for (std::size_t i = 0; i < files.size(); ++i) (to_eval[i] ? listing.eval : listing.train).push_back(files[i]);
}

// Class names for the class indices of .cls members, when no sub-folders name them.
void name_class_indices(LabelledFolder& listing) {
  if (!listing.class_names.empty()) return;
  int64_t classes = 0;
  for (const auto* split : {&listing.train, &listing.eval})
    for (const LabelledFile& file : *split) classes = std::max(classes, file.label + 1);
  for (int64_t i = 0; i < classes; ++i) listing.class_names.push_back(std::to_string(i));
}

}  // namespace

LabelledFile shard_member(const LabelledFile& shard, const TarMember& member) {
  LabelledFile file = shard;
  file.relative += "/" + member.name;
  file.member = member.name;
  file.offset = member.offset;
  file.size = member.size;
  return file;
}

bool read_bytes(const LabelledFile& file, std::vector<uint8_t>& bytes, std::string& error) {
  std::ifstream in(file.path, std::ios::binary);
  if (!in) {
    error = "the file cannot be opened";
    return false;
  }
  if (file.member.empty()) {
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else {
    bytes.resize(static_cast<std::size_t>(file.size));
    in.seekg(file.offset);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (in.gcount() != static_cast<std::streamsize>(bytes.size())) {
      error = "the shard ends inside this member";
      return false;
    }
  }
  if (bytes.empty()) error = "the file is empty";
  return !bytes.empty();
}

namespace {

LabelledFolder listed_folder(const fs::path& root, const std::vector<std::string>& extensions, double eval_fraction,
                             bool shards) {
  if (!fs::is_directory(root)) throw Error(root.string() + ": no such folder");
  LabelledFolder listing;
  const fs::path train = root / "train";
  for (const char* eval_name : {"val", "eval", "test"}) {
    const fs::path eval = root / eval_name;
    if (!fs::is_directory(train) || !fs::is_directory(eval)) continue;
    listing.class_names = sub_folders(train);
    listing.train = list_files(root, train, extensions, shards, listing);
    listing.eval = list_files(root, eval, extensions, shards, listing);
    return listing;
  }
  listing.class_names = sub_folders(root);
  split_by_hash(list_files(root, root, extensions, shards, listing), eval_fraction, listing);
  return listing;
}

}  // namespace

LabelledFolder list_labelled_folder(const fs::path& root, const std::vector<std::string>& extensions,
                                    double eval_fraction, bool shards) {
  LabelledFolder listing = listed_folder(root, extensions, eval_fraction, shards);
  name_class_indices(listing);
  return listing;
}

LabelledFolder list_sample_folder(const fs::path& folder, const std::vector<std::string>& extensions,
                                  const std::string& samples, double eval_fraction, BadSamples& bad_samples) {
  LabelledFolder listing = list_labelled_folder(folder, extensions, eval_fraction, /*shards=*/true);
  bad_samples.report(folder.string(), listing.damaged_shards, listing.shards, "shards");
  if (listing.train.empty() && listing.eval.empty()) {
    std::string names;
    for (std::size_t i = 0; i < extensions.size(); ++i)
      names += (i == 0 ? "" : i + 1 == extensions.size() ? " or " : ", ") + extensions[i];
    throw Error(folder.string() + ": holds no " + names + " " + samples + ", in files or in .tar shards");
  }
  return listing;
}

}  // namespace cloze
