#include "folder.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "cloze/error.h"
#include "square.h"

namespace cloze::image {

namespace fs = std::filesystem;

namespace {

struct PictureFile {
  fs::path path;
  std::string relative;  // to the folder given, '/'-separated: the split hash's key and the skip report's name
  int64_t label = -1;
};

struct Listing {
  std::vector<PictureFile> train, eval;
  std::vector<std::string> class_names;
};

bool is_picture(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".png" || extension == ".jpg" || extension == ".jpeg";
}

std::vector<std::string> sub_folders(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Every picture under `split_root`, sorted by path, labelled by the class
// sub-folder it lies in.
std::vector<PictureFile> list_pictures(const fs::path& root, const fs::path& split_root,
                                       const std::vector<std::string>& class_names) {
  std::vector<PictureFile> files;
  for (const auto& entry : fs::recursive_directory_iterator(split_root, fs::directory_options::follow_directory_symlink)) {
    if (!entry.is_regular_file() || !is_picture(entry.path())) continue;
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
            [](const PictureFile& a, const PictureFile& b) { return a.relative < b.relative; });
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

void split_by_hash(std::vector<PictureFile> files, double eval_fraction, Listing& listing) {
  std::vector<double> positions;
  for (const PictureFile& file : files) positions.push_back(hash_position(file.relative));
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

Listing list_folder(const fs::path& root, double eval_fraction) {
  if (!fs::is_directory(root)) throw Error(root.string() + ": no such folder");
  Listing listing;
  const fs::path train = root / "train";
  for (const char* eval_name : {"val", "eval", "test"}) {
    const fs::path eval = root / eval_name;
    if (!fs::is_directory(train) || !fs::is_directory(eval)) continue;
    listing.class_names = sub_folders(train);
    listing.train = list_pictures(root, train, listing.class_names);
    listing.eval = list_pictures(root, eval, listing.class_names);
    return listing;
  }
  listing.class_names = sub_folders(root);
  split_by_hash(list_pictures(root, root, listing.class_names), eval_fraction, listing);
  return listing;
}

// Decodes `files` (in parallel: imread is thread-safe) into one split,
// appending the relative paths of those it cannot decode to `skipped`.
Images decode(const std::vector<PictureFile>& files, const DecodeOptions& options,
              std::vector<std::string>& skipped) {
  const auto count = static_cast<int64_t>(files.size());
  const int64_t side = options.image_size, channels = options.channels;
  at::Tensor pixels = at::empty({count, channels, side, side}, at::kByte);
  std::vector<uint8_t> readable(files.size(), 0);
  const int flags = channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;  // both 8-bit
  at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      cv::Mat picture;
      try {
        picture = cv::imread(files[static_cast<std::size_t>(i)].path.string(), flags);
      } catch (const cv::Exception&) {
        continue;  // counted as unreadable below
      }
      if (picture.empty()) continue;
      copy_to_planes(to_square(picture, static_cast<int>(side)), pixels[i]);
      readable[static_cast<std::size_t>(i)] = 1;
    }
  });
  std::vector<int64_t> kept, labels;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (readable[i]) {
      kept.push_back(static_cast<int64_t>(i));
      labels.push_back(files[i].label);
    } else {
      skipped.push_back(files[i].relative);
    }
  }
  const auto rows = static_cast<int64_t>(kept.size());
  const at::Tensor kept_index = at::from_blob(kept.data(), {rows}, at::kLong);
  return Images{rows == count ? pixels : pixels.index_select(0, kept_index),
                at::from_blob(labels.data(), {rows}, at::kLong).clone()};
}

void report_skipped(const fs::path& root, const std::vector<std::string>& skipped) {
  if (skipped.empty()) return;
  constexpr std::size_t shown = 5;
  std::string names;
  for (std::size_t i = 0; i < std::min(shown, skipped.size()); ++i) names += (i ? ", " : "") + skipped[i];
  if (skipped.size() > shown) names += ", ...";
  std::cerr << "image: skipped " << skipped.size() << " unreadable images in " << root.string() << ": " << names
            << std::endl;
}

}  // namespace

LabelledImages read_image_folder(const fs::path& folder, const DecodeOptions& options, double eval_fraction) {
  const Listing listing = list_folder(folder, eval_fraction);
  if (listing.train.empty() && listing.eval.empty())
    throw Error(folder.string() + ": holds no .png, .jpg or .jpeg pictures");
  std::vector<std::string> skipped;
  LabelledImages data{decode(listing.train, options, skipped), decode(listing.eval, options, skipped),
                      listing.class_names};
  report_skipped(folder, skipped);
  if (data.train.pixels.size(0) == 0)
    throw Error(folder.string() + ": no readable train pictures (" + std::to_string(skipped.size()) +
                " files could not be decoded)");
  if (data.eval.pixels.size(0) == 0 && !listing.eval.empty())
    throw Error(folder.string() + ": none of the " + std::to_string(listing.eval.size()) +
                " eval pictures could be decoded");
  return data;
}

}  // namespace cloze::image
