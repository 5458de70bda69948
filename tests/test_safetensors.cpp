// safetensors: round trips of every kind of tensor cloze writes, the bytes on
// disk read back raw against the specification, and malformed files refused
// with an error that names the file.
#include <ATen/Functions.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "cloze/core/error.h"
#include "cloze/io/safetensors.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace {

using test_support::read_bytes;
using test_support::write_bytes;

// A fresh folder per test, removed afterwards.
struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("safetensors") {}
};

uint64_t le64(const std::string& bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  return n;
}

// A file from a header and a buffer, padded as the format asks.
std::string file_of(std::string header, const std::string& buffer) {
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return bytes + header + buffer;
}

// Asserts that loading `path` throws a cloze::Error naming the file and `problem`.
void require_refused(const fs::path& path, const std::string& problem) {
  try {
    cloze::load_safetensors(path);
    FAIL("loaded a malformed file: " << path);
  } catch (const cloze::Error& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(message.find(problem) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("safetensors round trip keeps dtypes, shapes, values and metadata", "[safetensors]") {
  TempDir dir;
  const fs::path path = dir.path / "weights.safetensors";
  at::manual_seed(7);
  cloze::TensorMap tensors{
      {"f32", at::randn({3, 5})},
      {"bf16", at::randn({4, 2}).to(at::kBFloat16)},
      {"f16", at::randn({7}).to(at::kHalf)},
      {"f64", at::randn({2, 2}, at::kDouble)},
      {"i64", at::arange(-6, 6, at::kLong).view({3, 4})},
      {"i32", at::arange(5, at::kInt)},
      {"i16", at::arange(-3, 3, at::kShort)},
      {"i8", at::arange(-100, 100, 37, at::kChar)},
      {"u8", at::arange(250, 256, at::kLong).to(at::kByte)},
      {"bool", at::rand({9}) > 0.5},
      {"scalar", at::full({}, 3.25)},
      {"empty", at::zeros({0, 4})},
      {"strided", at::randn({4, 6}).t()},  // written contiguously
  };
  const cloze::Metadata metadata{{"config", "[model]\ndim = 32\n"}, {"note", "ünïcode"}};
  cloze::save_safetensors(path, tensors, metadata);

  const auto loaded = cloze::load_safetensors(path);
  CHECK(loaded.metadata == metadata);
  REQUIRE(loaded.tensors.size() == tensors.size());
  for (const auto& [name, tensor] : tensors) {
    INFO(name);
    REQUIRE(loaded.tensors.count(name) == 1);
    const at::Tensor& back = loaded.tensors.at(name);
    CHECK(back.scalar_type() == tensor.scalar_type());
    CHECK(back.sizes() == tensor.sizes());
    CHECK(back.equal(tensor));
  }
  // No temporary is left beside the file.
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("loaded tensors own their memory", "[safetensors]") {
  TempDir dir;
  const fs::path path = dir.path / "a.safetensors";
  cloze::save_safetensors(path, {{"a", at::arange(4, at::kFloat)}, {"b", at::ones({2})}});
  at::Tensor a = cloze::load_safetensors(path).tensors.at("a");  // the map is gone
  fs::remove(path);
  CHECK(a.equal(at::arange(4, at::kFloat)));
  a.add_(1);  // writable
  CHECK(a.sum().item<float>() == 10.0f);
}

TEST_CASE("safetensors bytes on disk follow the specification", "[safetensors]") {
  TempDir dir;
  const fs::path path = dir.path / "raw.safetensors";
  const at::Tensor values = at::tensor({1.5f, -2.0f, 3.0f});
  const at::Tensor ids = at::tensor({int64_t{7}, int64_t{-1}});
  cloze::save_safetensors(path, {{"values", values}, {"ids", ids}}, {{"k", "v"}});

  const std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() >= 8);
  const uint64_t n = le64(bytes);
  CHECK((8 + n) % 8 == 0);
  const std::size_t data_bytes = 3 * 4 + 2 * 8;
  REQUIRE(bytes.size() == 8 + n + data_bytes);

  const std::string header = bytes.substr(8, n);
  CHECK(header.front() == '{');
  const std::size_t end = header.find_last_not_of(' ');
  CHECK(header[end] == '}');
  CHECK(n - (end + 1) < 8);  // padding only to the next multiple of 8

  const auto json = nlohmann::json::parse(header);
  CHECK(json["__metadata__"] == nlohmann::json{{"k", "v"}});
  CHECK(json["values"]["dtype"] == "F32");
  CHECK(json["values"]["shape"] == nlohmann::json::array({3}));
  CHECK(json["ids"]["dtype"] == "I64");
  CHECK(json["ids"]["shape"] == nlohmann::json::array({2}));
  // Contiguous, in order, no gaps: ids (first by name) then values.
  CHECK(json["ids"]["data_offsets"] == nlohmann::json::array({0, 16}));
  CHECK(json["values"]["data_offsets"] == nlohmann::json::array({16, 28}));

  const std::string buffer = bytes.substr(8 + n);
  CHECK(std::memcmp(buffer.data(), ids.data_ptr(), 16) == 0);
  CHECK(std::memcmp(buffer.data() + 16, values.data_ptr(), 12) == 0);
}

TEST_CASE("an empty tensor map makes a valid file", "[safetensors]") {
  TempDir dir;
  const fs::path path = dir.path / "empty.safetensors";
  cloze::save_safetensors(path, {});
  CHECK(read_bytes(path).size() % 8 == 0);
  const auto loaded = cloze::load_safetensors(path);
  CHECK(loaded.tensors.empty());
  CHECK(loaded.metadata.empty());
}

TEST_CASE("save overwrites an existing file and refuses what it cannot store", "[safetensors]") {
  TempDir dir;
  const fs::path path = dir.path / "w.safetensors";
  cloze::save_safetensors(path, {{"x", at::zeros({100})}});
  cloze::save_safetensors(path, {{"y", at::ones({2})}});
  const auto loaded = cloze::load_safetensors(path);
  CHECK(loaded.tensors.size() == 1);
  CHECK(loaded.tensors.count("y") == 1);

  CHECK_THROWS_WITH(cloze::save_safetensors(path, {{"c", at::zeros({2}, at::kComplexFloat)}}),
                    Catch::Contains("'c'") && Catch::Contains(path.string()));
  CHECK_THROWS_WITH(cloze::save_safetensors(path, {{"__metadata__", at::zeros({2})}}),
                    Catch::Contains("__metadata__"));
  CHECK_THROWS_WITH(cloze::save_safetensors(dir.path / "missing" / "w.safetensors", {{"x", at::zeros({1})}}),
                    Catch::Contains("missing"));
  // The refused saves left the earlier file as it was.
  CHECK(cloze::load_safetensors(path).tensors.at("y").equal(at::ones({2})));
}

TEST_CASE("malformed safetensors files are refused naming the file", "[safetensors]") {
  TempDir dir;
  const fs::path good = dir.path / "good.safetensors";
  cloze::save_safetensors(good, {{"a", at::arange(6, at::kFloat)}, {"b", at::arange(3, at::kLong)}});
  const std::string bytes = read_bytes(good);
  const fs::path bad = dir.path / "bad.safetensors";

  SECTION("missing") { require_refused(dir.path / "nope.safetensors", "cannot open"); }
  SECTION("shorter than the length field") {
    write_bytes(bad, bytes.substr(0, 5));
    require_refused(bad, "too short");
  }
  SECTION("truncated inside the header") {
    write_bytes(bad, bytes.substr(0, 20));
    require_refused(bad, "runs past the end of the file");
  }
  SECTION("truncated inside the data") {
    write_bytes(bad, bytes.substr(0, bytes.size() - 4));
    require_refused(bad, "out of range");
  }
  SECTION("trailing bytes no tensor claims") {
    write_bytes(bad, bytes + std::string(8, '\0'));
    require_refused(bad, "cover only");
  }
  SECTION("bad JSON") {
    write_bytes(bad, file_of(R"({"a": {"dtype": "F32", )", ""));
    require_refused(bad, "not valid JSON");
  }
  SECTION("header not an object") {
    write_bytes(bad, file_of("[1, 2]", ""));
    require_refused(bad, "does not start with '{'");
  }
  SECTION("unknown dtype") {
    write_bytes(bad, file_of(R"({"a": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}})", "x"));
    require_refused(bad, "unknown dtype \"F8\"");
  }
  SECTION("offsets out of range") {
    write_bytes(bad, file_of(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}})", "xy"));
    require_refused(bad, "out of range");
  }
  SECTION("shape disagrees with the byte count") {
    write_bytes(bad, file_of(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", "12345678"));
    require_refused(bad, "needs 12");
  }
  SECTION("overlapping tensors") {
    write_bytes(bad, file_of(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
                             R"( "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}})",
                             "123456"));
    require_refused(bad, "overlapping");
  }
  SECTION("a gap between tensors") {
    write_bytes(bad, file_of(R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},)"
                             R"( "b": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]}})",
                             "123456"));
    require_refused(bad, "gap");
  }
  SECTION("negative offsets") {
    write_bytes(bad, file_of(R"({"a": {"dtype": "U8", "shape": [0], "data_offsets": [-1, -1]}})", ""));
    require_refused(bad, "non-negative integer");
  }
  SECTION("a missing field") {
    write_bytes(bad, file_of(R"({"a": {"dtype": "U8", "data_offsets": [0, 1]}})", "x"));
    require_refused(bad, "no \"shape\"");
  }
  SECTION("a duplicate name") {
    write_bytes(bad, file_of(R"({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},)"
                             R"( "a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}})",
                             "xy"));
    require_refused(bad, "twice");
  }
  SECTION("metadata that is not strings") {
    write_bytes(bad, file_of(R"({"__metadata__": {"step": 3}})", ""));
    require_refused(bad, "not a string");
  }
}
