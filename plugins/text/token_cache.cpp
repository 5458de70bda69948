// Building (tokenizing the corpus) and opening the token cache.
#include "token_cache.h"

#include <ATen/Parallel.h>

#include <fstream>
#include <string>

#include "cloze/core/error.h"
#include "cloze/io/durable_file.h"
#include "hash.h"

namespace cloze::text {

namespace {

namespace fs = std::filesystem;

const char* const tokens_file = "tokens.i32";
const char* const documents_file = "documents.i64";
const char* const unreadable_file = "unreadable.jsonl";

template <typename T>
void write_all(std::ofstream& out, const std::vector<T>& items) {
  out.write(reinterpret_cast<const char*>(items.data()), static_cast<std::streamsize>(items.size() * sizeof(T)));
}

// Documents read ahead of tokenizing: about this much text, or this many
// documents, at a time, so memory stays bounded whatever the corpus's size.
constexpr std::size_t kBlockBytes = std::size_t{16} << 20;
constexpr std::size_t kBlockDocuments = 4096;

// A run of documents in corpus order, tokenized together.
struct Block {
  std::vector<std::string> texts;
  std::vector<int64_t> labels;
  std::size_t bytes = 0;
};

// Tokenizes the corpus into `folder`, a block of documents at a time: the
// documents of a block are encoded through at::parallel_for and written in
// corpus order, so the cache is the same for any number of threads.
void build(const Corpus& corpus, const Tokenizer& tokenizer, const fs::path& folder) {
  fs::create_directories(folder);
  std::ofstream tokens(folder / tokens_file, std::ios::binary);
  // Spans are written a block at a time too: a corpus of short documents
  // (10 M glosses in a GB) would otherwise hold hundreds of MB of them.
  std::ofstream spans(folder / documents_file, std::ios::binary);
  std::vector<DocumentSpan> documents;
  int64_t position = 0;
  Block block;
  std::vector<std::vector<int32_t>> ids;
  const auto flush = [&] {
    const auto count = static_cast<int64_t>(block.texts.size());
    ids.assign(block.texts.size(), {});
    at::parallel_for(0, count, /*grain_size=*/16, [&](int64_t begin, int64_t end) {
      for (int64_t d = begin; d < end; ++d) {
        const auto k = static_cast<std::size_t>(d);
        tokenizer.encode(block.texts[k], ids[k]);
        ids[k].push_back(tokenizer.end_of_document());
      }
    });
    for (std::size_t k = 0; k < ids.size(); ++k) {
      write_all(tokens, ids[k]);
      const auto length = static_cast<int64_t>(ids[k].size());
      documents.push_back({position, length, block.labels[k]});
      position += length;
    }
    write_all(spans, documents);
    documents.clear();
    block = Block{};
  };
  const Corpus::Scan scan = corpus.for_each_document([&](std::string_view text, int64_t label) {
    block.texts.emplace_back(text);
    block.labels.push_back(label);
    block.bytes += text.size();
    if (block.bytes >= kBlockBytes || block.texts.size() >= kBlockDocuments) flush();
  });
  flush();
  std::ofstream unreadable(folder / unreadable_file);
  unreadable << to_jsonl(scan.unreadable);
  if (!tokens.flush() || !spans.flush() || !unreadable.flush())
    throw Error("text: cannot write the token cache in " + folder.string());
}

Error damaged(const fs::path& file) {
  return Error("text: token cache " + file.parent_path().string() + " is damaged; delete it to rebuild");
}

std::vector<DocumentSpan> read_documents(const fs::path& file, int64_t token_count) {
  std::ifstream in(file, std::ios::binary);
  const auto bytes = fs::file_size(file);
  std::vector<DocumentSpan> documents(bytes / sizeof(DocumentSpan));
  in.read(reinterpret_cast<char*>(documents.data()), static_cast<std::streamsize>(bytes));
  const bool whole = in && bytes % sizeof(DocumentSpan) == 0 && !documents.empty() &&
                     documents.back().start + documents.back().length == token_count;
  if (!whole) throw damaged(file);
  return documents;
}

}  // namespace

std::shared_ptr<const TokenCache> TokenCache::open_or_build(const Corpus& corpus, const Tokenizer& tokenizer,
                                                            const fs::path& cache_root) {
  const auto folder = cache_root / cache_key("token cache v2\n" + corpus.identity() + tokenizer.identity());
  if (!fs::exists(folder))
    build_cache_entry(folder, [&](const fs::path& temporary) { build(corpus, tokenizer, temporary); });
  return std::make_shared<const TokenCache>(folder);
}

TokenCache::TokenCache(const fs::path& folder)
    : tokens_(folder / tokens_file),
      documents_(read_documents(folder / documents_file, token_count())),
      unreadable_(read_jsonl(folder / unreadable_file)) {}

}  // namespace cloze::text
