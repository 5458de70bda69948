// The documents of a text corpus: which files it holds, how each file splits
// into documents, and which documents are dropped (blank, or not UTF-8).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cloze/data/bad_samples.h"

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

  // The corpus paths as one list, for messages.
  std::string name() const;

  using Visit = std::function<void(std::string_view text, int64_t label)>;

  struct Scan {
    int64_t visited = 0;
    // Documents that are not valid UTF-8, each as "file:line" and the column
    // of its first bad byte; the modality hands them to the loader's
    // on_bad_sample policy.
    std::vector<BadSample> unreadable;
  };

  // Calls `visit` with every valid document in corpus order; its label is the
  // index of its file in files(). Files are read as streams: memory holds
  // one document at a time, whatever a file's size. Throws cloze::Error naming file:line for a
  // bad JSONL line, and naming the paths when no document is left.
  Scan for_each_document(const Visit& visit) const;

 private:
  CorpusOptions options_;
  std::vector<std::filesystem::path> files_;
};

}  // namespace cloze::text
