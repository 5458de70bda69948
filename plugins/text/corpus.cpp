// Listing a corpus's files and splitting them into documents: plain text (one
// document per file, or separated by a line such as fortune's "%"), JSONL
// (one document per line, its text in one field) and WebDataset tar shards
// (one document per KEY.txt member).
#include "corpus.h"

#include <fnmatch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/data/labelled_folder.h"
#include "utf8.h"

namespace cloze::text {

namespace {

namespace fs = std::filesystem;

std::string joined(const std::vector<std::string>& items) {
  std::string list;
  for (const auto& item : items) list += (list.empty() ? "" : ", ") + item;
  return "[" + list + "]";
}

bool excluded(const fs::path& file, const std::vector<std::string>& exclude) {
  const std::string name = file.filename().string();
  return std::any_of(exclude.begin(), exclude.end(),
                     [&](const std::string& glob) { return ::fnmatch(glob.c_str(), name.c_str(), 0) == 0; });
}

std::vector<fs::path> files_in(const fs::path& folder, const std::vector<std::string>& exclude) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file() && !excluded(entry.path(), exclude)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

bool blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

std::string_view without_line_breaks_around(std::string_view text) {
  const auto first = text.find_first_not_of("\r\n");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of("\r\n") - first + 1);
}

// Calls `visit(line, number)` for each line of `file`, its line break
// removed (a '\r' before it stays), `number` counting from 1. The file is read
// through a stream, so memory holds a line, not the file.
template <typename Visit>
void for_each_line(const fs::path& file, Visit visit) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("text: cannot read " + file.string());
  int64_t number = 0;
  for (std::string line; std::getline(in, line);) visit(std::string_view(line), ++number);
  if (in.bad()) throw Error("text: cannot read " + file.string());
}

std::string_view without_carriage_return(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// One file's documents on their way to the caller: blank ones are dropped,
// ones that are not UTF-8 set aside with the line and column of their first
// bad byte.
struct FileDocuments {
  const Corpus::Visit& visit;
  const fs::path& file;
  int64_t label;
  Corpus::Scan& scan;

  // `text` starts on line `first_line` of the file.
  void offer(std::string_view text, int64_t first_line) {
    if (blank(text) || !readable(text, first_line)) return;
    visit(without_line_breaks_around(text), label);
    ++scan.visited;
  }

  // False, with the document recorded as unreadable, when `text` is not UTF-8.
  bool readable(std::string_view text, int64_t first_line) {
    const std::size_t bad = first_invalid_utf8(text);
    if (bad == std::string_view::npos) return true;
    const std::string_view before = text.substr(0, bad);
    const auto line = first_line + std::count(before.begin(), before.end(), '\n');
    const std::size_t line_start = before.rfind('\n');
    const std::size_t column = line_start == std::string_view::npos ? bad + 1 : bad - line_start;
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    scan.unreadable.push_back({file.string() + ":" + std::to_string(line),
                               "not valid UTF-8: byte " + std::string(byte) + " at column " + std::to_string(column)});
    return false;
  }
};

// A document is the lines up to a separator line (all of the file without
// one), gathered one at a time.
void read_plain(const fs::path& file, const std::string& separator, FileDocuments& documents) {
  std::string document;
  int64_t document_line = 1;
  for_each_line(file, [&](std::string_view line, int64_t number) {
    if (separator.empty() || without_carriage_return(line) != separator) {
      document.append(line).push_back('\n');
      return;
    }
    documents.offer(document, document_line);
    document.clear();
    document_line = number + 1;
  });
  documents.offer(document, document_line);
}

void read_jsonl(const fs::path& file, const std::string& field, FileDocuments& documents) {
  for_each_line(file, [&](std::string_view raw, int64_t number) {
    const std::string_view line = without_carriage_return(raw);
    if (blank(line)) return;
    if (!documents.readable(line, number)) return;  // a document we cannot read, not a broken file
    const std::string where = documents.file.string() + ":" + std::to_string(number) + ": ";
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(where + "not valid JSON: " + e.what());
    }
    if (!record.is_object() || !record.contains(field) || !record[field].is_string())
      throw Error(where + "not a JSON object with a string field \"" + field + "\"");
    documents.offer(record[field].get_ref<const std::string&>(), number);
  });
}

// A WebDataset shard: each KEY.txt member is one document, whatever the
// format and separator. A shard cut short is set aside as unreadable from the
// damage on.
void read_shard(const fs::path& shard, const Corpus::Visit& visit, int64_t label, Corpus::Scan& scan) {
  const TarIndex index = index_tar(shard);
  LabelledFile whole;
  whole.path = shard;
  std::vector<uint8_t> bytes;
  for (const TarMember& member : index.members) {
    if (split_key(member.name).second != "txt" || member.size == 0) continue;  // an empty one is blank
    const LabelledFile file = shard_member(whole, member);
    const fs::path where = file.where();
    std::string error;
    if (!read_bytes(file, bytes, error)) {
      scan.unreadable.push_back({where, error});
      continue;
    }
    FileDocuments documents{visit, where, label, scan};
    documents.offer(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), 1);
  }
  if (!index.damage.empty()) scan.unreadable.push_back({shard, index.damage});
}

}  // namespace

Corpus::Corpus(CorpusOptions options) : options_(std::move(options)) {
  for (const auto& path : options_.paths) {
    std::error_code error;
    if (fs::is_directory(path, error)) {
      auto inside = files_in(path, options_.exclude);
      files_.insert(files_.end(), inside.begin(), inside.end());
    } else if (fs::is_regular_file(path, error)) {
      files_.emplace_back(path);
    } else {
      throw Error(path + ": no such file or folder");
    }
  }
  if (files_.empty())
    throw Error("no files in " + joined(options_.paths) +
                (options_.exclude.empty() ? "" : " outside the excluded " + joined(options_.exclude)));
}

std::string Corpus::identity() const {
  std::ostringstream identity;
  identity << "format " << static_cast<int>(options_.format) << ", field " << options_.jsonl_field
           << ", separator " << options_.separator.size() << ":" << options_.separator << "\n";
  for (const auto& file : files_)
    identity << fs::weakly_canonical(file).string() << " " << fs::file_size(file) << " "
             << fs::last_write_time(file).time_since_epoch().count() << "\n";
  return identity.str();
}

std::string Corpus::name() const { return joined(options_.paths); }

Corpus::Scan Corpus::for_each_document(const Visit& visit) const {
  Scan scan;
  for (std::size_t i = 0; i < files_.size(); ++i) {
    const auto label = static_cast<int64_t>(i);
    if (files_[i].extension() == ".tar") {
      read_shard(files_[i], visit, label, scan);
      continue;
    }
    FileDocuments documents{visit, files_[i], label, scan};
    if (options_.format == Format::jsonl)
      read_jsonl(files_[i], options_.jsonl_field, documents);
    else
      read_plain(files_[i], options_.separator, documents);
  }
  if (scan.visited == 0)
    throw Error("text: corpus " + name() + " holds no text: every document is blank or not valid UTF-8");
  return scan;
}

}  // namespace cloze::text
