// The documents of a text corpus: which files it holds, how each file splits
// into documents, and which documents are dropped (blank, or not UTF-8).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cloze::text {

enum class Format { plain, jsonl };

struct CorpusOptions {
  std::vector<std::string> paths;    // files, or folders read recursively
  std::vector<std::string> exclude;  // fnmatch globs on file names inside folders
  Format format = Format::plain;
  std::string jsonl_field;           // jsonl: the field holding a document's text
  std::string separator;             // plain: a line equal to it ends a document; "" = one per file
};

class Corpus {
 public:
  // Lists the files; throws cloze::Error naming a path that does not exist, or
  // the paths when they hold no file.
  explicit Corpus(CorpusOptions options);

  // In order: the given paths in turn, each folder's files sorted.
  const std::vector<std::filesystem::path>& files() const { return files_; }

  // What fixes the documents read: each file's path, size and modification
  // time, and the options that split files into documents.
  std::string identity() const;

  using Visit = std::function<void(std::string_view text, int64_t label)>;

  // Calls `visit` with every document in corpus order; its label is the index
  // of its file in files(). Documents that are not valid UTF-8 are skipped and,
  // with `report_skips`, counted on stderr once per file. Throws cloze::Error
  // naming file:line for a bad JSONL line, and naming the paths when no
  // document is left. Returns the number of documents visited.
  int64_t for_each_document(const Visit& visit, bool report_skips) const;

 private:
  CorpusOptions options_;
  std::vector<std::filesystem::path> files_;
};

}  // namespace cloze::text
