#include "cloze/data/labelled_folder.h"

#include <algorithm>
#include <cctype>

#include "cloze/core/error.h"

namespace cloze {

namespace fs = std::filesystem;

namespace {

std::string lower_extension(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

std::vector<std::string> sub_folders(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Every matching file under `split_root`, sorted by path, labelled by the
// class sub-folder it lies in.
std::vector<LabelledFile> list_files(const fs::path& root, const fs::path& split_root,
                                     const std::vector<std::string>& extensions,
                                     const std::vector<std::string>& class_names) {
  std::vector<LabelledFile> files;
  for (const auto& entry : fs::recursive_directory_iterator(split_root, fs::directory_options::follow_directory_symlink)) {
    if (!entry.is_regular_file()) continue;
    if (std::find(extensions.begin(), extensions.end(), lower_extension(entry.path())) == extensions.end()) continue;
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
    files.push_back({entry.path(), entry.path().lexically_relative(root).generic_string(), label});
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

}  // namespace

LabelledFolder list_labelled_folder(const fs::path& root, const std::vector<std::string>& extensions,
                                    double eval_fraction) {
  if (!fs::is_directory(root)) throw Error(root.string() + ": no such folder");
  LabelledFolder listing;
  const fs::path train = root / "train";
  for (const char* eval_name : {"val", "eval", "test"}) {
    const fs::path eval = root / eval_name;
    if (!fs::is_directory(train) || !fs::is_directory(eval)) continue;
    listing.class_names = sub_folders(train);
    listing.train = list_files(root, train, extensions, listing.class_names);
    listing.eval = list_files(root, eval, extensions, listing.class_names);
    return listing;
  }
  listing.class_names = sub_folders(root);
  split_by_hash(list_files(root, root, extensions, listing.class_names), eval_fraction, listing);
  return listing;
}

}  // namespace cloze
