// The text modality (plugins/text), loaded from the build tree like any
// plugin: byte and sentencepiece tokenizers, reading plain text and JSONL,
// packing into chunks, labels, the train/eval split, the token cache, previews
// and the errors a user sees. Every case builds its own tiny corpus.
#include <catch2/catch.hpp>

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cloze/core/modality.h"
#include "cloze/core/params.h"
#include "cloze/core/registry.h"
#include "cloze/data/tar_shards.h"
#include "tar_writer.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Strings = std::vector<std::string>;

// The byte tokenizer's layout (plugins/text/README.md): 5 reserved ids, then
// bytes, then the sentinels (100 by default).
constexpr int64_t pad = 0, bos = 2, eos = 3, mask = 4, first_byte = 5, first_sentinel = 261;

using test_support::registry;

// A fresh folder per test case: ctest runs the cases in parallel.
struct Fixture : test_support::Fixture {
  explicit Fixture(const std::string& name) : test_support::Fixture("text", name) {}

  std::string write(const std::string& name, const std::string& content) const {
    const auto path = dir / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  cloze::ModalityContext context(const std::string& cache = "cache") const { return {dir / cache, 0}; }

  // A context whose loader skips unreadable documents, however many.
  cloze::ModalityContext skipping_context() const {
    cloze::ModalityContext skipping = context();
    skipping.bad_samples = std::make_shared<cloze::BadSamples>(/*skip=*/true, /*max_fraction=*/1.0);
    return skipping;
  }
};

cloze::Params text_params(const std::vector<std::pair<std::string, cloze::Value>>& values) {
  cloze::Params params("modality", registry().info(cloze::PluginKind::modality, "text").schema);
  for (const auto& [name, value] : values) params.set(name, value, "test");
  return params;
}

std::shared_ptr<cloze::Modality> make(const cloze::Params& params, const cloze::ModalityContext& context) {
  return registry().make_modality("text", params, context);
}

std::vector<int64_t> indices(int64_t count) {
  std::vector<int64_t> all(static_cast<std::size_t>(count));
  std::iota(all.begin(), all.end(), int64_t{0});
  return all;
}

std::vector<int64_t> row_ids(const cloze::Batch& batch, int64_t row) {
  const at::Tensor ids = batch.units[row].contiguous();
  return {ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel()};
}

// Every id of a split that is not padding, chunk after chunk.
std::vector<int64_t> stream_of(const cloze::Dataset& dataset) {
  const auto batch = dataset.collate(indices(dataset.size()));
  const at::Tensor units = batch.units.masked_select(batch.padding.logical_not());
  return {units.data_ptr<int64_t>(), units.data_ptr<int64_t>() + units.numel()};
}

// The documents of a byte-tokenized split: its stream cut at eos, ids as bytes.
Strings byte_documents(const cloze::Dataset& dataset) {
  Strings documents(1);
  for (int64_t id : stream_of(dataset)) {
    if (id == eos)
      documents.emplace_back();
    else
      documents.back() += static_cast<char>(id - first_byte);
  }
  documents.pop_back();  // the stream ends with eos
  return documents;
}

std::vector<int64_t> labels_of(const cloze::Batch& batch) {
  return {batch.labels.data_ptr<int64_t>(), batch.labels.data_ptr<int64_t>() + batch.labels.numel()};
}

// Nothing corrupted: the preview is then the row's text.
cloze::Corrupted uncorrupted(const cloze::Batch& batch) {
  cloze::Corrupted out;
  out.input = batch.units;
  out.target = batch.units;
  out.loss_mask = at::zeros_like(batch.padding);
  return out;
}

// Each file under `dir` and its modification time: equal snapshots mean nothing was rewritten.
std::map<std::string, int64_t> snapshot(const fs::path& dir) {
  std::map<std::string, int64_t> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) files[entry.path().string()] = entry.last_write_time().time_since_epoch().count();
  return files;
}

std::vector<fs::path> files_named(const fs::path& dir, const std::string& suffix) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      found.push_back(entry.path());
  }
  return found;
}

Strings synthetic_words() {
  return {"the",   "cat",  "sat",     "on",    "mat",    "dog",   "ran",   "far",  "away",
          "over", "green", "hill", "quickly", "under", "bridge", "river", "stone", "light"};
}

// A small synthetic English corpus for sentencepiece: 300 lines in 30 documents.
std::string synthetic_corpus() {
  const Strings words = synthetic_words();
  std::string text;
  for (std::size_t line = 0; line < 300; ++line) {
    for (std::size_t w = 0; w < 9; ++w) text += words[(line * 7 + w * 5 + line * w) % words.size()] + " ";
    text += line % 10 == 9 ? "\n%\n" : "\n";
  }
  return text;
}

}  // namespace

TEST_CASE("byte tokenizer: one id per byte after the reserved ids, decoded back exactly") {
  Fixture f("byte_round_trip");
  const std::string text = "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93 \xF0\x9D\x84\x9E!";  // 2-, 3- and 4-byte characters
  const auto params = text_params({{"corpus", Strings{f.write("a.txt", text)}}, {"tokenizer", std::string("byte")},
                                   {"eval_fraction", 0.0}, {"seq_len", int64_t{32}}});
  const auto text_modality = make(params, f.context());

  const auto units = text_modality->units();
  CHECK(units.kind == cloze::UnitKind::discrete);
  CHECK(units.vocab_size == first_sentinel + 100);
  CHECK(units.pad_id == pad);
  CHECK(units.mask_id == mask);
  CHECK(units.begins_word.empty());

  const auto batch = text_modality->dataset(cloze::Split::train)->collate({0});
  std::vector<int64_t> expected;
  for (unsigned char c : text) expected.push_back(first_byte + c);
  expected.push_back(eos);
  expected.resize(32, pad);
  CHECK(row_ids(batch, 0) == expected);
  CHECK(text_modality->preview(batch, uncorrupted(batch), 0) == text + "</s>");
}

TEST_CASE("byte tokenizer: bos, eos and the sentinels after the bytes, all special") {
  Fixture f("byte_sentinels");
  auto params = text_params({{"corpus", Strings{f.write("a.txt", "abcd")}}, {"tokenizer", std::string("byte")},
                             {"eval_fraction", 0.0}, {"seq_len", int64_t{8}}, {"sentinels", int64_t{3}}});
  const auto text_modality = make(params, f.context());
  const auto units = text_modality->units();
  CHECK(units.vocab_size == first_sentinel + 3);
  CHECK(units.bos_id == bos);
  CHECK(units.eos_id == eos);
  const std::vector<int64_t> sentinels{first_sentinel, first_sentinel + 1, first_sentinel + 2};
  CHECK(units.sentinel_ids == sentinels);
  CHECK(units.special_ids == std::vector<int64_t>{0, 1, 2, 3, 4, first_sentinel, first_sentinel + 1,
                                                  first_sentinel + 2});
  for (int64_t id : sentinels) {
    CHECK(id != units.mask_id);
    CHECK(id != units.pad_id);
    CHECK(units.is_special(id));
  }
  const auto ordinary = units.ordinary_ids();
  CHECK(ordinary.size() == 256);
  CHECK(ordinary.front() == first_byte);
  CHECK(ordinary.back() == first_sentinel - 1);

  // In sequence mode, as T5's span infilling gives it: sentinels print as their pieces.
  const auto batch = text_modality->dataset(cloze::Split::train)->collate({0});
  const auto b = [](char c) { return first_byte + c; };
  cloze::Corrupted infill;
  infill.mode = cloze::ReconstructionMode::sequence;
  infill.input = at::tensor(std::vector<int64_t>{b('a'), sentinels[0], b('d'), eos}).unsqueeze(0);
  infill.target = at::tensor(std::vector<int64_t>{sentinels[0], b('b'), b('c'), sentinels[1]}).unsqueeze(0);
  infill.loss_mask = at::ones({1, 4}, at::kBool);
  CHECK(text_modality->preview(batch, infill, 0) == "a<extra_id_0>d</s> ⇒ <extra_id_0>bc<extra_id_1>");

  // None reserved: an empty list and the bare byte vocabulary.
  const auto cache_entries = files_named(f.dir / "cache", "tokens.i32").size();
  params.set("sentinels", int64_t{0}, "test");
  const auto none = make(params, f.context())->units();
  CHECK(none.sentinel_ids.empty());
  CHECK(none.vocab_size == first_sentinel);
  CHECK(none.special_ids == std::vector<int64_t>{0, 1, 2, 3, 4});
  // Each count has its own cache entry.
  CHECK(files_named(f.dir / "cache", "tokens.i32").size() == cache_entries + 1);

  // The schema's range refuses it as it is set, before any modality is made.
  CHECK_THROWS_WITH(params.set("sentinels", int64_t{-1}, "test"),
                    Contains("test: modality.sentinels = -1: must be in [0, "));
}

TEST_CASE("chunk length: the corruption's raw length for seq_len sets the chunks and the grid") {
  Fixture f("raw_length");
  const auto params = text_params({{"corpus", Strings{f.write("a.txt", "abcdefghijkl")}},
                                   {"tokenizer", std::string("byte")}, {"eval_fraction", 0.0},
                                   {"seq_len", int64_t{4}}});
  auto context = f.context();
  context.raw_length = [](int64_t seq_len) { return seq_len + 3; };
  const auto text_modality = make(params, context);
  CHECK(text_modality->grid() == cloze::Grid{{7}});
  const auto train = text_modality->dataset(cloze::Split::train);
  REQUIRE(train->size() == 2);  // 12 bytes + eos = 13 ids in chunks of 7
  const auto batch = train->collate({0, 1});
  CHECK(batch.units.sizes() == at::IntArrayRef{2, 7});
  CHECK(batch.grid == cloze::Grid{{7}});
  CHECK(batch.padding.sum().item<int64_t>() == 1);

  context.raw_length = [](int64_t) { return int64_t{0}; };
  CHECK_THROWS_WITH(make(params, context), Contains("modality.seq_len = 4") && Contains("raw_length"));
}

TEST_CASE("packing: documents end in eos, run on across chunks, and the last chunk is padded") {
  Fixture f("packing");
  const auto params = text_params({{"corpus", Strings{f.write("0.txt", "abc\n"), f.write("1.txt", "defgh"),
                                                      f.write("2.txt", "ij")}},
                                   {"tokenizer", std::string("byte")},
                                   {"eval_fraction", 0.0},
                                   {"seq_len", int64_t{5}}});
  const auto text_modality = make(params, f.context());
  CHECK(text_modality->grid() == cloze::Grid{{5}});
  const auto train = text_modality->dataset(cloze::Split::train);
  // (3 + 1) + (5 + 1) + (2 + 1) = 13 ids: ceil(13 / 5) = 3 chunks.
  REQUIRE(train->size() == 3);
  CHECK(text_modality->dataset(cloze::Split::eval)->size() == 0);

  const auto batch = train->collate(indices(3));
  CHECK(batch.units.sizes() == at::IntArrayRef{3, 5});
  CHECK(batch.units.scalar_type() == at::kLong);
  CHECK(batch.padding.scalar_type() == at::kBool);
  const auto b = [](char c) { return first_byte + c; };
  CHECK(row_ids(batch, 0) == std::vector<int64_t>{b('a'), b('b'), b('c'), eos, b('d')});
  CHECK(row_ids(batch, 1) == std::vector<int64_t>{b('e'), b('f'), b('g'), b('h'), eos});
  CHECK(row_ids(batch, 2) == std::vector<int64_t>{b('i'), b('j'), eos, pad, pad});
  CHECK(batch.padding.sum().item<int64_t>() == 2);
  CHECK(batch.padding[2][3].item<bool>());
  CHECK(batch.padding[2][4].item<bool>());
  CHECK_FALSE(batch.padding[2][2].item<bool>());
  // A chunk's label is the file of the document its first id comes from.
  CHECK(labels_of(batch) == std::vector<int64_t>{0, 1, 2});
}

TEST_CASE("document packing: one document per sample, with its own label; what the probes read of any packing") {
  Fixture f("document_packing");
  const auto params = text_params({{"corpus", Strings{f.write("0.txt", "abc\n"), f.write("1.txt", "defgh"),
                                                      f.write("2.txt", "ij")}},
                                   {"tokenizer", std::string("byte")},
                                   {"eval_fraction", 0.0},
                                   {"seq_len", int64_t{5}},
                                   {"packing", std::string("document")}});
  const auto train = make(params, f.context())->dataset(cloze::Split::train);
  REQUIRE(train->size() == 3);  // the documents, not ceil(13 / 5)
  const auto batch = train->collate({2, 0, 1});
  const auto b = [](char c) { return first_byte + c; };
  CHECK(row_ids(batch, 0) == std::vector<int64_t>{b('i'), b('j'), eos, pad, pad});
  CHECK(row_ids(batch, 1) == std::vector<int64_t>{b('a'), b('b'), b('c'), eos, pad});
  CHECK(row_ids(batch, 2) == std::vector<int64_t>{b('d'), b('e'), b('f'), b('g'), b('h')});  // cut: no room for eos
  CHECK(batch.padding.sum().item<int64_t>() == 3);
  CHECK_FALSE(batch.padding[2][4].item<bool>());
  CHECK(labels_of(batch) == std::vector<int64_t>{2, 0, 1});

  // Packed as a stream for pretraining, text still hands the evaluation
  // protocols these samples: one document each, with its own label.
  auto streamed = params;
  streamed.set("packing", std::string("stream"), "test");
  const auto stream_modality = make(streamed, f.context());
  const auto chunks = stream_modality->dataset(cloze::Split::train)->collate({0});
  CHECK(row_ids(chunks, 0) == std::vector<int64_t>{b('a'), b('b'), b('c'), eos, b('d')});
  const auto documents = stream_modality->labelled_dataset(cloze::Split::train);
  REQUIRE(documents->size() == 3);
  const auto labelled = documents->collate({2, 0, 1});
  CHECK(labelled.units.equal(batch.units));
  CHECK(labelled.padding.equal(batch.padding));
  CHECK(labels_of(labelled) == std::vector<int64_t>{2, 0, 1});

  auto bad = params;
  CHECK_THROWS_WITH(bad.set("packing", std::string("documents"), "test"),
                    Catch::Contains("packing") && Catch::Contains("\"stream\" or \"document\"") &&
                        Catch::Contains("did you mean 'document'"));
}

TEST_CASE("separator lines split documents; folders are read sorted, with exclude globs; labels are files") {
  Fixture f("separator");
  f.write("corpus/a", "one\n%\ntwo\nlines\n%\nthree\n");
  f.write("corpus/a.dat", "binary index, excluded\n");
  f.write("corpus/sub/b", "%\nfour\n%\n\n%\n");    // a leading separator and a blank document
  f.write("corpus/c", "five\r\n%\r\nsix\r\n");     // CRLF line ends
  const auto params = text_params({{"corpus", Strings{(f.dir / "corpus").string()}},
                                   {"exclude", Strings{"*.dat"}},
                                   {"separator", std::string("%")},
                                   {"tokenizer", std::string("byte")},
                                   {"eval_fraction", 0.0},
                                   {"seq_len", int64_t{1}}});  // one id per chunk: a label per id
  const auto train = make(params, f.context())->dataset(cloze::Split::train);
  CHECK(byte_documents(*train) == Strings{"one", "two\nlines", "three", "five", "six", "four"});

  // Files in sorted order: corpus/a, corpus/c, corpus/sub/b.
  const auto batch = train->collate(indices(train->size()));
  const auto labels = labels_of(batch);
  std::vector<int64_t> document_labels;
  for (int64_t i = 0; i < train->size(); ++i)
    if (batch.units[i][0].item<int64_t>() == eos) document_labels.push_back(labels[static_cast<std::size_t>(i)]);
  CHECK(document_labels == std::vector<int64_t>{0, 0, 0, 1, 1, 2});
}

TEST_CASE("WebDataset shards: each KEY.txt member is a document labelled by its shard; a bad member and a shard cut "
          "short follow on_bad_sample") {
  Fixture f("shards");
  test_support::write_tar(f.dir / "corpus" / "shard-0.tar", {{"a.txt", "first\n%\nstill first\n"},
                                                             {"a.json", "{\"not\": \"text\"}"},
                                                             {"b.txt", "second"},
                                                             {"c.txt", "bad \xFF byte"}});
  test_support::write_tar(f.dir / "corpus" / "shard-1.tar", {{"d.txt", "third"}});
  f.write("corpus/plain", "fourth\n%\nfifth\n");
  const auto params = text_params({{"corpus", Strings{(f.dir / "corpus").string()}},
                                   {"separator", std::string("%")},  // splits the plain file, not a member
                                   {"tokenizer", std::string("byte")},
                                   {"eval_fraction", 0.0},
                                   {"seq_len", int64_t{1}}});
  const std::string bad = (f.dir / "corpus" / "shard-0.tar" / "c.txt").string();
  CHECK_THROWS_WITH(make(params, f.context()), Contains(bad + ":1: cannot be read (not valid UTF-8"));
  const auto skipping = f.skipping_context();
  const auto train = make(params, skipping)->dataset(cloze::Split::train);
  // Files in sorted order: plain, shard-0.tar, shard-1.tar.
  CHECK(byte_documents(*train) == Strings{"fourth", "fifth", "first\n%\nstill first", "second", "third"});
  const auto batch = train->collate(indices(train->size()));
  const auto labels = labels_of(batch);
  std::vector<int64_t> document_labels;
  for (int64_t i = 0; i < train->size(); ++i)
    if (batch.units[i][0].item<int64_t>() == eos) document_labels.push_back(labels[static_cast<std::size_t>(i)]);
  CHECK(document_labels == std::vector<int64_t>{0, 0, 1, 1, 2});
  REQUIRE(skipping.bad_samples->skipped().size() == 1);
  CHECK(skipping.bad_samples->skipped()[0].path == bad + ":1");

  // Cut inside b.txt: a.txt survives and the shard is named.
  const std::string whole = test_support::read_bytes(f.dir / "corpus" / "shard-0.tar");
  const auto inside_b = cloze::index_tar(f.dir / "corpus" / "shard-0.tar").members.at(2).offset + 2;
  f.write("cut/shard-0.tar", whole.substr(0, static_cast<std::size_t>(inside_b)));
  auto cut_params = params;
  cut_params.set("corpus", Strings{(f.dir / "cut").string()}, "test");
  CHECK_THROWS_WITH(make(cut_params, f.context("cut-cache")),
                    Contains((f.dir / "cut" / "shard-0.tar").string() + ": cannot be read"));
  const auto cut_skipping = f.skipping_context();
  CHECK(byte_documents(*make(cut_params, cut_skipping)->dataset(cloze::Split::train)) == Strings{"first\n%\nstill first"});
}

TEST_CASE("JSONL: one document per line from the named field; a bad line is named by file:line") {
  Fixture f("jsonl");
  const auto good = f.write("good.jsonl", "{\"body\": \"alpha\", \"id\": 1}\n\n{\"body\": \"b\\u00e9ta\"}\n");
  auto params = text_params({{"corpus", Strings{good}},
                             {"format", std::string("jsonl")},
                             {"jsonl_field", std::string("body")},
                             {"tokenizer", std::string("byte")},
                             {"eval_fraction", 0.0}});
  CHECK(byte_documents(*make(params, f.context())->dataset(cloze::Split::train)) ==
        Strings{"alpha", "b\xC3\xA9ta"});

  const auto broken = f.write("broken.jsonl", "{\"body\": \"x\"}\n{\"body\": \"y\"}\n{\"body\": oops}\n");
  params.set("corpus", Strings{broken}, "test");
  CHECK_THROWS_WITH(make(params, f.context()), Contains(broken + ":3: not valid JSON"));

  const auto no_field = f.write("no_field.jsonl", "{\"body\": \"x\"}\n{\"text\": \"y\"}\n");
  params.set("corpus", Strings{no_field}, "test");
  CHECK_THROWS_WITH(make(params, f.context()),
                    Contains(no_field + ":2: not a JSON object with a string field \"body\""));
}

TEST_CASE("sentencepiece: trained on the corpus once, deterministic, with the reserved specials") {
  Fixture f("sentencepiece");
  const auto corpus = f.write("corpus.txt", synthetic_corpus());
  const auto params = text_params({{"corpus", Strings{corpus}},
                                   {"separator", std::string("%")},
                                   {"vocab_size", int64_t{120}},
                                   {"sentinels", int64_t{3}},
                                   {"seq_len", int64_t{64}},
                                   {"eval_fraction", 0.2}});
  const auto text_modality = make(params, f.context());
  const auto cache = f.dir / "cache";
  const auto models = files_named(cache, ".model");
  REQUIRE(models.size() == 1);

  const auto units = text_modality->units();
  CHECK(units.vocab_size > 20);
  CHECK(units.vocab_size <= 120);
  CHECK(units.pad_id == 0);
  CHECK(units.mask_id == 4);
  CHECK(units.bos_id == bos);
  CHECK(units.eos_id == eos);
  // The sentinels are user-defined pieces right after [MASK].
  CHECK(units.sentinel_ids == std::vector<int64_t>{5, 6, 7});
  for (int64_t special : {0, 1, 2, 3, 4, 5, 6, 7}) CHECK(units.is_special(special));
  CHECK(units.special_ids.size() == 8);
  REQUIRE(units.begins_word.size() == static_cast<std::size_t>(units.vocab_size));
  for (int64_t special : {4, 5, 6, 7}) CHECK(units.begins_word[static_cast<std::size_t>(special)] == 0);
  // Some pieces start words ("▁cat"), others continue them ("at").
  const int64_t word_starts = std::accumulate(units.begins_word.begin(), units.begins_word.end(), int64_t{0});
  CHECK(word_starts > 0);
  CHECK(word_starts < units.vocab_size - 8);

  // 30 documents of 10 lines: one eos each, over both splits.
  const auto train = text_modality->dataset(cloze::Split::train);
  const auto eval = text_modality->dataset(cloze::Split::eval);
  const auto count_eos = [](const std::vector<int64_t>& ids) { return std::count(ids.begin(), ids.end(), eos); };
  CHECK(count_eos(stream_of(*train)) + count_eos(stream_of(*eval)) == 30);
  // Decoded, a chunk is the corpus's words ('▁' back to spaces, lines joined
  // by sentencepiece's whitespace normalization); only its last word may be cut.
  const auto batch = train->collate({0});
  CHECK(units.begins_word[static_cast<std::size_t>(row_ids(batch, 0)[0])] == 1);  // a document's first piece
  std::istringstream preview(text_modality->preview(batch, uncorrupted(batch), 0));
  Strings decoded;
  for (std::string word; preview >> word;) decoded.push_back(word);
  REQUIRE(decoded.size() > 5);
  decoded.pop_back();
  for (const auto& word : decoded) {
    INFO(word);
    const auto known = synthetic_words();
    CHECK(std::count(known.begin(), known.end(), word.substr(0, word.find("</s>"))) == 1);
  }

  // A second construction reuses the model and the token cache: no file is rewritten.
  const auto before = snapshot(cache);
  make(params, f.context());
  CHECK(snapshot(cache) == before);

  // Training again elsewhere gives the same model, byte for byte.
  make(params, f.context("other_cache"));
  const auto other = files_named(f.dir / "other_cache", ".model");
  REQUIRE(other.size() == 1);
  const auto bytes = [](const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK(bytes(other[0]) == bytes(models[0]));

  // The model given by path: loaded as it is, nothing trained.
  // Its sentinels are read from its pieces, whatever `sentinels` says, and a
  // sentinel written in the text is one piece.
  auto given = params;
  given.set("tokenizer_model", models[0].string(), "test");
  given.set("sentinels", int64_t{0}, "test");
  given.set("corpus", Strings{f.write("sentinel.txt", "the cat <extra_id_1> sat on the mat")}, "test");
  given.set("separator", std::string(""), "test");
  given.set("eval_fraction", 0.0, "test");
  const auto loaded = make(given, f.context("given_cache"));
  CHECK(loaded->units().begins_word == units.begins_word);
  CHECK(loaded->units().sentinel_ids == units.sentinel_ids);
  CHECK(files_named(f.dir / "given_cache", ".model").empty());
  const auto sentinel_batch = loaded->dataset(cloze::Split::train)->collate({0});
  const auto ids = stream_of(*loaded->dataset(cloze::Split::train));
  CHECK(std::count(ids.begin(), ids.end(), units.sentinel_ids[1]) == 1);
  CHECK_THAT(loaded->preview(sentinel_batch, uncorrupted(sentinel_batch), 0), Contains("<extra_id_1>"));

  // Another sentinel count is another model, trained beside the first; with
  // none, the model has no sentinels.
  auto without = params;
  without.set("sentinels", int64_t{0}, "test");
  const auto no_sentinels = make(without, f.context())->units();
  CHECK(files_named(cache, ".model").size() == 2);
  CHECK(no_sentinels.sentinel_ids.empty());
  CHECK(no_sentinels.special_ids.size() == 5);

  given.set("tokenizer", std::string("byte"), "test");
  CHECK_THROWS_WITH(make(given, f.context()), Contains("modality.tokenizer_model") && Contains("byte tokenizer"));
}

TEST_CASE("token cache: built in blocks on every thread, the same ids as on one") {
  Fixture f("token_cache_threads");
  // 10,000 documents of varied length: three blocks of documents, each
  // encoded in parallel.
  std::string text;
  for (int d = 0; d < 10000; ++d)
    text += "document " + std::to_string(d) + std::string(static_cast<std::size_t>(d % 7), '!') + "\n%\n";
  const auto params = text_params({{"corpus", Strings{f.write("many.txt", text)}}, {"separator", std::string("%")},
                                   {"tokenizer", std::string("byte")}, {"eval_fraction", 0.0}});
  const auto build_with = [&](int threads) {
    const int before = at::get_num_threads();
    at::set_num_threads(threads);
    cloze::ModalityContext context = f.context();
    context.cache_dir = f.dir / ("cache-" + std::to_string(threads));
    make(params, context);
    at::set_num_threads(before);
    const auto tokens = files_named(context.cache_dir, "tokens.i32");
    const auto spans = files_named(context.cache_dir, "documents.i64");
    REQUIRE(tokens.size() == 1);
    REQUIRE(spans.size() == 1);
    return std::pair{test_support::read_bytes(tokens[0]), test_support::read_bytes(spans[0])};
  };
  const auto one = build_with(1), four = build_with(4);
  CHECK(one.first == four.first);
  CHECK(one.second == four.second);
  // Every document, in order: "document 9999!!!!!!" and its eos close the stream.
  REQUIRE(one.first.size() == (text.size() - 10000 * 3 + 10000) * sizeof(int32_t));  // less "\n%\n", plus eos
  int32_t last[2];
  std::memcpy(last, one.first.data() + one.first.size() - sizeof last, sizeof last);
  CHECK(last[0] == first_byte + '!');
  CHECK(last[1] == eos);
}

TEST_CASE("sentencepiece trains on a sample of tokenizer_sentences lines, the same each time") {
  Fixture f("sentencepiece_sample");
  const auto corpus = f.write("corpus.txt", synthetic_corpus());
  auto params = text_params({{"corpus", Strings{corpus}}, {"separator", std::string("%")}, {"vocab_size", int64_t{300}},
                             {"eval_fraction", 0.0}, {"tokenizer_sentences", int64_t{40}}});
  const auto model_bytes = [&](const std::string& cache) {
    cloze::ModalityContext context = f.context();
    context.cache_dir = f.dir / cache;
    make(params, context);
    const auto models = files_named(context.cache_dir, ".model");
    REQUIRE(models.size() == 1);
    return test_support::read_bytes(models[0]);
  };
  const std::string sampled = model_bytes("sampled"), again = model_bytes("again");
  CHECK(sampled == again);  // a fixed sample: the same model from the same corpus
  params.set("tokenizer_sentences", int64_t{1000000}, "test");
  CHECK(model_bytes("all") != sampled);  // every line is another training set
}

TEST_CASE("token cache: a second construction reads the cache instead of tokenizing again") {
  Fixture f("token_cache");
  // The document that is not UTF-8 is found by the pass that tokenizes, and
  // kept in the cache so that later runs report it too.
  const auto corpus = f.write("a.txt", "abcdef\n%\nnot \xFF UTF-8\n");
  const auto params = text_params({{"corpus", Strings{corpus}}, {"separator", std::string("%")},
                                   {"tokenizer", std::string("byte")}, {"eval_fraction", 0.0},
                                   {"seq_len", int64_t{8}}});
  const auto unreadable_reported = [&] {
    const auto context = f.skipping_context();
    make(params, context);
    const auto& skipped = context.bad_samples->skipped();
    return skipped.size() == 1 && skipped[0].path == corpus + ":3";
  };
  CHECK(unreadable_reported());
  const auto caches = files_named(f.dir / "cache", "tokens.i32");
  REQUIRE(caches.size() == 1);
  const auto before = snapshot(f.dir / "cache");

  // Mark the cached first id: only a construction that reads the cache sees it.
  {
    std::fstream tokens(caches[0], std::ios::in | std::ios::out | std::ios::binary);
    const int32_t marked = mask;
    tokens.write(reinterpret_cast<const char*>(&marked), sizeof marked);
  }
  fs::last_write_time(caches[0], fs::file_time_type(fs::file_time_type::duration(before.at(caches[0].string()))));
  const auto again = make(params, f.skipping_context())->dataset(cloze::Split::train)->collate({0});
  CHECK(row_ids(again, 0)[0] == mask);
  CHECK(unreadable_reported());
  CHECK(snapshot(f.dir / "cache") == before);

  // Another corpus is another key: tokenized afresh.
  f.write("a.txt", "xyz");
  const auto changed = make(params, f.context())->dataset(cloze::Split::train)->collate({0});
  CHECK(row_ids(changed, 0)[0] == first_byte + 'x');
  CHECK(files_named(f.dir / "cache", "tokens.i32").size() == 2);
}

TEST_CASE("documents that are not UTF-8 follow loader.on_bad_sample, named by file and line") {
  Fixture f("invalid_utf8");
  const auto mixed = f.write("mixed.txt", "good\n%\nbad \xFF here\n%\n\nalso \xC3\x28 bad\n%\nfine\n");
  auto params = text_params({{"corpus", Strings{mixed}}, {"separator", std::string("%")},
                             {"tokenizer", std::string("byte")}, {"eval_fraction", 0.0}});
  // "error", the default: the first bad document stops the run.
  CHECK_THROWS_WITH(make(params, f.context()), Contains(mixed + ":3: cannot be read (not valid UTF-8: byte 0xFF at column 5)") &&
                                                   Contains("nor can 1 more in [" + mixed + "]"));

  // "skip": left out and listed, each at the line of its first bad byte.
  const auto skipping = f.skipping_context();
  const auto text_modality = make(params, skipping);
  CHECK(byte_documents(*text_modality->dataset(cloze::Split::train)) == Strings{"good", "fine"});
  const auto& skipped = skipping.bad_samples->skipped();
  REQUIRE(skipped.size() == 2);
  CHECK(skipped[0].path == mixed + ":3");
  CHECK(skipped[1].path == mixed + ":6");
  CHECK(skipped[1].reason == "not valid UTF-8: byte 0xC3 at column 6");

  // Past loader.max_bad_fraction (2 of 4 documents here) the corpus is broken.
  auto strict = f.context();
  strict.bad_samples = std::make_shared<cloze::BadSamples>(/*skip=*/true, /*max_fraction=*/0.25);
  CHECK_THROWS_WITH(make(params, strict), Contains("2 of 4 documents cannot be read (50.0%"));

  const auto invalid = f.write("invalid.txt", "\xC0\xAF overlong slash");
  params.set("corpus", Strings{invalid}, "test");
  CHECK_THROWS_WITH(make(params, skipping), Contains("holds no text"));
}

TEST_CASE("jsonl documents that are not UTF-8 are named by their line") {
  Fixture f("invalid_utf8_jsonl");
  const auto records = f.write("r.jsonl", "{\"text\": \"one\"}\n\n{\"text\": \"t\xFFwo\"}\n{\"text\": \"three\"}\n");
  const auto params = text_params({{"corpus", Strings{records}}, {"format", std::string("jsonl")},
                                   {"tokenizer", std::string("byte")}, {"eval_fraction", 0.0}});
  const auto skipping = f.skipping_context();
  const auto text_modality = make(params, skipping);
  CHECK(byte_documents(*text_modality->dataset(cloze::Split::train)) == Strings{"one", "three"});
  REQUIRE(skipping.bad_samples->skipped().size() == 1);
  CHECK(skipping.bad_samples->skipped()[0].path == records + ":3");
}

TEST_CASE("corpus errors name the key and the path") {
  Fixture f("errors");
  auto params = text_params({{"tokenizer", std::string("byte")}, {"eval_fraction", 0.0}});
  CHECK_THROWS_WITH(make(params, f.context()), Contains("modality.corpus = []") && Contains("names no files"));

  const auto missing = (f.dir / "missing.txt").string();
  params.set("corpus", Strings{f.write("a.txt", "text"), missing}, "test");
  CHECK_THROWS_WITH(make(params, f.context()), Contains("modality.corpus") && Contains(missing + ": no such file"));

  const auto empty = f.write("empty/a.txt", "");
  f.write("empty/b.txt", "\n  \n");
  params.set("corpus", Strings{(f.dir / "empty").string()}, "test");
  CHECK_THROWS_WITH(make(params, f.context()), Contains((f.dir / "empty").string()) && Contains("holds no text"));

  f.write("indexes/a.dat", "text");
  params.set("corpus", Strings{(f.dir / "indexes").string()}, "test");
  params.set("exclude", Strings{"*.dat"}, "test");
  CHECK_THROWS_WITH(make(params, f.context()), Contains("no files in") && Contains("outside the excluded [*.dat]"));

  params = text_params({{"corpus", Strings{f.write("one.txt", "a single document")}},
                        {"tokenizer", std::string("byte")}});
  CHECK_THROWS_WITH(make(params, f.context()), Contains("modality.eval_fraction") && Contains("single document"));
  CHECK_THROWS_WITH(params.set("format", std::string("xml"), "test"),
                    Contains("test: modality.format = \"xml\": must be \"plain\" or \"jsonl\""));
}

TEST_CASE("collate: the same indices give the same batch, from any thread") {
  Fixture f("collate");
  std::string text;
  for (int i = 0; i < 50; ++i) text += "document number " + std::to_string(i) + "\n%\n";
  const auto params = text_params({{"corpus", Strings{f.write("a.txt", text)}}, {"separator", std::string("%")},
                                   {"tokenizer", std::string("byte")}, {"seq_len", int64_t{16}}});
  const auto train = make(params, f.context())->dataset(cloze::Split::train);
  REQUIRE(train->size() > 10);
  const std::vector<int64_t> picked{7, 0, 3, 7};
  const auto batch = train->collate(picked);
  CHECK(batch.sample_ids == picked);
  CHECK(batch.grid == cloze::Grid{{16}});
  CHECK(batch.labels.sizes() == at::IntArrayRef{4});
  CHECK(batch.units[0].equal(batch.units[3]));
  CHECK(train->collate({3}).units[0].equal(batch.units[2]));

  std::vector<cloze::Batch> batches(4);
  std::vector<std::thread> threads;
  for (auto& out : batches) threads.emplace_back([&] { out = train->collate(picked); });
  for (auto& thread : threads) thread.join();
  for (const auto& out : batches) {
    CHECK(out.units.equal(batch.units));
    CHECK(out.padding.equal(batch.padding));
    CHECK(out.labels.equal(batch.labels));
  }
  CHECK_THROWS_WITH(train->collate({train->size()}), Contains("out of range"));
}

TEST_CASE("train/eval split: disjoint, complete, and the same in every run") {
  Fixture f("split");
  std::string text;
  Strings all;
  for (int i = 0; i < 40; ++i) {
    all.push_back("doc " + std::to_string(i));
    text += all.back() + "\n%\n";
  }
  auto params = text_params({{"corpus", Strings{f.write("a.txt", text)}}, {"separator", std::string("%")},
                             {"tokenizer", std::string("byte")}, {"eval_fraction", 0.25}, {"seq_len", int64_t{32}}});
  const auto first = make(params, f.context());
  const auto train = byte_documents(*first->dataset(cloze::Split::train));
  const auto eval = byte_documents(*first->dataset(cloze::Split::eval));
  CHECK(eval.size() >= 4);
  CHECK(eval.size() <= 16);
  Strings both = train;
  both.insert(both.end(), eval.begin(), eval.end());
  std::sort(both.begin(), both.end());
  Strings expected = all;
  std::sort(expected.begin(), expected.end());
  CHECK(both == expected);  // each document in exactly one split

  // Another run: another cache folder and seed, the same split.
  const auto second = make(params, cloze::ModalityContext{f.dir / "cache2", 12345});
  CHECK(byte_documents(*second->dataset(cloze::Split::eval)) == eval);

  // A fraction too small to pick any document still holds one out.
  params.set("corpus", Strings{f.write("two.txt", "first\n%\nsecond\n")}, "test");
  params.set("eval_fraction", 0.001, "test");
  const auto two = make(params, f.context());
  CHECK(byte_documents(*two->dataset(cloze::Split::train)) == Strings{"first"});
  CHECK(byte_documents(*two->dataset(cloze::Split::eval)) == Strings{"second"});
}

TEST_CASE("preview marks corrupted units as [seen→original]") {
  Fixture f("preview");
  const auto params = text_params({{"corpus", Strings{f.write("a.txt", "abcd")}}, {"tokenizer", std::string("byte")},
                                   {"eval_fraction", 0.0}, {"seq_len", int64_t{8}}});
  const auto text_modality = make(params, f.context());
  const auto batch = text_modality->dataset(cloze::Split::train)->collate({0});

  cloze::Corrupted in_place = uncorrupted(batch);
  in_place.input = batch.units.clone();
  in_place.input[0][1] = mask;
  in_place.input[0][2] = first_byte + 'z';
  in_place.loss_mask = at::zeros_like(batch.padding);
  in_place.loss_mask[0][1] = true;
  in_place.loss_mask[0][2] = true;
  CHECK(text_modality->preview(batch, in_place, 0) == "a[[MASK]→b][z→c]d</s>");

  // Fill mode: the encoder saw the kept units only, at their positions.
  cloze::Corrupted fill;
  fill.mode = cloze::ReconstructionMode::fill;
  fill.input = batch.units.narrow(1, 0, 2).clone();
  fill.input_positions = at::arange(2, at::kLong).unsqueeze(0);
  fill.target = batch.units;
  fill.loss_mask = at::zeros_like(batch.padding);
  fill.loss_mask[0][2] = true;
  fill.loss_mask[0][3] = true;
  CHECK(text_modality->preview(batch, fill, 0) == "ab[_→c][_→d]</s>");
}
