// `cloze new-plugin corruption|modality NAME [--dir DIR]`: writes a folder
// with a working plugin to start from: NAME.cpp (parameter schema and an
// example: a window shuffle, or a modality that makes its samples), a
// CMakeLists.txt that builds it against the installed cloze package, a Catch2
// test and TOML configs that use it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace cloze_cli {

// Writes the plugin into `dir` (default ./NAME) and returns the files written.
// Throws cloze::Error for a kind other than corruption or modality, a NAME that
// is not a lower-case C identifier, or a `dir` that exists and is not empty:
// nothing already there is overwritten.
std::vector<std::filesystem::path> new_plugin(const std::string& kind, const std::string& name,
                                              std::filesystem::path dir);

}  // namespace cloze_cli
