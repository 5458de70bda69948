// The text modality: its parameter schema, the Modality that turns a corpus
// into packed chunks of token ids, and the plugin entry point.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>

#include "cloze/core/error.h"
#include "cloze/core/plugin.h"
#include "corpus.h"
#include "packed_dataset.h"
#include "preview.h"
#include "sentencepiece_training.h"
#include "split.h"
#include "token_cache.h"
#include "tokenizer.h"

namespace cloze::text {

namespace {

using Strings = std::vector<std::string>;

Schema schema() {
  return {
      {"corpus", ParamType::string_list, Strings{}, "text files or folders (every file inside, recursively, sorted)"},
      {"exclude", ParamType::string_list, Strings{}, "globs on file names to skip inside folders, e.g. [\"*.dat\"]"},
      ParamSpec{"format", ParamType::string, std::string("plain"),
                "\"plain\" text or \"jsonl\" (one JSON object per line)"}
          .one_of({"plain", "jsonl"}),
      {"jsonl_field", ParamType::string, std::string("text"), "jsonl: the field holding a document's text"},
      {"separator", ParamType::string, std::string(""),
       "plain: a line equal to this ends a document (fortunes: \"%\"); \"\" = one document per file"},
      ParamSpec{"tokenizer", ParamType::string, std::string("sentencepiece"), "\"sentencepiece\" or \"byte\""}.one_of(
          {"sentencepiece", "byte"}),
      {"tokenizer_model", ParamType::string, std::string(""),
       "a sentencepiece .model to load; \"\" = train one on the corpus (cached)"},
      ParamSpec{"vocab_size", ParamType::integer, int64_t{4000}, "vocabulary of a sentencepiece model trained here"}
          .above(reserved_count)
          .at_most(std::numeric_limits<int32_t>::max()),
      ParamSpec{"tokenizer_sentences", ParamType::integer, int64_t{1000000},
                "lines a sentencepiece model trained here learns from: a uniform sample of the corpus's lines when it "
                "has more (sentencepiece's input_sentence_size)"}
          .at_least(1),
      ParamSpec{"sentinels", ParamType::integer, int64_t{100},
                "T5 sentinel pieces (`<extra_id_0>`, ...) reserved as specials; a tokenizer_model brings its own"}
          .within(0, std::numeric_limits<int32_t>::max() - reserved_count - byte_count),
      ParamSpec{"seq_len", ParamType::integer, int64_t{128},
                "ids per encoder input; documents are packed end to end, eos between, in chunks of the corruption's "
                "raw length"}
          .at_least(1),
      ParamSpec{"eval_fraction", ParamType::real, 0.05,
                "share of documents held out for eval (fixed hash of the index)"}
          .at_least(0)
          .below(1),
      ParamSpec{
          "packing", ParamType::string, std::string("stream"),
          "\"stream\": documents end to end, cut into chunks; \"document\": one sample per document, cut and padded"}
          .one_of({"stream", "document"}),
  };
}

void validate(const Params& params) {
  const auto& format = params.string("format");
  const auto& tokenizer = params.string("tokenizer");
  const auto& model = params.string("tokenizer_model");
  params.require(!params.strings("corpus").empty(), "corpus", "names no files or folders of text");
  params.require(format != "jsonl" || !params.string("jsonl_field").empty(), "jsonl_field",
                 "must name the field that holds a document's text");
  params.require(format == "plain" || params.string("separator").empty(), "separator",
                 "only plain text has separator lines; each JSONL line is one document");
  params.require(model.empty() || tokenizer == "sentencepiece", "tokenizer_model",
                 "is a sentencepiece model; the byte tokenizer reads none");
  params.require(model.empty() || std::filesystem::is_regular_file(model), "tokenizer_model",
                 model + ": no such file");
  const int64_t sentinels = params.integer("sentinels");
  params.require(tokenizer != "sentencepiece" || !model.empty() ||
                     params.integer("vocab_size") > reserved_count + sentinels,
                 "vocab_size",
                 "must exceed the 5 reserved ids and the " + std::to_string(sentinels) +
                     " sentinels, which are pieces of the trained model");
}

Corpus open_corpus(const Params& params) {
  CorpusOptions options{params.strings("corpus"), params.strings("exclude"),
                        params.string("format") == "jsonl" ? Format::jsonl : Format::plain,
                        params.string("jsonl_field"), params.string("separator")};
  try {
    return Corpus(std::move(options));
  } catch (const Error& e) {
    params.require(false, "corpus", e.what());  // names the config key the paths came from
    throw;
  }
}

std::unique_ptr<Tokenizer> make_tokenizer(const Params& params, const Corpus& corpus,
                                          const std::filesystem::path& cache_root) {
  const int64_t sentinels = params.integer("sentinels");
  if (params.string("tokenizer") == "byte") return make_byte_tokenizer(sentinels);
  const auto& model = params.string("tokenizer_model");
  if (!model.empty()) return load_sentencepiece(model);
  const SentencepieceOptions options{params.integer("vocab_size"), sentinels, params.integer("tokenizer_sentences")};
  return load_sentencepiece(trained_sentencepiece_model(corpus, options, cache_root));
}

// Ids per chunk: the corruption's raw length for seq_len, so that its encoder
// inputs come out at seq_len (longer than seq_len for span infilling, whose
// spans collapse to one sentinel each).
int64_t chunk_length_of(const Params& params, const ModalityContext& context) {
  const int64_t length = context.raw_length(params.integer("seq_len"));
  params.require(length >= 1, "seq_len",
                 "gives chunks of " + std::to_string(length) +
                     " ids under this corruption (its raw_length); a chunk needs at least 1");
  return length;
}

std::filesystem::path cache_root_of(const ModalityContext& context) {
  if (context.cache_dir.empty())
    throw Error("text: no cache folder given (ModalityContext::cache_dir); the tokenizer and token cache live there");
  const auto root = context.cache_dir / "text";
  std::filesystem::create_directories(root);
  return root;
}

// The tokenizer's units with the text of every id, for corruptions that look
// for pieces by their text (sentence_permute's ".", "!", "?").
UnitSpec units_with_pieces(const Tokenizer& tokenizer) {
  UnitSpec units = tokenizer.units();
  units.pieces.reserve(static_cast<std::size_t>(units.vocab_size));
  for (int64_t id = 0; id < units.vocab_size; ++id) units.pieces.push_back(tokenizer.decode({static_cast<int32_t>(id)}));
  return units;
}

class TextModality final : public Modality {
 public:
  TextModality(const Params& params, const ModalityContext& context) {
    validate(params);
    chunk_length_ = chunk_length_of(params, context);
    const auto cache_root = cache_root_of(context);
    const Corpus corpus = open_corpus(params);
    tokenizer_ = make_tokenizer(params, corpus, cache_root);
    units_ = units_with_pieces(*tokenizer_);
    const auto cache = TokenCache::open_or_build(corpus, *tokenizer_, cache_root);
    const auto documents = static_cast<int64_t>(cache->documents().size());
    context.bad_samples->report(corpus.name(), cache->unreadable(),
                                documents + static_cast<int64_t>(cache->unreadable().size()), "documents");
    const double eval_fraction = params.real("eval_fraction");
    params.require(eval_fraction == 0 || documents >= 2, "eval_fraction",
                   "the corpus holds a single document, so it cannot be split; set eval_fraction = 0.0 or add text");
    const auto splits = assign_splits(documents, eval_fraction);
    const int64_t pad = tokenizer_->units().pad_id;
    const auto train_documents = documents_in(splits, Split::train), eval_documents = documents_in(splits, Split::eval);
    labelled_train_ = std::make_shared<PackedDataset>(cache, train_documents, chunk_length_, pad, Packing::document);
    labelled_eval_ = std::make_shared<PackedDataset>(cache, eval_documents, chunk_length_, pad, Packing::document);
    if (params.string("packing") == "document") {
      train_ = labelled_train_;
      eval_ = labelled_eval_;
    } else {
      train_ = std::make_shared<PackedDataset>(cache, train_documents, chunk_length_, pad, Packing::stream);
      eval_ = std::make_shared<PackedDataset>(cache, eval_documents, chunk_length_, pad, Packing::stream);
    }
  }

  UnitSpec units() const override { return units_; }
  Grid grid() const override { return Grid{{chunk_length_}}; }
  std::shared_ptr<Dataset> dataset(Split split) const override { return split == Split::train ? train_ : eval_; }
  // One document per sample, whatever the packing: a probe classifies documents.
  std::shared_ptr<Dataset> labelled_dataset(Split split) const override {
    return split == Split::train ? labelled_train_ : labelled_eval_;
  }

  std::string preview(const Batch& batch, const Corrupted& corrupted, int64_t row) const override {
    return preview_row(*tokenizer_, batch, corrupted, row);
  }

 private:
  int64_t chunk_length_;  // context.raw_length(seq_len)
  std::unique_ptr<Tokenizer> tokenizer_;
  UnitSpec units_;  // the tokenizer's, with pieces
  std::shared_ptr<Dataset> train_, eval_;                    // as `packing` says
  std::shared_ptr<Dataset> labelled_train_, labelled_eval_;  // one document per sample
};

}  // namespace

}  // namespace cloze::text

CLOZE_PLUGIN(registry) {
  registry.add_modality<cloze::text::TextModality>(
      "text", "text documents, tokenized (sentencepiece or bytes) and packed into chunks of seq_len ids",
      cloze::text::schema());
}
