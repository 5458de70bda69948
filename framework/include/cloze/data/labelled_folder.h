// A folder of labelled recordings or pictures, as torchvision's ImageFolder
// lays it out, for every modality that reads files (image, audio):
//
//   FOLDER/<class>/.../*.ext            split by a fixed hash of each file's path
//   FOLDER/train/<class>/.../*.ext      with FOLDER/val (or eval, or test)/<class>/...
//
// Classes are the sorted names of the (train) folder's sub-folders; label i is
// the i-th. Files lying directly in the folder are unlabelled (-1).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cloze {

struct LabelledFile {
  std::filesystem::path path;
  std::string relative;  // to the folder, '/'-separated: the split hash's key and the name in reports
  int64_t label = -1;
};

struct LabelledFolder {
  std::vector<LabelledFile> train, eval;  // each sorted by relative path
  std::vector<std::string> class_names;   // label i is class_names[i]
};

// Lists the files whose extension, lower-cased, is one of `extensions`
// (".png", ...). With no split sub-folders, `eval_fraction` of the files (on
// average; at least one of each split when there are two or more files and
// it is > 0) go to eval by a hash of their relative path, the same on every
// run and machine. Throws cloze::Error naming the folder when it does not
// exist, and naming an eval class sub-folder that train lacks.
LabelledFolder list_labelled_folder(const std::filesystem::path& folder, const std::vector<std::string>& extensions,
                                    double eval_fraction);

}  // namespace cloze
