// The image modality (plugins/image), loaded from the build tree like any
// plugin: patchify's layout, reading IDX files (plain and gzipped) and folders
// of pictures, resize and centre crop, normalisation, the unit spec, previews,
// pictures and the errors a user sees. Every case writes its own tiny
// fixtures; none needs the Fashion-MNIST package.
#include <catch2/catch.hpp>

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <zlib.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "augment.h"
#include "cloze/core/corrupted.h"
#include "cloze/core/modality.h"
#include "cloze/core/params.h"
#include "cloze/core/registry.h"
#include "cloze/core/rng.h"
#include "cloze/data/loader.h"
#include "cloze/data/patches.h"
#include "cloze/data/tar_shards.h"
#include "tar_writer.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Bytes = std::vector<uint8_t>;

using test_support::registry;

// A fresh folder per test case: ctest runs the cases in parallel.
struct Fixture : test_support::Fixture {
  explicit Fixture(const std::string& name) : test_support::Fixture("image", name) {}
};

cloze::Params image_params(const fs::path& path, const test_support::Settings& values) {
  test_support::Settings settings{{"path", path.string()}};
  settings.insert(settings.end(), values.begin(), values.end());
  return test_support::modality_params("image", settings);
}

std::shared_ptr<cloze::Modality> make(const cloze::Params& params,
                                      std::shared_ptr<cloze::BadSamples> bad_samples = nullptr, uint64_t seed = 0) {
  return test_support::make_modality("image", params, std::move(bad_samples), seed);
}

// loader.on_bad_sample = "skip" with loader.max_bad_fraction = `fraction`.
std::shared_ptr<cloze::BadSamples> skipping(double fraction) {
  return std::make_shared<cloze::BadSamples>(true, fraction);
}

using test_support::whole_split;

// The batch's units back as pixels [B, C, H, W] in [0, 255] (normalize = "none").
at::Tensor pixels_of(const cloze::Batch& batch, int64_t patch, int64_t channels) {
  return cloze::unpatchify(batch.units, patch, channels, batch.grid).mul(255).round().to(at::kByte);
}

// --- IDX fixtures --------------------------------------------------------

void put_u32(Bytes& bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<uint8_t>(value >> shift));
}

Bytes idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, const Bytes& values) {
  Bytes bytes;
  put_u32(bytes, magic);
  for (const uint32_t d : dims) put_u32(bytes, d);
  bytes.insert(bytes.end(), values.begin(), values.end());
  return bytes;
}

void write_file(const fs::path& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
}

void write_gz(const fs::path& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file);
  REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(file) == Z_OK);
}

// `count` side x side images, pixel i of image s = (37 s + 11 i) mod 256, and labels s mod 10.
struct IdxSplit {
  Bytes pixels, labels;
};

IdxSplit idx_split(int64_t count, int64_t side, int64_t seed) {
  IdxSplit split;
  for (int64_t s = 0; s < count; ++s) {
    for (int64_t i = 0; i < side * side; ++i) split.pixels.push_back(static_cast<uint8_t>((37 * (s + seed) + 11 * i) % 256));
    split.labels.push_back(static_cast<uint8_t>((s + seed) % 10));
  }
  return split;
}

// An IDX folder: 6 train and 3 eval images of 8 x 8.
void write_idx_folder(const fs::path& folder, bool gz) {
  fs::create_directories(folder);
  const auto write = [&](const std::string& name, const Bytes& bytes) {
    gz ? write_gz(folder / (name + ".gz"), bytes) : write_file(folder / name, bytes);
  };
  for (const auto& [prefix, count, seed] : {std::tuple{"train", 6, 0}, std::tuple{"t10k", 3, 6}}) {
    const IdxSplit split = idx_split(count, 8, seed);
    write(std::string(prefix) + "-images-idx3-ubyte", idx_bytes(0x803, {uint32_t(count), 8, 8}, split.pixels));
    write(std::string(prefix) + "-labels-idx1-ubyte", idx_bytes(0x801, {uint32_t(count)}, split.labels));
  }
}

// --- picture fixtures ----------------------------------------------------

void write_png(const fs::path& path, const cv::Mat& picture) {
  fs::create_directories(path.parent_path());
  REQUIRE(cv::imwrite(path.string(), picture));
}

cv::Mat random_picture(int rows, int cols, int type) {
  cv::Mat picture(rows, cols, type);
  cv::randu(picture, cv::Scalar::all(0), cv::Scalar::all(256));
  return picture;
}

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// Everything the process writes to file descriptor 2 (C's stderr, std::cerr
// and every library's, from any thread) while `run` runs, through `file`.
template <typename Run>
std::string stderr_of(const fs::path& file, Run&& run) {
  std::fflush(stderr);
  const int saved = ::dup(2);
  const int capture = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(saved >= 0);
  REQUIRE(capture >= 0);
  REQUIRE(::dup2(capture, 2) == 2);
  ::close(capture);
  struct Restore {
    int saved;
    ~Restore() {
      std::fflush(stderr);
      ::dup2(saved, 2);
      ::close(saved);
    }
  };
  {
    const Restore restore{saved};
    run();
  }
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}


}  // namespace

TEST_CASE("patchify cuts [B, C, H, W] into row-major patches of (row, col, channel) values, and unpatchify undoes it") {
  const int64_t p = 4, channels = 3;
  const at::Tensor x = at::rand({2, channels, 8, 12});
  const at::Tensor patches = cloze::patchify(x, p);
  const cloze::Grid grid = cloze::patch_grid(8, 12, p);
  REQUIRE(grid.dims == std::vector<int64_t>{2, 3});
  REQUIRE(patches.sizes() == at::IntArrayRef({2, 6, p * p * channels}));
  CHECK(cloze::unpatchify(patches, p, channels, grid).equal(x));
  for (int64_t n = 0; n < grid.numel(); ++n) {
    const int64_t row = n / grid.dims[1], col = n % grid.dims[1];
    for (int64_t i = 0; i < p; ++i)
      for (int64_t j = 0; j < p; ++j)
        for (int64_t c = 0; c < channels; ++c)
          REQUIRE(patches[1][n][(i * p + j) * channels + c].item<float>() ==
                  x[1][c][row * p + i][col * p + j].item<float>());
  }
}

TEST_CASE("IDX: pixels and labels read back exactly, plain and gzipped alike") {
  Fixture f("idx_exact");
  write_idx_folder(f.dir / "plain", false);
  write_idx_folder(f.dir / "gz", true);
  for (const char* kind : {"plain", "gz"}) {
    INFO(kind);
    const auto modality = make(image_params(f.dir / kind, {{"normalize", std::string("none")}}));
    const auto train = whole_split(*modality, cloze::Split::train);
    const auto eval = whole_split(*modality, cloze::Split::eval);
    REQUIRE(train.size() == 6);
    REQUIRE(eval.size() == 3);
    for (const auto& [batch, count, seed] : {std::tuple{&train, 6, 0}, std::tuple{&eval, 3, 6}}) {
      IdxSplit expected = idx_split(count, 8, seed);
      const at::Tensor pixels = at::from_blob(expected.pixels.data(), {count, 1, 8, 8}, at::kByte);
      const at::Tensor labels = at::from_blob(expected.labels.data(), {count}, at::kByte).to(at::kLong);
      CHECK(pixels_of(*batch, 4, 1).equal(pixels));
      CHECK(batch->labels.equal(labels));
      CHECK_FALSE(batch->padding.any().item<bool>());
    }
  }
  const auto plain = make(image_params(f.dir / "plain", {}));
  const auto gz = make(image_params(f.dir / "gz", {}));
  CHECK(whole_split(*plain, cloze::Split::train).units.equal(whole_split(*gz, cloze::Split::train).units));
}

TEST_CASE("IDX: image_size resizes, channels = 3 repeats grey, max_train and max_eval cut the splits") {
  Fixture f("idx_shape");
  write_idx_folder(f.dir, true);
  const auto modality = make(image_params(f.dir, {{"image_size", int64_t{4}},
                                                  {"channels", int64_t{3}},
                                                  {"patch_size", int64_t{2}},
                                                  {"max_train", int64_t{4}},
                                                  {"max_eval", int64_t{2}},
                                                  {"normalize", std::string("none")}}));
  CHECK(modality->grid().dims == std::vector<int64_t>{2, 2});
  CHECK(modality->dataset(cloze::Split::train)->size() == 4);
  CHECK(modality->dataset(cloze::Split::eval)->size() == 2);
  const at::Tensor pixels = pixels_of(whole_split(*modality, cloze::Split::train), 2, 3);  // [4, 3, 4, 4]
  CHECK(pixels[0][0].equal(pixels[0][1]));
  CHECK(pixels[0][0].equal(pixels[0][2]));
}

TEST_CASE("IDX: a wrong magic number, a truncated file or unequal counts is an error naming the file") {
  Fixture f("idx_errors");
  const IdxSplit split = idx_split(6, 8, 0);
  const auto base = [&](const fs::path& folder) {
    write_idx_folder(folder, false);
    return folder;
  };

  const fs::path magic = base(f.dir / "magic");
  write_file(magic / "train-images-idx3-ubyte", idx_bytes(0x802, {6, 8}, split.pixels));
  CHECK_THROWS_WITH(make(image_params(magic, {})),
                    Contains((magic / "train-images-idx3-ubyte").string() +
                             ": magic number 0x00000802, expected 0x00000803 (IDX unsigned-byte images)"));

  const fs::path labels_magic = base(f.dir / "labels_magic");
  write_file(labels_magic / "t10k-labels-idx1-ubyte", idx_bytes(0x803, {3}, {0, 1, 2}));
  CHECK_THROWS_WITH(make(image_params(labels_magic, {})),
                    Contains((labels_magic / "t10k-labels-idx1-ubyte").string() + ": magic number 0x00000803"));

  const fs::path truncated = base(f.dir / "truncated");
  const Bytes short_pixels(split.pixels.begin(), split.pixels.end() - 10);
  write_file(truncated / "train-images-idx3-ubyte", idx_bytes(0x803, {6, 8, 8}, short_pixels));
  CHECK_THROWS_WITH(make(image_params(truncated, {})),
                    Contains((truncated / "train-images-idx3-ubyte").string() + ": truncated"));

  const fs::path truncated_gz = f.dir / "truncated_gz";
  write_idx_folder(truncated_gz, true);
  const fs::path gz = truncated_gz / "train-images-idx3-ubyte.gz";
  Bytes compressed = read_bytes(gz);
  compressed.resize(compressed.size() / 2);
  write_file(gz, compressed);
  CHECK_THROWS_WITH(make(image_params(truncated_gz, {})), Contains(gz.string()));

  const fs::path counts = base(f.dir / "counts");
  write_file(counts / "train-labels-idx1-ubyte", idx_bytes(0x801, {5}, {0, 1, 2, 3, 4}));
  CHECK_THROWS_WITH(make(image_params(counts, {})),
                    Contains("6 images") && Contains("5 labels") &&
                        Contains((counts / "train-labels-idx1-ubyte").string()));

  const fs::path missing = base(f.dir / "missing");
  fs::remove(missing / "t10k-labels-idx1-ubyte");
  CHECK_THROWS_WITH(make(image_params(missing, {{"format", std::string("idx")}})),
                    Contains("t10k-labels-idx1-ubyte"));
}

TEST_CASE("IDX: a folder called fashion-mnist names its labels after Fashion-MNIST's classes") {
  Fixture f("idx_names");
  write_idx_folder(f.dir / "fashion-mnist", false);
  write_idx_folder(f.dir / "digits", false);
  const auto fashion = make(image_params(f.dir / "fashion-mnist", {}));
  const auto digits = make(image_params(f.dir / "digits", {}));
  const auto batch = whole_split(*fashion, cloze::Split::eval);  // labels 6, 7, 8
  cloze::Corrupted corrupted;
  corrupted.loss_mask = at::zeros({3, 4}, at::kBool);
  CHECK_THAT(fashion->preview(batch, corrupted, 1), Contains("Sneaker"));
  CHECK_THAT(digits->preview(batch, corrupted, 1), Contains("7"));
}

TEST_CASE("folder: labels are the sorted sub-folder names; an unreadable picture stops the batch that meets it, or "
          "the next readable one stands in and it is listed") {
  Fixture f("folder_labels");
  for (const char* name : {"b.png", "c.png"}) write_png(f.dir / "dog" / name, random_picture(12, 10, CV_8UC3));
  for (const char* name : {"a.png", "d.jpg", "e.png"}) write_png(f.dir / "cat" / name, random_picture(10, 10, CV_8UC3));
  std::ofstream(f.dir / "cat" / "empty.png").flush();  // zero bytes
  const Bytes good = read_bytes(f.dir / "cat" / "a.png");
  write_file(f.dir / "cat" / "truncated.png", Bytes(good.begin(), good.begin() + static_cast<long>(good.size() / 3)));

  const auto params =
      image_params(f.dir, {{"format", std::string("folder")}, {"image_size", int64_t{8}}, {"eval_fraction", 0.0}});
  const auto unnormalized = [&] {
    cloze::Params copy = params;
    copy.set("normalize", std::string("none"), "test");
    return copy;
  }();
  // loader.on_bad_sample = "error", the default: the first unreadable file is
  // named, by the statistics of normalize = "dataset" when the modality is
  // built, or by the first batch that holds it: nothing is decoded up front.
  const std::string stops = (f.dir / "cat" / "empty.png").string() +
                            ": cannot be read (the file is empty); set loader.on_bad_sample = \"skip\"";
  CHECK_THROWS_WITH(make(params), Contains(stops));
  const auto lazy = make(unnormalized);
  CHECK(lazy->dataset(cloze::Split::train)->size() == 7);
  CHECK_NOTHROW(lazy->dataset(cloze::Split::train)->collate({0, 1, 2}));
  CHECK_THROWS_WITH(lazy->dataset(cloze::Split::train)->collate({3}), Contains(stops));
  // "skip": listed, unless more than max_bad_fraction of the folder's files.
  CHECK_THROWS_WITH(whole_split(*make(unnormalized, skipping(0.25)), cloze::Split::train),
                    Contains("2 of 7 files cannot be read (28.6%") &&
                        Contains("the latest is " + (f.dir / "cat" / "truncated.png").string()));
  const auto bad = skipping(0.3);
  const auto modality = make(params, bad);
  REQUIRE(bad->skipped().size() == 2);
  CHECK(bad->skipped()[0].path == f.dir / "cat" / "empty.png");
  CHECK(bad->skipped()[1].path == f.dir / "cat" / "truncated.png");
  CHECK_THAT(cloze::to_jsonl(bad->skipped()), Contains("{\"path\":\"" + (f.dir / "cat" / "truncated.png").string() + "\",\"reason\":"));
  // Sorted: cat/a, cat/d, cat/e, cat/empty, cat/truncated, dog/b, dog/c; the
  // two unreadable ones read as the next readable picture, dog/b.
  const auto batch = whole_split(*modality, cloze::Split::train);
  CHECK(batch.labels.equal(at::tensor(std::vector<int64_t>{0, 0, 0, 1, 1, 1, 1}, at::kLong)));
  CHECK(batch.units[3].equal(batch.units[5]));
  CHECK(batch.units[4].equal(batch.units[5]));
  CHECK(batch.sample_ids == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(bad->skipped().size() == 2);  // met again, listed once
  CHECK(modality->dataset(cloze::Split::eval)->size() == 0);
  cloze::Corrupted corrupted;
  corrupted.loss_mask = at::zeros({7, 4}, at::kBool);
  CHECK_THAT(modality->preview(batch, corrupted, 5), Contains("dog"));
}

TEST_CASE("folder: a truncated or damaged PNG is named with what is wrong, and libpng prints nothing") {
  Fixture f("folder_damaged_png");
  write_png(f.dir / "a" / "good.png", random_picture(12, 12, CV_8UC3));
  const Bytes good = read_bytes(f.dir / "a" / "good.png");
  REQUIRE(good.size() > 60);
  // The last 12 bytes are IEND; the 4 before them IDAT's CRC, preceded by its data.
  write_file(f.dir / "a" / "half.png", Bytes(good.begin(), good.begin() + static_cast<long>(good.size() / 2)));
  write_file(f.dir / "a" / "no_end.png", Bytes(good.begin(), good.end() - 12));
  Bytes flipped = good;
  flipped[good.size() - 20] ^= 0xff;
  write_file(f.dir / "a" / "flipped.png", flipped);
  const auto params =
      image_params(f.dir, {{"format", std::string("folder")}, {"image_size", int64_t{8}}, {"eval_fraction", 0.0}});

  // Each of these files made libpng print "libpng error: ..." beside cloze's message.
  const std::string printed = stderr_of(f.dir / "stderr.txt", [&] {
    CHECK_THROWS_WITH(make(params), Contains((f.dir / "a" / "flipped.png").string() +
                                             ": cannot be read (damaged PNG: its IDAT chunk at byte") &&
                                        Contains("fails its CRC"));
    const auto bad = skipping(1.0);
    make(params, bad);
    REQUIRE(bad->skipped().size() == 3);  // sorted: flipped, half, no_end
    CHECK_THAT(bad->skipped()[1].reason, Contains("damaged PNG: truncated: it ends inside its IDAT chunk at byte"));
    CHECK(bad->skipped()[2].reason ==
          "damaged PNG: truncated: it ends at byte " + std::to_string(good.size() - 12) + ", before its IEND chunk");
  });
  CHECK(printed.empty());
}

TEST_CASE("folder: train/ and val/ sub-folders are the splits, otherwise a fixed hash of the path holds out eval") {
  Fixture f("folder_splits");
  for (int i = 0; i < 3; ++i) {
    write_png(f.dir / "split" / "train" / "a" / (std::to_string(i) + ".png"), random_picture(8, 8, CV_8UC1));
    write_png(f.dir / "split" / "train" / "b" / (std::to_string(i) + ".png"), random_picture(8, 8, CV_8UC1));
  }
  write_png(f.dir / "split" / "val" / "b" / "0.png", random_picture(8, 8, CV_8UC1));
  const auto split = make(image_params(f.dir / "split", {{"image_size", int64_t{8}}}));
  CHECK(split->dataset(cloze::Split::train)->size() == 6);
  CHECK(whole_split(*split, cloze::Split::eval).labels.equal(at::tensor(std::vector<int64_t>{1}, at::kLong)));

  write_png(f.dir / "split" / "val" / "zebra" / "0.png", random_picture(8, 8, CV_8UC1));
  CHECK_THROWS_WITH(make(image_params(f.dir / "split", {{"image_size", int64_t{8}}})),
                    Contains((f.dir / "split" / "val" / "zebra").string()));

  for (int i = 0; i < 20; ++i) write_png(f.dir / "hashed" / "x" / (std::to_string(i) + ".png"), random_picture(8, 8, CV_8UC1));
  const auto params = image_params(f.dir / "hashed", {{"image_size", int64_t{8}}, {"eval_fraction", 0.3}});
  const auto first = make(params), second = make(params);
  const int64_t eval = first->dataset(cloze::Split::eval)->size();
  CHECK(eval > 0);
  CHECK(eval < 20);
  CHECK(first->dataset(cloze::Split::train)->size() == 20 - eval);
  CHECK(whole_split(*first, cloze::Split::eval).units.equal(whole_split(*second, cloze::Split::eval).units));
}

TEST_CASE("folder: nothing readable is an error naming the folder, and a folder needs image_size") {
  Fixture f("folder_errors");
  fs::create_directories(f.dir / "bad" / "c");
  std::ofstream(f.dir / "bad" / "c" / "empty.png").flush();
  std::ofstream(f.dir / "bad" / "c" / "text.jpg") << "not a picture";
  CHECK_THROWS_WITH(make(image_params(f.dir / "bad", {{"image_size", int64_t{8}}}), skipping(1.0)),
                    Contains((f.dir / "bad").string() + ": none of the split's files can be read (1 tried)"));
  fs::create_directories(f.dir / "none");
  CHECK_THROWS_WITH(make(image_params(f.dir / "none", {{"image_size", int64_t{8}}})),
                    Contains((f.dir / "none").string()) && Contains("holds no"));
  CHECK_THROWS_WITH(make(image_params(f.dir / "bad", {})), Contains("modality.image_size = 0"));
  CHECK_THROWS_WITH(make(image_params(f.dir / "nowhere", {})), Contains("modality.path") && Contains("no such folder"));
  CHECK_THROWS_WITH(make(image_params(f.dir / "bad", {{"image_size", int64_t{10}}})),
                    Contains("modality.patch_size = 4"));
  CHECK_THROWS_WITH(make(image_params(f.dir / "bad", {{"image_size", int64_t{8}}, {"channels", int64_t{2}}})),
                    Contains("modality.channels = 2"));
  CHECK_THROWS_WITH(make(image_params(f.dir / "bad", {{"image_size", int64_t{8}}, {"normalize", std::string("x")}})),
                    Contains("modality.normalize"));
}

TEST_CASE("folder: grey and RGB channel counts, RGB order, and resize then centre crop to image_size") {
  Fixture f("folder_pixels");
  // 16 x 32, constant on 2 x 2 blocks: INTER_AREA halves it exactly to 8 x 16, whose middle 8 columns are kept.
  cv::Mat blocks(16, 32, CV_8UC1);
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 32; ++c) blocks.at<uint8_t>(r, c) = static_cast<uint8_t>((r / 2) * 16 + c / 2);
  write_png(f.dir / "blocks" / "c" / "a.png", blocks);
  const auto grey = make(image_params(f.dir / "blocks", {{"image_size", int64_t{8}}, {"normalize", std::string("none")}, {"eval_fraction", 0.0}}));
  const at::Tensor pixels = pixels_of(whole_split(*grey, cloze::Split::train), 4, 1);  // [1, 1, 8, 8]
  REQUIRE(pixels.sizes() == at::IntArrayRef({1, 1, 8, 8}));
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) REQUIRE(pixels[0][0][r][c].item<uint8_t>() == r * 16 + c + 4);

  write_png(f.dir / "red" / "c" / "a.png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(0, 0, 255)));  // BGR
  const auto rgb = make(image_params(f.dir / "red", {{"image_size", int64_t{8}}, {"channels", int64_t{3}}, {"normalize", std::string("none")}, {"eval_fraction", 0.0}}));
  CHECK(rgb->units().unit_dim == 48);
  const at::Tensor red = pixels_of(whole_split(*rgb, cloze::Split::train), 4, 3);  // [1, 3, 8, 8]
  CHECK((red[0][0] == 255).all().item<bool>());
  CHECK((red[0][1] == 0).all().item<bool>());
  CHECK((red[0][2] == 0).all().item<bool>());
  const auto red_as_grey = make(image_params(f.dir / "red", {{"image_size", int64_t{8}}, {"eval_fraction", 0.0}}));
  CHECK(red_as_grey->units().unit_dim == 16);
  CHECK(whole_split(*red_as_grey, cloze::Split::train).units.size(2) == 16);
}

TEST_CASE("normalize = dataset gives the train split per-channel mean 0 and std 1") {
  Fixture f("normalize");
  for (int i = 0; i < 6; ++i) write_png(f.dir / "rgb" / "c" / (std::to_string(i) + ".png"), random_picture(8, 8, CV_8UC3));
  write_idx_folder(f.dir / "idx", true);
  for (const auto& [folder, channels] : {std::pair{"rgb", 3}, std::pair{"idx", 1}}) {
    INFO(folder);
    const auto modality = make(image_params(f.dir / folder, {{"image_size", int64_t{8}}, {"channels", int64_t{channels}}, {"eval_fraction", 0.0}}));
    const at::Tensor values = whole_split(*modality, cloze::Split::train).units.reshape({-1, channels}).to(at::kDouble);
    const at::Tensor mean = values.mean(0), std = values.std(0, /*unbiased=*/false);
    for (int c = 0; c < channels; ++c) {
      CHECK(mean[c].item<double>() == Approx(0).margin(1e-3));
      CHECK(std[c].item<double>() == Approx(1).margin(1e-3));
    }
  }
  const auto imagenet = make(image_params(f.dir / "rgb", {{"image_size", int64_t{8}}, {"channels", int64_t{3}}, {"normalize", std::string("imagenet")}, {"eval_fraction", 0.0}}));
  const auto none = make(image_params(f.dir / "rgb", {{"image_size", int64_t{8}}, {"channels", int64_t{3}}, {"normalize", std::string("none")}, {"eval_fraction", 0.0}}));
  const at::Tensor raw = whole_split(*none, cloze::Split::train).units.reshape({-1, 3});
  const at::Tensor expected = (raw - at::tensor(std::vector<double>{0.485, 0.456, 0.406}).to(at::kFloat)) /
                              at::tensor(std::vector<double>{0.229, 0.224, 0.225}).to(at::kFloat);
  CHECK(at::allclose(whole_split(*imagenet, cloze::Split::train).units.reshape({-1, 3}), expected, 1e-5, 1e-5));
}

TEST_CASE("units(): continuous p*p*C values, normalize_targets follows norm_pix, grid() is [S/p, S/p]") {
  Fixture f("units");
  write_idx_folder(f.dir, false);
  const auto modality = make(image_params(f.dir, {{"patch_size", int64_t{2}}}));
  CHECK(modality->units().kind == cloze::UnitKind::continuous);
  CHECK(modality->units().unit_dim == 4);
  CHECK(modality->units().normalize_targets);
  CHECK(modality->grid().dims == std::vector<int64_t>{4, 4});
  const auto raw = make(image_params(f.dir, {{"norm_pix", false}, {"channels", int64_t{3}}}));
  CHECK_FALSE(raw->units().normalize_targets);
  CHECK(raw->units().unit_dim == 48);
  CHECK(raw->grid().dims == std::vector<int64_t>{2, 2});
  const auto batch = whole_split(*raw, cloze::Split::train);
  CHECK(batch.units.sizes() == at::IntArrayRef({6, 4, 48}));
  CHECK(batch.units.scalar_type() == at::kFloat);
  CHECK(batch.padding.sizes() == at::IntArrayRef({6, 4}));
  CHECK(batch.sample_ids == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
  CHECK_THROWS_WITH(make(image_params(f.dir, {{"patch_size", int64_t{3}}})),
                    Contains("modality.patch_size = 3") && Contains("8"));
}

TEST_CASE("collate is the same from many threads at once") {
  Fixture f("threads");
  write_idx_folder(f.dir, false);
  const auto modality = make(image_params(f.dir, {}));
  const auto dataset = modality->dataset(cloze::Split::train);
  const at::Tensor expected = dataset->collate({5, 0, 3}).units;
  std::vector<int> same(8, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < same.size(); ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) same[t] += dataset->collate({5, 0, 3}).units.equal(expected);
    });
  for (auto& thread : threads) thread.join();
  for (const int count : same) CHECK(count == 20);
}

namespace {

// The MAE-augmented training split of 12 pictures (9 train, 3 eval) of
// different shapes, 8 x 8 RGB, normalize = "none".
std::shared_ptr<cloze::Modality> augmented(const Fixture& f, uint64_t seed) {
  for (int i = 0; i < 12; ++i)
    if (!fs::exists(f.dir / "c" / (std::to_string(i) + ".png")))
      write_png(f.dir / "c" / (std::to_string(i) + ".png"), random_picture(24, 14 + 2 * i, CV_8UC3));
  return make(image_params(f.dir, {{"image_size", int64_t{8}}, {"channels", int64_t{3}}, {"normalize", std::string("none")},
                                   {"augment", std::string("mae")}, {"eval_fraction", 0.25}, {"max_train", int64_t{8}}}),
              nullptr, seed);
}

}  // namespace

TEST_CASE("augment = mae: a sample's crop is drawn from (seed, epoch, sample), the same with 0, 1 and 4 workers and "
          "after a resume; evaluation is deterministic") {
  Fixture f("augment");
  const auto modality = augmented(f, 5);
  const auto train = modality->dataset(cloze::Split::train);
  REQUIRE(train->size() == 8);
  const at::Tensor epoch0 = train->collate_in_epoch({3, 1}, 0).units;
  CHECK(epoch0.equal(train->collate_in_epoch({3, 1}, 0).units));
  CHECK(epoch0[1].equal(train->collate_in_epoch({1}, 0).units[0]));  // a sample's crop does not depend on its batch
  CHECK_FALSE(epoch0.equal(train->collate_in_epoch({3, 1}, 1).units));       // another epoch, another crop
  CHECK_FALSE(epoch0.equal(augmented(f, 6)->dataset(cloze::Split::train)->collate_in_epoch({3, 1}, 0).units));
  // collate is evaluation's view: resize and centre crop, the same every time.
  const at::Tensor centred = train->collate({3, 1}).units;
  CHECK(centred.equal(train->collate({3, 1}).units));
  CHECK_FALSE(centred.equal(epoch0));
  const auto eval = modality->dataset(cloze::Split::eval);
  CHECK(eval->collate_in_epoch({0, 1}, 3).units.equal(eval->collate({0, 1}).units));

  // 6 batches of 4 are 3 epochs of 8 pictures, reordered and recropped each epoch.
  test_support::check_stream_repeats(train, 48);
}

namespace {

struct CropReference {
  int height, width;
  double mean[4], std[4];  // area share, log(w/h), centre row share, centre column share
  double fallback;
};

std::vector<CropReference> crop_references() {
  std::ifstream file(CLOZE_FIXTURE_DIR "/random_resized_crop.csv");
  REQUIRE(file.good());
  std::vector<CropReference> rows;
  bool header = true;
  for (std::string line; std::getline(file, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (std::exchange(header, false)) continue;
    std::istringstream fields(line);
    std::vector<double> cells;
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(std::stod(cell));
    REQUIRE(cells.size() == 11);
    CropReference row{static_cast<int>(cells[0]), static_cast<int>(cells[1]), {}, {}, cells[10]};
    for (int m = 0; m < 4; ++m) {
      row.mean[m] = cells[static_cast<std::size_t>(2 + 2 * m)];
      row.std[m] = cells[static_cast<std::size_t>(3 + 2 * m)];
    }
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("MAE's crop box draws as torchvision's RandomResizedCrop: area, aspect ratio, place and fallback within "
          "5 standard errors of its fixture") {
  constexpr int draws = 100000;  // as the fixture's
  const auto references = crop_references();
  REQUIRE(references.size() == 5);
  for (const CropReference& reference : references) {
    INFO(reference.height << " x " << reference.width);
    const int rows = reference.height, cols = reference.width;
    // The centred box of torchvision's fallback, by its documented rule.
    const double ratio = static_cast<double>(cols) / rows;
    const int fallback_width = ratio > 4.0 / 3.0 ? static_cast<int>(std::nearbyint(rows * 4.0 / 3.0)) : cols;
    const int fallback_height = ratio < 3.0 / 4.0 ? static_cast<int>(std::nearbyint(cols * 4.0 / 3.0)) : rows;
    const cv::Rect centred((cols - fallback_width) / 2, (rows - fallback_height) / 2, fallback_width, fallback_height);
    double sum[4] = {}, fallbacks = 0;
    for (int n = 0; n < draws; ++n) {
      cloze::SampleRng rng(1, cloze::RngStream::augmentation, 0, n);
      const cv::Rect box = cloze::image::random_resized_crop_box(rows, cols, cloze::image::CropScale{}, rng);
      REQUIRE(box.x >= 0);
      REQUIRE(box.y >= 0);
      REQUIRE(box.x + box.width <= cols);
      REQUIRE(box.y + box.height <= rows);
      sum[0] += static_cast<double>(box.area()) / (rows * cols);
      sum[1] += std::log(static_cast<double>(box.width) / box.height);
      sum[2] += (box.y + box.height / 2.0) / rows;
      sum[3] += (box.x + box.width / 2.0) / cols;
      fallbacks += box == centred;
    }
    for (int m = 0; m < 4; ++m) {
      INFO("measure " << m);
      const double error = reference.std[m] * std::sqrt(2.0 / draws);  // of the difference of two means
      CHECK(sum[m] / draws == Approx(reference.mean[m]).margin(5 * error + 1e-6));
    }
    const double p = reference.fallback;
    CHECK(fallbacks / draws == Approx(p).margin(5 * std::sqrt(2 * p * (1 - p) / draws) + 1e-6));
  }
}

namespace {

std::string png_bytes(const cv::Mat& picture) {
  std::vector<uint8_t> bytes;
  REQUIRE(cv::imencode(".png", picture, bytes));
  return std::string(bytes.begin(), bytes.end());
}

// 12 pictures as PNG files in FOLDER/files/c/ and as 3 WebDataset shards of
// 4 in FOLDER/shards/ (KEY.png, KEY.cls = KEY mod 3), in the same order.
void write_files_and_shards(const fs::path& folder) {
  for (int shard = 0; shard < 3; ++shard) {
    test_support::TarMembers members;
    for (int i = 4 * shard; i < 4 * shard + 4; ++i) {
      const std::string key = (i < 10 ? "0" : "") + std::to_string(i);
      const cv::Mat picture = random_picture(10, 12, CV_8UC3);
      write_png(folder / "files" / "c" / (key + ".png"), picture);
      members.push_back({key + ".png", png_bytes(picture)});
      members.push_back({key + ".cls", std::to_string(i % 3)});
    }
    test_support::write_tar(folder / "shards" / ("shard-00000" + std::to_string(shard) + ".tar"), members);
  }
}

cloze::Params shard_params(const fs::path& folder) {
  return image_params(folder, {{"image_size", int64_t{8}}, {"channels", int64_t{3}},
                               {"normalize", std::string("none")}, {"eval_fraction", 0.0}});
}

}  // namespace

TEST_CASE("tar shards: pictures read from WebDataset shards equal the same files in a folder, labelled by .cls") {
  Fixture f("shards");
  write_files_and_shards(f.dir);
  const auto shards = make(shard_params(f.dir / "shards"));
  const auto files = make(shard_params(f.dir / "files"));
  const cloze::Batch from_shards = whole_split(*shards, cloze::Split::train);
  REQUIRE(from_shards.units.size(0) == 12);
  // Runs for loader.shuffle_buffer: the members of each shard; a file alone.
  CHECK(shards->dataset(cloze::Split::train)->runs() == std::vector<int64_t>{4, 4, 4});
  CHECK(files->dataset(cloze::Split::train)->runs() == std::vector<int64_t>(12, 1));
  CHECK(from_shards.units.equal(whole_split(*files, cloze::Split::train).units));
  std::vector<int64_t> labels;
  for (int i = 0; i < 12; ++i) labels.push_back(i % 3);
  CHECK(from_shards.labels.equal(at::tensor(labels, at::kLong)));
  cloze::Corrupted corrupted;
  corrupted.loss_mask = at::zeros({12, 4}, at::kBool);
  CHECK_THAT(shards->preview(from_shards, corrupted, 2), Contains("2"));
}

TEST_CASE("tar shards: a bad member and a shard cut short follow on_bad_sample") {
  Fixture f("bad_shards");
  const std::string good = png_bytes(random_picture(10, 12, CV_8UC3));
  test_support::write_tar(f.dir / "member" / "shard-0.tar",
                          {{"a.png", good}, {"a.cls", "0"}, {"b.png", "not a picture"}, {"b.cls", "1"}});
  const fs::path member = f.dir / "member" / "shard-0.tar" / "b.png";
  const auto strict = make(shard_params(f.dir / "member"));
  CHECK_NOTHROW(strict->dataset(cloze::Split::train)->collate({0}));
  CHECK_THROWS_WITH(strict->dataset(cloze::Split::train)->collate({1}), Contains(member.string() + ": cannot be read"));
  const auto bad = skipping(1.0);
  const cloze::Batch batch = whole_split(*make(shard_params(f.dir / "member"), bad), cloze::Split::train);
  CHECK(batch.units[1].equal(batch.units[0]));  // a stands in for b, the next readable one (wrapping)
  REQUIRE(bad->skipped().size() == 1);
  CHECK(bad->skipped()[0].path == member);

  // Cut inside c.png's data: a and b survive, the shard is named.
  test_support::write_tar(f.dir / "whole.tar", {{"a.png", good}, {"b.png", good}, {"c.png", good + good}});
  const std::string whole = test_support::read_bytes(f.dir / "whole.tar");
  const auto inside_c = static_cast<std::size_t>(cloze::index_tar(f.dir / "whole.tar").members.at(2).offset + 100);
  fs::create_directories(f.dir / "cut");
  test_support::write_bytes(f.dir / "cut" / "shard-0.tar", whole.substr(0, inside_c));
  CHECK_THROWS_WITH(make(shard_params(f.dir / "cut")),
                    Contains((f.dir / "cut" / "shard-0.tar").string() + ": cannot be read"));
  const auto cut = skipping(1.0);
  const auto kept = make(shard_params(f.dir / "cut"), cut);
  CHECK(kept->dataset(cloze::Split::train)->size() == 2);
  REQUIRE(cut->skipped().size() == 1);
  CHECK(cut->skipped()[0].path == f.dir / "cut" / "shard-0.tar");
}

TEST_CASE("tar shards: across 2 ranks x 2 loader workers every sample is read once an epoch") {
  Fixture f("shard_ranks");
  write_files_and_shards(f.dir);
  const auto train = make(shard_params(f.dir / "shards"))->dataset(cloze::Split::train);
  const auto corruption = test_support::patch_masking(48);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    std::vector<int64_t> seen;
    for (int64_t rank = 0; rank < 2; ++rank) {
      cloze::LoaderOptions options;
      options.batch_size = 4;
      options.shard = {rank, 2};
      options.workers = 2;
      options.prefetch = 2;
      cloze::Loader loader(train, corruption, /*seed=*/3, options, /*first_batch=*/3 * epoch);
      for (int k = 0; k < 3; ++k) {
        const cloze::Batch batch = loader.next().batch;
        CHECK(batch.epoch == epoch);
        seen.insert(seen.end(), batch.sample_ids.begin(), batch.sample_ids.end());
      }
    }
    std::sort(seen.begin(), seen.end());
    std::vector<int64_t> all(12);
    std::iota(all.begin(), all.end(), int64_t{0});
    CHECK(seen == all);
  }
}

TEST_CASE("preview: the label, the hidden count and a map of the grid") {
  Fixture f("preview");
  write_idx_folder(f.dir / "fashion-mnist", false);
  const auto modality = make(image_params(f.dir / "fashion-mnist", {}));
  const auto batch = whole_split(*modality, cloze::Split::train);  // labels 0..5; grid [2, 2]
  cloze::Corrupted corrupted;
  corrupted.loss_mask = at::zeros({6, 4}, at::kBool);
  corrupted.loss_mask[1][1] = true;
  corrupted.loss_mask[1][2] = true;
  CHECK(modality->preview(batch, corrupted, 1) == "Trouser: 2 of 4 patches hidden\n    .#\n    #.");
}

TEST_CASE("write_picture writes a PNG of the panels side by side") {
  Fixture f("picture");
  write_idx_folder(f.dir, false);
  const auto modality = make(image_params(f.dir, {{"channels", int64_t{3}}}));
  const auto batch = whole_split(*modality, cloze::Split::train);  // 8 x 8 images: panels scaled 14x to 112 px
  cloze::Corrupted corrupted;
  corrupted.input = batch.units;
  corrupted.target = batch.units;
  corrupted.loss_mask = at::zeros({6, 4}, at::kBool);
  corrupted.loss_mask[2][0] = true;
  const fs::path two = f.dir / "two.png", four = f.dir / "four.png";
  REQUIRE(modality->write_picture(batch, corrupted, nullptr, 2, two));
  REQUIRE(modality->write_picture(batch, corrupted, &corrupted, 2, four));
  const cv::Mat two_panels = cv::imread(two.string(), cv::IMREAD_UNCHANGED);
  const cv::Mat four_panels = cv::imread(four.string(), cv::IMREAD_UNCHANGED);
  REQUIRE_FALSE(two_panels.empty());
  REQUIRE_FALSE(four_panels.empty());
  CHECK(two_panels.rows == 112);
  CHECK(two_panels.channels() == 3);
  CHECK(two_panels.cols >= 2 * 112);  // plus a thin gap between panels
  CHECK(two_panels.cols < 2 * 112 + 16);
  CHECK(four_panels.cols >= 4 * 112);
  CHECK(four_panels.cols < 4 * 112 + 3 * 16);
  // The first panel is the original: undoing the normalisation gives back the pixels.
  const at::Tensor original = pixels_of(whole_split(*make(image_params(f.dir, {{"normalize", std::string("none")}})),
                                              cloze::Split::train),
                                        4, 1);
  CHECK(two_panels.at<cv::Vec3b>(14 * 3, 14 * 5)[0] == original[2][0][3][5].item<uint8_t>());
}
